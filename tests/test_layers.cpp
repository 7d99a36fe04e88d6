// Layers and models: the parameter registry and its names, lazy sizes, initialization,
// train/eval behaviour, parameter counts.

#include "test_helpers.h"

namespace F = dezero::functions;
namespace L = dezero::layers;
using namespace dezero;

namespace {

// A user's layer that calls the functions directly: eval() must switch them off too (it kept
// dropping out after eval(), since F::dropout read the thread's mode and only L::Dropout the
// layer's).
struct DropoutThenNorm : L::Layer {
  Parameter gamma = register_parameter("gamma", Parameter(Tensor::ones({3}, Float64), "gamma"));
  Parameter beta = register_parameter("beta", Parameter(Tensor::zeros({3}, Float64), "beta"));
  std::shared_ptr<Tensor> mean = register_buffer("mean"), var = register_buffer("var");
  DropoutThenNorm() {
    *mean = Tensor::zeros({3}, Float64);
    *var = Tensor::ones({3}, Float64);
  }
  Variable forward(const Variable& x) override {
    return F::batch_norm(F::dropout(x, 0.5), gamma, beta, *mean, *var);
  }
  std::string name() const override { return "DropoutThenNorm"; }
};

TEST(LayerTest, EvalGovernsTheFunctionsACustomLayerCalls) {
  manual_seed(4);
  L::Sequential model{DropoutThenNorm()};
  const Variable x(ops::add(Tensor::randn({64, 3}, Float64), Tensor::scalar(2.0, Float64)));
  auto& inner = dynamic_cast<DropoutThenNorm&>(model[0]);
  model(x);  // training: dropout zeroes entries, batch statistics move the running mean
  const Tensor mean_after_training = inner.mean->clone();
  EXPECT_GT(ops::max(ops::abs(mean_after_training)).item(), 0.1);
  model.eval();
  const Variable y = model(x);
  EXPECT_EQ(ops::max(ops::abs(ops::sub(*inner.mean, mean_after_training))).item(), 0.0)
      << "eval(): batch_norm must use, not update, the running statistics";
  // eval: y = (x - mean) / sqrt(var + eps) with the running statistics, no dropout.
  const Tensor expected = ops::div(ops::sub(x.data(), *inner.mean),
                                   ops::sqrt(ops::add(*inner.var, Tensor::scalar(2e-5, Float64))));
  EXPECT_LT(ops::max(ops::abs(ops::sub(y.data(), expected))).item(), 1e-12);
  // Outside any layer the thread's mode still applies, and train() brings dropout back.
  const Variable h = F::dropout(Variable(Tensor::ones({1000}, Float64)));
  EXPECT_GT(ops::sum(ops::eq(h.data(), Tensor::scalar(0.0, Float64))).item(), 300);
  {
    TestModeGuard test;
    EXPECT_EQ(ops::sum(F::dropout(Variable(Tensor::ones({1000}, Float64))).data()).item(), 1000.0);
  }
}

TEST(LayerTest, AnErrorInsideSequentialNamesTheLayerAndItsInput) {
  manual_seed(5);
  L::Sequential model{L::Linear(5), L::ReLU(), L::Sequential{L::Linear(3), L::Linear(2)}};
  model(Variable(Tensor::randn({2, 4})));
  EXPECT_DZ_ERROR(model(Variable(Tensor::randn({2, 7}))),
                  ::testing::HasSubstr("layer 0 Linear(4 -> 5) on x (2, 7): "));
  L::Sequential outer{L::ReLU(), L::Sequential{L::Linear(3)}};
  outer(Variable(Tensor::randn({2, 4})));
  EXPECT_DZ_ERROR(outer(Variable(Tensor::randn({2, 6}))),
                  ::testing::HasSubstr("layer 1.0 Linear(4 -> 3) on x (2, 6): "));
}

TEST(LayerTest, RegistryNamesShapesAndLazySizes) {
  manual_seed(0);
  L::Sequential model{L::Linear(5), L::ReLU(), L::Linear(2)};
  EXPECT_TRUE(model.params().empty());  // sizes are known after the first forward
  const Variable y = model(Variable(Tensor::randn({3, 4})));
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  const auto named = model.named_params();
  ASSERT_EQ(named.size(), 4u);
  EXPECT_EQ(named[0].first, "0.W");
  EXPECT_EQ(named[1].first, "0.b");
  EXPECT_EQ(named[2].first, "2.W");
  EXPECT_EQ(named[3].first, "2.b");
  EXPECT_EQ(named[0].second.shape(), (Shape{4, 5}));
  EXPECT_EQ(named[2].second.shape(), (Shape{5, 2}));
  EXPECT_EQ(model.num_params(), 4 * 5 + 5 + 5 * 2 + 2);
  EXPECT_THAT(model.name(), ::testing::HasSubstr("Linear(4 -> 5)"));
  // Backward reaches every parameter; clear_grads drops them.
  F::sum(y).backward();
  for (const Parameter& p : model.params()) EXPECT_TRUE(p.grad().defined()) << p.name();
  model.clear_grads();
  for (const Parameter& p : model.params()) EXPECT_FALSE(p.grad().defined());
}

TEST(LayerTest, PyTorchDefaultInitializationIsReproducible) {
  manual_seed(7);
  L::Conv2d a(8, 3, {.in_channels = 4});
  manual_seed(7);
  L::Conv2d b(8, 3, {.in_channels = 4});
  EXPECT_TENSOR_NEAR(a.W.data(), b.W.data(), 0);
  const double bound = 1 / std::sqrt(4.0 * 9);
  EXPECT_LE(ops::max(ops::abs(a.W.data())).item(), bound);
  EXPECT_GT(ops::max(ops::abs(a.W.data())).item(), 0.9 * bound);
  // Conv2d(4 -> 8, 3x3): 288 weights with groups = 1, 144 with groups = 2.
  EXPECT_EQ(a.W.numel(), 288);
  EXPECT_EQ(L::Conv2d(8, 3, {.groups = 2, .in_channels = 4}).W.numel(), 144);
  EXPECT_DZ_ERROR(L::Conv2d(6, 3, {.groups = 4}), ::testing::HasSubstr("groups"));
}

TEST(LayerTest, Deconv2dLayerUpsamplesAndLearns) {
  manual_seed(2);
  L::Deconv2d up(4, 2, {.stride = 2, .groups = 2});
  const Variable x(Tensor::randn({3, 6, 5, 5}));
  const Variable y = up(x);
  EXPECT_EQ(y.shape(), (Shape{3, 4, 10, 10}));
  EXPECT_EQ(up.W.shape(), (Shape{6, 2, 2, 2}));
  EXPECT_TENSOR_NEAR(y.data(), F::deconv2d(x, up.W, up.b, {.stride = 2, .groups = 2}).data(), 0);
  EXPECT_LE(ops::max(ops::abs(up.W.data())).item(), 1 / std::sqrt(2.0 * 4));
  F::sum(F::square(y)).backward();
  EXPECT_TRUE(up.W.grad().defined());
  EXPECT_TRUE(up.b.grad().defined());
}

TEST(LayerTest, TrainAndEvalModes) {
  manual_seed(1);
  L::Sequential model{L::Linear(4), L::BatchNorm(), L::Dropout(0.5)};
  const Variable x(Tensor::randn({8, 3}));
  const Tensor y_train = model(x).data();
  model.eval();
  EXPECT_FALSE(model[2].training());
  const Tensor y1 = model(x).data(), y2 = model(x).data();
  EXPECT_TENSOR_NEAR(y1, y2, 0);  // no dropout, running statistics
  model.train();
  EXPECT_TRUE(model[1].training());
  EXPECT_FALSE(ops::sum(ops::ne(model(x).data(), y1)).item() == 0);
  (void)y_train;
}

// Built inside the library (compiled with -march=native): GCC 12.2's basic-block SLP once stored
// pad (1, 1) for the pointwise convs' Conv2dOptions{.groups = g, .bias = false} on AVX-512 CPUs
// of the Skylake-X line, so the flattened features were 64 x 8 x 8 instead of 64 x 7 x 7.
TEST(ModelsTest, LibraryBuiltLayersKeepTheirOptions) {
  manual_seed(0);
  L::GroupedCNN grouped(4);
  EXPECT_EQ(grouped(Variable(Tensor::randn({2, 1, 28, 28}))).shape(), (Shape{2, 10}));
  std::vector<std::string> shapes;
  for (const auto& [name, p] : grouped.named_params())
    shapes.push_back(name + " " + to_string(p.shape()));
  EXPECT_THAT(shapes, ::testing::Contains("net.5.W (64, 8, 1, 1)"));
  EXPECT_THAT(shapes, ::testing::Contains("net.14.W (3136, 10)")) << "a pointwise conv was padded";
  EXPECT_EQ(grouped.num_params(),
            (32 * 9 + 64) + (32 * 9 + 64 * 8 + 128) + (64 * 9 + 64 * 16 + 128) + (3136 * 10 + 10));
}

TEST(ModelsTest, ParameterCountsAndShapes) {
  manual_seed(0);
  const Variable x(Tensor::randn({2, 1, 28, 28}));
  L::LeNet lenet;
  EXPECT_EQ(lenet(x).shape(), (Shape{2, 10}));
  EXPECT_EQ(lenet.num_params(),
            (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 128 + 128) + (128 * 10 + 10));
  L::GroupedCNN grouped(4);
  EXPECT_EQ(grouped(x).shape(), (Shape{2, 10}));
  EXPECT_LT(grouped.num_params(), lenet.num_params() / 10);
  L::GroupedCNN dense(1);
  dense(x);
  EXPECT_LT(grouped.num_params(), dense.num_params());
  L::MLP mlp({10, 3});
  EXPECT_EQ(mlp(Variable(Tensor::randn({4, 6}))).shape(), (Shape{4, 3}));
}

}  // namespace

