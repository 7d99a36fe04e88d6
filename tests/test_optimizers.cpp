// Optimizer steps against hand-computed values; hooks; learning-rate schedulers.

#include "test_helpers.h"

namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using namespace dezero;

namespace {

// One scalar parameter p = 1 with gradient 0.5 before every step.
struct OneParam {
  Parameter p{Tensor::scalar(1.0, Float64), "p"};
  void step(O::Optimizer& opt, double g = 0.5) {
    p.set_grad(Variable(Tensor::scalar(g, Float64)));
    opt.update();
  }
};

TEST(OptimizerTest, SgdAndMomentum) {
  OneParam a;
  O::SGD sgd({a.p}, 0.1);
  a.step(sgd);
  EXPECT_DOUBLE_EQ(a.p.item(), 0.95);
  OneParam b;
  O::MomentumSGD momentum({b.p}, {.lr = 0.1, .momentum = 0.9});
  b.step(momentum);  // v = -0.05
  EXPECT_DOUBLE_EQ(b.p.item(), 0.95);
  b.step(momentum);  // v = 0.9 (-0.05) - 0.05 = -0.095
  EXPECT_DOUBLE_EQ(b.p.item(), 0.855);
  OneParam c;
  O::MomentumSGD nesterov({c.p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  c.step(nesterov);  // p += 0.9 v - lr g = -0.045 - 0.05
  EXPECT_DOUBLE_EQ(c.p.item(), 0.905);
  c.step(nesterov);  // v = -0.095: p += -0.0855 - 0.05
  EXPECT_NEAR(c.p.item(), 0.7695, 1e-15);
}

TEST(OptimizerTest, AdamAdamWAdaGradAdaDelta) {
  OneParam a;
  O::Adam adam({a.p}, {.lr = 0.1});
  a.step(adam);  // m_hat = 0.5, v_hat = 0.25: step lr * 0.5 / (0.5 + 1e-8)
  EXPECT_NEAR(a.p.item(), 1 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  a.step(adam);
  EXPECT_NEAR(a.p.item(), 1 - 2 * 0.1 * 0.5 / (0.5 + 1e-8), 1e-12);
  OneParam w;
  O::AdamW adamw({w.p}, {.lr = 0.1, .weight_decay = 0.01});
  w.step(adamw);  // p *= 1 - 0.001, then the Adam step
  EXPECT_NEAR(w.p.item(), 0.999 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-12);
  // AdaGrad and AdaDelta on a model: one Linear with a known gradient.
  layers::Linear lin(1, {.in_size = 1, .bias = false, .dtype = Float64});
  lin.W.set_data(Tensor::from_vector({1.0}, {1, 1}, Float64));
  O::AdaGrad ada(lin, {.lr = 0.1});
  lin.W.set_grad(Variable(Tensor::from_vector({0.5}, {1, 1}, Float64)));
  ada.update();  // h = 0.25: p -= 0.1 * 0.5 / (0.5 + 1e-8)
  EXPECT_NEAR(lin.W.item(), 1 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  lin.W.set_data(Tensor::from_vector({1.0}, {1, 1}, Float64));
  O::AdaDelta delta(lin);
  lin.W.set_grad(Variable(Tensor::from_vector({0.5}, {1, 1}, Float64)));
  delta.update();  // msg = 0.05 * 0.25; dx = sqrt(1e-6 / (msg + 1e-6)) * 0.5
  EXPECT_NEAR(lin.W.item(), 1 - std::sqrt(1e-6 / (0.0125 + 1e-6)) * 0.5, 1e-15);
}

// The update writes a parameter's own storage in place; a tensor handle held elsewhere (a snapshot
// of the weights, the optimizer's state_dict) keeps its values: the parameter then gets a new
// tensor. Every optimizer is built the same two ways: (model, {options}) and ({parameters},
// {options}).
TEST(OptimizerTest, UniformConstructorsAndParameterLists) {
  manual_seed(2);
  L::Linear model(2);
  model(Variable(Tensor::randn({3, 4})));
  O::SGD by_options(model, {.lr = 0.1});
  EXPECT_DOUBLE_EQ(by_options.lr, 0.1);
  EXPECT_DOUBLE_EQ(O::SGD(model).lr, 0.01);  // DeZero's default
  OneParam a, b, c;
  O::SGD sgd(std::vector<Parameter>{a.p}, {.lr = 0.2});
  a.step(sgd);
  EXPECT_DOUBLE_EQ(a.p.item(), 0.9);
  O::AdaGrad adagrad({b.p}, {.lr = 0.1});
  b.step(adagrad);  // h = 0.25, p -= 0.1 * 0.5 / (0.5 + 1e-8)
  EXPECT_NEAR(b.p.item(), 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  O::AdaDelta adadelta({c.p}, {.rho = 0.9, .eps = 1e-6});
  c.step(adadelta);  // s = 0.025, d = sqrt(1e-6 / (0.025 + 1e-6)) 0.5
  EXPECT_NEAR(c.p.item(), 1.0 - std::sqrt(1e-6 / (0.025 + 1e-6)) * 0.5, 1e-12);
}

TEST(OptimizerTest, InvalidHyperparametersAreClearErrors) {
  L::Linear model(2);
  using ::testing::HasSubstr;
  EXPECT_DZ_ERROR(O::SGD(model, -1.0), HasSubstr("lr must be finite and >= 0; got -1"));
  EXPECT_DZ_ERROR(O::SGD(model, {.lr = std::nan("")}), HasSubstr("SGD: lr"));
  EXPECT_DZ_ERROR(O::MomentumSGD(model, {.momentum = -0.5}), HasSubstr("MomentumSGD: momentum"));
  EXPECT_DZ_ERROR(O::Adam(model, {.beta1 = 1.0}), HasSubstr("Adam: betas must be in [0, 1)"));
  EXPECT_DZ_ERROR(O::AdamW(model, {.weight_decay = -0.01}), HasSubstr("weight_decay"));
  EXPECT_DZ_ERROR(O::AdaGrad(model, {.eps = -1}), HasSubstr("AdaGrad: eps"));
  EXPECT_DZ_ERROR(O::AdaDelta(model, {.rho = 1.5}), HasSubstr("AdaDelta: rho"));
}

TEST(OptimizerTest, UpdatesInPlaceUnlessAnotherHandleSharesTheStorage) {
  for (int kind = 0; kind < 3; ++kind) {
    Parameter p(Tensor::from_vector({1.0, 2.0}, Float64), "p");
    std::unique_ptr<O::Optimizer> opt;
    if (kind == 0) opt = std::make_unique<O::SGD>(std::vector<Parameter>{p}, 0.1);
    if (kind == 1)
      opt = std::make_unique<O::MomentumSGD>(std::vector<Parameter>{p},
                                             O::MomentumOptions{.lr = 0.1});
    if (kind == 2)
      opt = std::make_unique<O::Adam>(std::vector<Parameter>{p}, O::AdamOptions{.lr = 0.1});
    auto step = [&] {
      p.set_grad(Variable(Tensor::from_vector({0.5, -0.5}, Float64)));
      opt->update();
    };
    step();
    const void* storage = p.data().raw_data();
    step();
    EXPECT_EQ(p.data().raw_data(), storage)
        << "kind " << kind << ": an update nobody else sees runs in place";
    const Tensor snapshot = p.data();
    const std::vector<double> before = snapshot.to_vector();
    step();
    EXPECT_EQ(snapshot.to_vector(), before)
        << "kind " << kind << ": a held handle must keep its values";
    EXPECT_NE(p.data().to_vector(), before);
    if (kind != 1) continue;
    layers::Linear lin(1, {.in_size = 1, .bias = false, .dtype = Float64});
    lin.W.set_data(Tensor::from_vector({1.0}, {1, 1}, Float64));
    O::MomentumSGD momentum(lin, {.lr = 0.1});
    lin.W.set_grad(Variable(Tensor::from_vector({0.5}, {1, 1}, Float64)));
    momentum.update();
    const auto state = momentum.state_dict(lin);
    ASSERT_EQ(state.size(), 1u);
    const double v = state[0].second.item();
    momentum.update();
    EXPECT_EQ(state[0].second.item(), v) << "the state handed out by state_dict is a snapshot";
    EXPECT_NEAR(momentum.state_dict(lin)[0].second.item(), 0.9 * v - 0.05, 1e-15);
  }
}

// After `auto m2 = std::move(model)` an optimizer built on `model` would update nothing: its
// update is a clear error, and so is a forward of the moved-from model; the moved-into one
// trains with a new optimizer.
TEST(OptimizerTest, AModelMovedAfterTheOptimizerWasBuiltIsAClearError) {
  manual_seed(0);
  L::Sequential model{L::Linear(3), L::ReLU(), L::Linear(1)};
  const Variable x(Tensor::randn({4, 2}));
  model(x);
  O::SGD opt(model, 0.1);
  L::Sequential moved = std::move(model);
  EXPECT_TRUE(model.moved_from());
  EXPECT_FALSE(moved.moved_from());
  EXPECT_EQ(moved.params().size(), 4u);
  F::sum(moved(x)).backward();
  EXPECT_DZ_ERROR(opt.update(), ::testing::HasSubstr("optimizer"),
                  ::testing::HasSubstr("moved from"));
  EXPECT_DZ_ERROR(model(x), ::testing::HasSubstr("moved from"));
  O::SGD fresh(moved, 0.1);
  const Tensor before = moved.params()[0].data().clone();
  fresh.update();
  EXPECT_GT(ops::max(ops::abs(ops::sub(moved.params()[0].data(), before))).item(), 0.0);
  L::Sequential assigned{L::Linear(1)};
  assigned = std::move(moved);
  EXPECT_TRUE(moved.moved_from());
  EXPECT_FALSE(assigned.moved_from());
  EXPECT_EQ(assigned.params().size(), 4u);
}

TEST(OptimizerTest, Hooks) {
  OneParam a;
  O::SGD sgd({a.p}, 0.1);
  sgd.add_hook(O::WeightDecay(0.1));
  a.step(sgd);  // g = 0.5 + 0.1 * 1
  EXPECT_NEAR(a.p.item(), 1 - 0.1 * 0.6, 1e-15);
  Parameter x(Tensor::from_vector({0.0, 0.0}, Float64)), y(Tensor::scalar(0.0, Float64));
  O::SGD clip({x, y}, 1.0);
  clip.add_hook(O::ClipGrad(1.0));
  x.set_grad(Variable(Tensor::from_vector({3.0, 0.0}, Float64)));
  y.set_grad(Variable(Tensor::scalar(4.0, Float64)));  // global norm 5
  clip.update();
  EXPECT_NEAR(x.data().at({0}), -0.6, 1e-6);
  EXPECT_NEAR(y.item(), -0.8, 1e-6);
  layers::Linear frozen(1, {.in_size = 1, .dtype = Float64}),
      free_layer(1, {.in_size = 1, .dtype = Float64});
  const double before = frozen.W.item();
  O::SGD sgd2({frozen.W, free_layer.W}, 0.1);
  sgd2.add_hook(O::FreezeParam(frozen));
  frozen.W.set_grad(Variable(Tensor::from_vector({1.0}, {1, 1}, Float64)));
  free_layer.W.set_grad(Variable(Tensor::from_vector({1.0}, {1, 1}, Float64)));
  const double free_before = free_layer.W.item();
  sgd2.update();
  EXPECT_DOUBLE_EQ(frozen.W.item(), before);
  EXPECT_DOUBLE_EQ(free_layer.W.item(), free_before - 0.1);
}

TEST(OptimizerTest, Schedulers) {
  OneParam a;
  O::SGD sgd({a.p}, 1.0);
  O::StepLR step(sgd, 2, 0.5);
  std::vector<double> lrs;
  for (int e = 0; e < 4; ++e) {
    step.step();
    lrs.push_back(sgd.lr);
  }
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 0.5, 0.5, 0.25}));
  O::SGD sgd2({a.p}, 1.0);
  O::CosineAnnealing cosine(sgd2, 4, 0.0);
  cosine.step();
  EXPECT_NEAR(sgd2.lr, (1 + std::cos(M_PI / 4)) / 2, 1e-15);
  for (int e = 0; e < 3; ++e) cosine.step();
  EXPECT_NEAR(sgd2.lr, 0.0, 1e-15);
}

}  // namespace
