// DetectAnomalyGuard: the first NaN/Inf of a forward or a backward throws, naming the Function
// that produced it and the chain of Functions that led there; off, nothing is checked.

#include "test_helpers.h"

namespace F = dezero::functions;
namespace L = dezero::layers;
using namespace dezero;
using ::testing::HasSubstr;

namespace {

// A small model whose last step divides by zero: (relu(linear(x)) + 1) / (sum(x) - sum(x)).
Variable model_dividing_by_zero(L::Linear& linear, const Variable& x) {
  const Variable h = F::relu(linear(x)) + 1.0;
  const Variable zero = F::sum(x) - F::sum(x);
  return F::sum(h / zero);
}

}  // namespace

TEST(AnomalyTest, OffByDefaultTheInfPassesSilently) {
  manual_seed(0);
  L::Linear linear(4);
  const Variable x(Tensor::randn({2, 3}, Float64));
  EXPECT_FALSE(Config::detect_anomaly());
  const Variable y = model_dividing_by_zero(linear, x);
  EXPECT_TRUE(std::isinf(y.data().item()));
}

TEST(AnomalyTest, ForwardDivisionByZeroNamesDivAndItsChain) {
  manual_seed(0);
  L::Linear linear(4);
  const Variable x(Tensor::randn({2, 3}, Float64));
  DetectAnomalyGuard guard;
  EXPECT_DZ_ERROR(model_dividing_by_zero(linear, x), HasSubstr("DetectAnomalyGuard: div produced inf"),
                  HasSubstr("output 0 of its forward"), HasSubstr("from finite inputs"),
                  HasSubstr("forward chain: matmul -> add -> relu -> add -> div"));
}

TEST(AnomalyTest, BackwardInfNamesTheFunctionWhoseBackwardMadeIt) {
  // sqrt(x) at x = 0 is finite, its derivative 1 / (2 sqrt(x)) is not.
  const Variable x(dezero::testing::T64({4.0, 0.0, 1.0}, {3}));
  const Variable y = F::sum(F::sqrt(x) * 3.0);
  DetectAnomalyGuard guard;
  EXPECT_DZ_ERROR(y.backward(), HasSubstr("the backward of sqrt produced inf"), HasSubstr("element 1"),
                  HasSubstr("gradient of its input 0"), HasSubstr("forward chain: sqrt"));
}

TEST(AnomalyTest, GraphBuiltWithoutTheGuardIsCheckedInBackward) {
  const Variable x(dezero::testing::T64({0.0, 2.0}, {2}));
  const Variable y = F::sum(F::log(x + 1.0) * F::sqrt(F::exp(x) - 1.0));  // forward is finite everywhere
  DetectAnomalyGuard guard;
  EXPECT_DZ_ERROR(y.backward(), HasSubstr("backward of sqrt"), HasSubstr("forward chain: exp -> sub -> sqrt)"));
}

TEST(AnomalyTest, NonFiniteLeafIsReportedAtTheFirstFunctionThatSeesIt) {
  const Variable x(dezero::testing::T64({1.0, std::nan("")}, {2}));
  DetectAnomalyGuard guard;
  EXPECT_DZ_ERROR(F::exp(x), HasSubstr("input 0 of exp already holds nan at element 1"), HasSubstr("a leaf"));
}

TEST(AnomalyTest, OverflowingGradientSumIsCaught) {
  // y = exp(-700) is tiny, so the forward is finite, but the two gradients reaching y, 1e308 and
  // 0.9e308, sum to inf.
  const Variable x(dezero::testing::T64({-700.0}, {1}));
  const Variable y = F::exp(x);
  const Variable z = F::sum(y * 1e308 + (y * 1e308) * 0.9);
  DetectAnomalyGuard guard;
  EXPECT_DZ_ERROR(z.backward(), HasSubstr("the gradient reaching output 0 of exp"), HasSubstr("overflowed"));
}

TEST(AnomalyTest, FiniteTrainingStepPassesAndTheGuardRestoresTheFlag) {
  manual_seed(0);
  L::Linear linear(3);
  Variable x(Tensor::randn({4, 2}, Float64));
  {
    DetectAnomalyGuard guard;
    EXPECT_TRUE(Config::detect_anomaly());
    {
      DetectAnomalyGuard off(false);
      EXPECT_FALSE(Config::detect_anomaly());
    }
    const Variable loss = F::softmax_cross_entropy(linear(x), Tensor::from_vector({0, 1, 2, 0}, {4}, Float64));
    EXPECT_NO_THROW(loss.backward(false, true));  // create_graph: the second-order Functions are checked too
    linear.clear_grads();  // grads with graphs reference their leaves (a cycle otherwise)
    x.clear_grad();
  }
  EXPECT_FALSE(Config::detect_anomaly());
}
