// Forward values of the functions against hand-computed tensors (DeZero's test_forward*), and
// the behaviour of the stateful ones (dropout, batch_norm).

#include "test_helpers.h"

namespace F = dezero::functions;
using namespace dezero;
using dezero::testing::T64;

namespace {

Variable V(const std::vector<double>& v, const Shape& s) { return Variable(T64(v, s)); }

TEST(FunctionsTest, MathForward) {
  Variable x = V({0, 1, 4}, {3});
  EXPECT_TENSOR_NEAR(F::sqrt(x).data(), T64({0, 1, 2}, {3}), 1e-15);
  EXPECT_TENSOR_NEAR(F::square(x).data(), T64({0, 1, 16}, {3}), 0);
  EXPECT_TENSOR_NEAR(F::exp(V({0, 1}, {2})).data(), T64({1, std::exp(1.0)}, {2}), 1e-15);
  EXPECT_TENSOR_NEAR(F::pow(V({2, 3}, {2}), 3.0).data(), T64({8, 27}, {2}), 1e-12);
}

TEST(FunctionsTest, ShapeFunctions) {
  Variable x = V({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(F::reshape(x, {6}).shape(), (Shape{6}));
  EXPECT_EQ(F::transpose(x).shape(), (Shape{3, 2}));
  EXPECT_EQ(F::expand_dims(x, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(F::flatten(F::reshape(x, {2, 3, 1})).shape(), (Shape{2, 3}));
  EXPECT_TENSOR_NEAR(F::get_item(x, {1, Slice{0, 2}}).data(), T64({4, 5}, {2}), 0);
  Variable W = V({0, 1, 10, 11, 20, 21}, {3, 2});
  Tensor ids = Tensor::from_vector({2, 0, 2, 1}, {2, 2});
  EXPECT_TENSOR_NEAR(F::embed_id(ids, W).data(), T64({20, 21, 0, 1, 20, 21, 10, 11}, {2, 2, 2}), 0);
  auto parts = F::split(x, {1, 2}, 1);
  EXPECT_TENSOR_NEAR(parts[1].data(), T64({2, 3, 5, 6}, {2, 2}), 0);
  EXPECT_TENSOR_NEAR(F::concat(parts, 1).data(), x.data(), 0);
}

TEST(FunctionsTest, ReductionsForward) {
  Variable x = V({1, 5, 3, 4, 2, 6}, {2, 3});
  EXPECT_DOUBLE_EQ(F::sum(x).item(), 21);
  EXPECT_TENSOR_NEAR(F::sum(x, {0}).data(), T64({5, 7, 9}, {3}), 0);
  EXPECT_TENSOR_NEAR(F::mean(x, {1}, true).data(), T64({3, 4}, {2, 1}), 1e-15);
  EXPECT_TENSOR_NEAR(F::max(x, {1}).data(), T64({5, 6}, {2}), 0);
  EXPECT_TENSOR_NEAR(F::min(x, {0}).data(), T64({1, 2, 3}, {3}), 0);
  // The gradient of max goes to the maximal element only.
  F::max(x, {1}).backward();
  EXPECT_TENSOR_NEAR(x.grad().data(), T64({0, 1, 0, 0, 0, 1}, {2, 3}), 0);
}

// argmax/argmin: the predicted class per row (last axis by default), first index on ties, a
// constant that no gradient flows through.
TEST(FunctionsTest, ArgmaxAndArgmin) {
  Variable x = V({1, 5, 5, 4, 2, 0}, {2, 3});
  EXPECT_TENSOR_NEAR(F::argmax(x).data(), T64({1, 0}, {2}), 0);
  EXPECT_TENSOR_NEAR(F::argmax(x, 0).data(), T64({1, 0, 0}, {3}), 0);
  EXPECT_TENSOR_NEAR(F::argmin(x, -1, true).data(), T64({0, 2}, {2, 1}), 0);
  EXPECT_EQ(F::argmax(x).creator(), nullptr);
  EXPECT_DZ_ERROR(F::argmax(x, 2), ::testing::HasSubstr("argmax"));
}

TEST(FunctionsTest, LinearAndMatmul) {
  Variable x = V({1, 2, 3, 4}, {2, 2}), W = V({1, 0, 2, 0, 1, 3}, {2, 3}), b = V({1, 1, 1}, {3});
  EXPECT_TENSOR_NEAR(F::linear(x, W, b).data(), T64({2, 3, 9, 4, 5, 19}, {2, 3}), 0);
  EXPECT_TENSOR_NEAR(F::matmul(x, W).data(), T64({1, 2, 8, 3, 4, 18}, {2, 3}), 0);
}

TEST(FunctionsTest, Activations) {
  Variable x = V({-2, -0.5, 0.5, 2}, {2, 2});
  EXPECT_TENSOR_NEAR(F::relu(x).data(), T64({0, 0, 0.5, 2}, {2, 2}), 0);
  EXPECT_TENSOR_NEAR(F::leaky_relu(x, 0.1).data(), T64({-0.2, -0.05, 0.5, 2}, {2, 2}), 1e-15);
  EXPECT_NEAR(F::sigmoid(x).data().at({1, 1}), 1 / (1 + std::exp(-2.0)), 1e-15);
  EXPECT_TENSOR_NEAR(F::clip(x, -1, 1).data(), T64({-1, -0.5, 0.5, 1}, {2, 2}), 0);
  Tensor s = F::softmax(x).data();
  EXPECT_NEAR(s.at({0, 0}), std::exp(-2) / (std::exp(-2) + std::exp(-0.5)), 1e-15);
  EXPECT_TENSOR_NEAR(F::exp(F::log_softmax(x)).data(), s, 1e-15);
  // Sigmoid does not overflow for large |x|.
  EXPECT_TENSOR_NEAR(F::sigmoid(V({-1000, 1000}, {2})).data(), T64({0, 1}, {2}), 0);
}

TEST(FunctionsTest, Losses) {
  Variable x = V({0.2, 0.8, 0, 0, 0.1, 0.9, 0, 0, 0.3, 0.7, 0, 0}, {3, 4});
  Tensor t = Tensor::from_vector({1, 2, 0});
  double expected = 0;
  const Tensor logp = ops::log_softmax(x.data(), 1);
  expected -= logp.at({0, 1}) + logp.at({1, 2}) + logp.at({2, 0});
  EXPECT_NEAR(F::softmax_cross_entropy(x, t).item(), expected / 3, 1e-12);
  EXPECT_NEAR(F::accuracy(x, Tensor::from_vector({1, 3, 1})).item(), 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(F::mean_squared_error(V({1, 2, 3, 4}, {2, 2}), V({1, 0, 3, 0}, {2, 2})).item(),
                   10);
  // Logistic loss: log(1 + exp(-x)) for t = 1, log(1 + exp(x)) for t = 0, summed / N.
  Variable z = V({2, -1}, {2}), tz = V({1, 0}, {2});
  const double sce = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0))) / 2;
  EXPECT_NEAR(F::sigmoid_cross_entropy(z, tz).item(), sce, 1e-12);
  EXPECT_NEAR(F::binary_cross_entropy(F::sigmoid(z), tz).item(), sce, 1e-12);
  EXPECT_TRUE(
      std::isfinite(F::sigmoid_cross_entropy(V({1000, -1000}, {2}), V({0, 1}, {2})).item()));
}

TEST(FunctionsTest, DropoutScalesInTrainingAndIsIdentityInTestMode) {
  manual_seed(0);
  Variable x(Tensor::ones({1000, 100}, Float64));
  const Tensor y = F::dropout(x, 0.3).data();
  const auto v = y.to_vector();
  const double kept = static_cast<double>(std::count(v.begin(), v.end(), 1.0 / 0.7));
  EXPECT_EQ(kept + static_cast<double>(std::count(v.begin(), v.end(), 0.0)), 100000.0);
  EXPECT_NEAR(kept / 100000, 0.7, 0.01);
  TestModeGuard test;
  EXPECT_TRUE(F::dropout(x, 0.3).is_same(x));
}

TEST(FunctionsTest, BatchNormNormalizesAndTracksRunningStatistics) {
  Variable x = V({1, 10, 3, 20, 5, 60}, {3, 2});
  Variable gamma = V({1, 2}, {2}), beta = V({0, 1}, {2});
  Tensor mean = Tensor::zeros({2}, Float64), var = Tensor::ones({2}, Float64);
  Tensor y = F::batch_norm(x, gamma, beta, mean, var, {.decay = 0.9, .eps = 1e-12}).data();
  // Column 0: mean 3, var 8/3 -> (x - 3) / sqrt(8/3).
  EXPECT_NEAR(y.at({0, 0}), -2 / std::sqrt(8.0 / 3), 1e-9);
  EXPECT_NEAR(ops::mean(ops::reshape(ops::sum_to(y, {1, 2}), {2})).item(), (0.0 + 3.0) / 2, 1e-9);
  EXPECT_NEAR(mean.at({0}), 0.1 * 3, 1e-12);
  EXPECT_NEAR(var.at({0}), 0.9 + 0.1 * 4.0, 1e-12);  // unbiased: 8/3 * 3/2 = 4
  TestModeGuard test;
  Tensor z = F::batch_norm(x, gamma, beta, mean, var, {.decay = 0.9, .eps = 1e-12}).data();
  EXPECT_NEAR(z.at({0, 0}), (1 - mean.at({0})) / std::sqrt(var.at({0})), 1e-9);
  EXPECT_NEAR(mean.at({0}), 0.3, 1e-12);  // test mode leaves the statistics alone
}

}  // namespace
