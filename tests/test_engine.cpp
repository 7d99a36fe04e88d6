// The backward engine: generation order, retain_grad, no-grad mode, accumulation, dezero::grad,
// unchain/detach, leaks and deep graphs.

#include "test_helpers.h"

namespace F = dezero::functions;
using namespace dezero;
using dezero::testing::T64;

namespace {

// y = 2x, counting how often backward runs.
class CountingDouble final : public Function {
 public:
  explicit CountingDouble(int* calls) : calls_(calls) {}
  std::string name() const override { return "counting_double"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::mul(xs[0], ops::scalar_like(xs[0], 2.0))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    ++*calls_;
    return {gys[0] * 2.0};
  }

 private:
  int* calls_;
};

TEST(EngineTest, DiamondRunsEachBackwardOnceInGenerationOrder) {
  // x -> a = square(x) -> (b = square(a), c = square(a)) -> y = b + c   (DeZero step 16)
  Variable x(Tensor::scalar(2.0, Float64));
  int calls = 0;
  Variable a = call<CountingDouble>(F::square(x), &calls);
  Variable y = F::square(a) + F::square(a);
  y.backward();
  EXPECT_EQ(calls, 1);
  // y = 2 (2 x^2)^2 = 8 x^4, dy/dx = 32 x^3 = 256
  EXPECT_DOUBLE_EQ(y.item(), 128.0);
  EXPECT_DOUBLE_EQ(x.grad().item(), 256.0);
}

TEST(EngineTest, IntermediateGradsAreDroppedUnlessRetained) {
  Variable x(Tensor::scalar(3.0, Float64));
  Variable a = F::square(x);
  Variable y = F::exp(a) * 0.0 + a;
  y.backward();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(y.grad().defined());
  EXPECT_DOUBLE_EQ(x.grad().item(), 6.0);
  x.clear_grad();
  y.backward(/*retain_grad=*/true);
  ASSERT_TRUE(a.grad().defined());
  EXPECT_DOUBLE_EQ(a.grad().item(), 1.0);
  EXPECT_DOUBLE_EQ(y.grad().item(), 1.0);
  EXPECT_DOUBLE_EQ(x.grad().item(), 6.0);
}

TEST(EngineTest, LeafGradsAccumulateAcrossBackwardCalls) {
  Variable x(Tensor::scalar(3.0, Float64));
  Variable y = x + x;  // the same input twice (DeZero step 14)
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 2.0);
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 4.0);
  x.clear_grad();
  (x + x + x).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 3.0);
}

TEST(EngineTest, NoGradGuardRecordsNoGraph) {
  Variable x(Tensor::ones({2, 3}, Float64));
  {
    NoGradGuard no_grad;
    Variable y = F::square(x);
    EXPECT_EQ(y.creator(), nullptr);
    EXPECT_FALSE(y.requires_grad());
  }
  Variable y = F::square(x);
  ASSERT_NE(y.creator(), nullptr);
  EXPECT_EQ(y.creator()->name(), "square");
  EXPECT_EQ(y.generation(), 1);
}

// PyTorch: "element 0 of tensors does not require grad". A backward with no graph behind it is
// an error, not a silent no-op; grad of a gradient taken without create_graph says what to pass.
TEST(EngineTest, BackwardWithoutAGraphIsAClearError) {
  Variable x(Tensor::ones({2, 3}, Float64));
  Variable y;
  {
    NoGradGuard no_grad;
    y = F::sum(F::square(x));
  }
  EXPECT_DZ_ERROR(y.backward(), ::testing::HasSubstr("backward"), ::testing::HasSubstr("does not require grad"),
                  ::testing::HasSubstr("NoGradGuard"));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_DZ_ERROR(F::exp(Variable::constant(Tensor::ones({2}))).backward(), ::testing::HasSubstr("does not require grad"));
  const Variable gx = dezero::grad({F::sum(F::pow(x, 3.0))}, {x})[0];  // no create_graph
  EXPECT_DZ_ERROR(dezero::grad({F::sum(gx)}, {x}), ::testing::HasSubstr("create_graph = true"),
                  ::testing::HasSubstr("output 0 () does not require grad"));
  EXPECT_DZ_ERROR(F::sum(gx).backward(), ::testing::HasSubstr("does not require grad"));
}