using ::testing::HasSubstr;

namespace {

// The tree names every sub-layer with its parameter count, and its output shape once known;
// build() sizes the lazy layers, so num_params() is right before the first training step.
TEST(LayerSummaryTest, ATreeWithCountsAndShapesAndBuildSizesLazyLayers) {
  manual_seed(0);
  L::Sequential model{L::Linear(4), L::ReLU(), L::Sequential{L::Linear(3), L::Dropout(0.5)}};
  const std::string lazy = model.summary();
  EXPECT_THAT(lazy, HasSubstr("Sequential"));
  EXPECT_THAT(lazy, HasSubstr("  0: Linear(? -> 4)"));
  EXPECT_THAT(lazy, HasSubstr("    1: Dropout(0.5)"));
  EXPECT_THAT(lazy,
              HasSubstr("parameter count unknown: lazy layers are sized by build(input_shape)"));
  EXPECT_EQ(model.num_params(), 0);

  const Shape out = model.build({2, 6});
  EXPECT_EQ(out, (Shape{2, 3}));
  EXPECT_EQ(model.num_params(), 6 * 4 + 4 + 4 * 3 + 3);
  EXPECT_TRUE(model.training());  // build ran in eval mode and restored training
  std::ostringstream printed;
  printed << model;
  const std::string text = printed.str();
  // Columns: the layer, its (sub-tree's) parameters, its last output shape.
  EXPECT_THAT(text, ::testing::ContainsRegex("\nSequential +43  \\(2, 3\\)\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n  0: Linear\\(6 -> 4\\) +28  \\(2, 4\\)\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n  1: ReLU\\(\\) +0  \\(2, 4\\)\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n  2: Sequential +15  \\(2, 3\\)\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n    0: Linear\\(4 -> 3\\) +15  \\(2, 3\\)\n"));
  EXPECT_THAT(text, HasSubstr("43 parameters\n"));
}

TEST(LayerSummaryTest, ThousandsAndPartlyLazyModels) {
  L::LeNet net;
  net.build({1, 1, 28, 28});
  EXPECT_THAT(net.summary(),
              ::testing::ContainsRegex("7: Linear\\(3136 -> 128\\) +401,536  \\(1, 128\\)"));
  L::Sequential partly{L::Linear(3, {.in_size = 2}),
                       L::Linear(5)};  // the first knows its input size
  EXPECT_THAT(partly.summary(), HasSubstr("9 parameters + lazy ones"));
}

// build() leaves batch-norm statistics alone (it runs in eval mode), and a wrong
// input shape names build and the shape.
TEST(LayerSummaryTest, BuildUpdatesNoStatisticsAndNamesABadShape) {
  manual_seed(1);
  L::Sequential model{L::Linear(3), L::BatchNorm(), L::Dropout(0.5)};
  model.build({4, 2}, Float64);
  const auto buffers = model.named_buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].first, "1.running_mean");
  EXPECT_DOUBLE_EQ(ops::sum(ops::abs(buffers[0].second)).item(),
                   0.0);  // a train-mode forward would move it
  EXPECT_DOUBLE_EQ(ops::sum(buffers[1].second).item(), 3.0);
  L::Linear fixed(3, {.in_size = 2});
  EXPECT_DZ_ERROR(fixed.build({4, 5}), HasSubstr("build((4, 5)): "));
}

}  // namespace