TEST(EngineTest, ConstantsGetNoGradientAndRecordNoGraph) {
  Variable c = Variable::constant(Tensor::ones({2}, Float64));
  Variable y = F::exp(c);
  EXPECT_EQ(y.creator(), nullptr);
  Variable x(Tensor::ones({2}, Float64));
  (F::sum(x * c)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_TENSOR_NEAR(x.grad().data(), T64({1, 1}, {2}), 0);
}

TEST(EngineTest, CreateGraphMakesGradientsDifferentiable) {
  Variable x(Tensor::scalar(2.0, Float64));
  Variable y = F::pow(x, 3.0);
  y.backward(false, /*create_graph=*/true);
  Variable gx = x.grad();
  ASSERT_NE(gx.creator(), nullptr);
  EXPECT_DOUBLE_EQ(gx.item(), 12.0);
  x.clear_grad();
  gx.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 12.0);  // d2/dx2 x^3 = 6x
  // Without create_graph the gradient is a plain leaf.
  Variable x2(Tensor::scalar(2.0, Float64));
  F::pow(x2, 3.0).backward();
  EXPECT_EQ(x2.grad().creator(), nullptr);
}

TEST(EngineTest, FunctionalGradLeavesDotGradUntouched) {
  Variable x(Tensor::scalar(1.5, Float64)), w(Tensor::scalar(-2.0, Float64));
  Variable y = x * x * w;
  auto g = dezero::grad({y}, {x, w});
  EXPECT_DOUBLE_EQ(g[0].item(), 2 * 1.5 * -2.0);
  EXPECT_DOUBLE_EQ(g[1].item(), 1.5 * 1.5);
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  // Second order through the functional form: d/dx (2xw) = 2w.
  auto gx = dezero::grad({x * x * w}, {x}, /*create_graph=*/true);
  auto gxx = dezero::grad({gx[0]}, {x});
  EXPECT_DOUBLE_EQ(gxx[0].item(), -4.0);
}

TEST(EngineTest, FunctionalGradOfIntermediateAndUnusedInputs) {
  Variable x(Tensor::scalar(3.0, Float64));
  Variable a = x * 2.0;
  Variable y = F::square(a);
  EXPECT_DOUBLE_EQ(dezero::grad({y}, {a})[0].item(), 12.0);
  Variable unused(Tensor::scalar(1.0, Float64));
  EXPECT_DZ_ERROR(dezero::grad({y}, {unused}), ::testing::HasSubstr("not reachable"));
  EXPECT_FALSE(dezero::grad({y}, {unused}, false, /*allow_unused=*/true)[0].defined());
  auto seeded = dezero::grad({y}, {x}, {Variable(Tensor::scalar(0.5, Float64))});
  EXPECT_DOUBLE_EQ(seeded[0].item(), 0.5 * 2 * 6.0 * 2.0);
}

TEST(EngineTest, UnchainBackwardCutsTheGraphUpstream) {
  Variable x(Tensor::scalar(2.0, Float64));
  Variable a = F::square(x);
  Variable b = F::exp(a);
  Variable y = b * 2.0;
  y.unchain_backward();
  EXPECT_NE(y.creator(), nullptr);
  EXPECT_EQ(b.creator(), nullptr);
  EXPECT_EQ(a.creator(), nullptr);
  y.backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_DOUBLE_EQ(b.grad().item(), 2.0);
}

TEST(EngineTest, DetachSharesDataAndLeavesTheGraph) {
  Variable x(Tensor::scalar(2.0, Float64));
  Variable y = F::square(x);
  Variable d = y.detach();
  EXPECT_EQ(d.creator(), nullptr);
  EXPECT_TRUE(d.data().is_same(y.data()));
  (d * x).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 4.0);  // y treated as a constant 4
}

TEST(EngineTest, UnusedOutputOfMultiOutputFunctionGetsZeroGradient) {
  Variable x(T64({1, 2, 3, 4}, {4}));
  auto parts = F::split(x, {1, 3});
  F::sum(parts[1] * parts[1]).backward();
  EXPECT_TENSOR_NEAR(x.grad().data(), T64({0, 4, 6, 8}, {4}), 1e-12);
}

TEST(EngineTest, WrongGradientShapeFromCustomFunctionIsAnError) {
  struct Bad final : Function {
    std::string name() const override { return "bad"; }
    std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {xs[0]}; }
    std::vector<Variable> backward(const std::vector<Variable>&) override {
      return {Variable(Tensor::ones({5}, Float64))};
    }
  };
  Variable x(Tensor::ones({2, 3}, Float64));
  Variable y = call<Bad>(x);
  EXPECT_DZ_ERROR(y.backward(), ::testing::HasSubstr("bad"), ::testing::HasSubstr("(5,)"),
                  ::testing::HasSubstr("(2, 3)"));
}

// A user backward returning the wrong number of gradients, or reading an input that is not
// there, is the user's error named as such (it was an "internal error").
TEST(EngineTest, WrongGradientCountFromCustomFunctionIsAnError) {
  struct TwoForOne final : Function {
    std::string name() const override { return "two_for_one"; }
    std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {xs[0]}; }
    std::vector<Variable> backward(const std::vector<Variable>& gys) override { return {gys[0], gys[0]}; }
  };
  struct ReadsInput1 final : Function {
    std::string name() const override { return "reads_input_1"; }
    std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {xs[0]}; }
    std::vector<Variable> backward(const std::vector<Variable>& gys) override { return {gys[0] * input(1)}; }
  };
  Variable x(Tensor::ones({2, 3}, Float64));
  try {
    call<TwoForOne>(x).backward();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("two_for_one: backward returned 2 gradients for 1 inputs"));
    EXPECT_THAT(e.what(), ::testing::Not(::testing::HasSubstr("internal error")));
  }
  EXPECT_DZ_ERROR(call<ReadsInput1>(x).backward(), ::testing::HasSubstr("reads_input_1: input(1)"),
                  ::testing::HasSubstr("has 1 inputs"));
}

TEST(EngineTest, MemoryStaysFlatOver10000Iterations) {
  const int64_t baseline = detail::live_nodes();
  Variable w(Tensor::randn({8}, Float64));
  for (int i = 0; i < 10000; ++i) {
    Variable x(Tensor::randn({8}, Float64));
    Variable y = F::sum(F::tanh(x * w) + F::square(x));
    y.backward();
    w.clear_grad();
  }
  EXPECT_EQ(detail::live_nodes(), baseline + 1);  // only w is alive
  // With create_graph, clearing the gradient breaks the x -> grad -> graph -> x cycle.
  for (int i = 0; i < 1000; ++i) {
    Variable x(Tensor::scalar(0.5, Float64));
    F::pow(x, 4.0).backward(false, true);
    Variable gx = x.grad();
    x.clear_grad();
    gx.backward();
    x.clear_grad();
  }
  EXPECT_EQ(detail::live_nodes(), baseline + 1);
}

TEST(EngineTest, DeepGraphsBackpropagateAndFreeWithoutRecursion) {
  const int64_t baseline = detail::live_nodes();
  {
    Variable x(Tensor::scalar(1.0, Float64));
    Variable y = x;
    for (int i = 0; i < 200000; ++i) y = y + 1e-6;
    y.backward();
    EXPECT_DOUBLE_EQ(x.grad().item(), 1.0);
  }
  EXPECT_EQ(detail::live_nodes(), baseline);
}

TEST(EngineTest, OperatorsAcceptScalarsAndTensorsOnEitherSide) {
  Variable x(T64({1, 2}, {2}));
  Tensor t = T64({10, 20}, {2});
  EXPECT_TENSOR_NEAR((x + 1.0).data(), T64({2, 3}, {2}), 0);
  EXPECT_TENSOR_NEAR((1.0 - x).data(), T64({0, -1}, {2}), 0);
  EXPECT_TENSOR_NEAR((2.0 / x).data(), T64({2, 1}, {2}), 0);
  EXPECT_TENSOR_NEAR((x * t).data(), T64({10, 40}, {2}), 0);
  EXPECT_TENSOR_NEAR((t - x).data(), T64({9, 18}, {2}), 0);
  EXPECT_TENSOR_NEAR((x > 1.5).data(), T64({0, 1}, {2}), 0);
  EXPECT_FALSE((x > 1.5).requires_grad());
  F::sum(t / x).backward();
  EXPECT_TENSOR_NEAR(x.grad().data(), T64({-10, -5}, {2}), 1e-12);
}

}  // namespace
