// The API tour the README carried before docs/GUIDE.md (whose blocks, and the README's, now run
// as GuideTest.* and ReadmeTest.Block*): the details it pinned down stay tested here.

#include "test_helpers.h"

#include <filesystem>

#include <unistd.h>

namespace F = dezero::functions;
using dezero::Tensor;
using dezero::Variable;

namespace {

// y = tanh(x)    dy/dx = 1 - y^2
class Tanh final : public dezero::Function {
 public:
  std::string name() const override { return "tanh"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override { return {dezero::ops::tanh(xs[0])}; }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    Variable y = output(0);
    return {gys[0] * (1.0 - y * y)};
  }
};
Variable my_tanh(const Variable& x) { return dezero::call<Tanh>(x); }

TEST(ReadmeTest, ApiTourRunsAsWritten) {
  dezero::manual_seed(0);
  Tensor a = Tensor::randn({2, 3});
  Tensor b = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, dezero::Float64);
  EXPECT_EQ(dezero::to_string(b), "tensor([[1., 2., 3.],\n        [4., 5., 6.]], dtype=float64)");
  EXPECT_EQ(a.dtype(), dezero::Float32);

  Variable x(Tensor::scalar(2.0, dezero::Float64));
  Variable y = x * x * x * x - 2 * x * x;
  y.backward(/*retain_grad=*/false, /*create_graph=*/true);
  Variable gx = x.grad();
  EXPECT_DOUBLE_EQ(gx.item(), 24);
  x.clear_grad();
  gx.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 44);

  auto g = dezero::grad({F::sum(F::tanh(x) * x)}, {x}, /*create_graph=*/true);
  EXPECT_NEAR(g[0].item(), std::tanh(2.0) + 2 * (1 - std::tanh(2.0) * std::tanh(2.0)), 1e-12);
  {
    dezero::NoGradGuard no_grad;
    EXPECT_EQ(F::exp(x).creator(), nullptr);
  }
  {
    dezero::TestModeGuard test;
    Variable e = F::exp(x);
    EXPECT_TRUE(F::dropout(e, 0.5).is_same(e));
  }
  auto f = [](const std::vector<Variable>& v) { return F::linear(v[0], v[1], v[2]); };
  auto report = dezero::gradient_check(f, {Tensor::randn({4, 3}, dezero::Float64),
                                           Tensor::randn({3, 2}, dezero::Float64),
                                           Tensor::randn({2}, dezero::Float64)});
  EXPECT_TRUE(report.ok) << report;
  EXPECT_NEAR(my_tanh(x).item(), std::tanh(2.0), 1e-15);
  EXPECT_TRUE(dezero::gradgrad_check([](const std::vector<Variable>& v) { return my_tanh(v[0]); },
                                     {Tensor::randn({3}, dezero::Float64)}).ok);
  // Convolutions and .npy, as in the tour.
  Variable img(Tensor::randn({8, 32, 28, 28}));
  Variable W(Tensor::randn({64, 32 / 4, 3, 3}));
  Variable h = F::conv2d(img, W, /*b=*/{}, {.stride = 1, .pad = 1, .groups = 4});
  EXPECT_EQ(h.shape(), (dezero::Shape{8, 64, 28, 28}));
  Variable p = F::max_pool2d(F::relu(h), 2);
  EXPECT_EQ(p.shape(), (dezero::Shape{8, 64, 14, 14}));
  Variable up = F::deconv2d(p, Variable(Tensor::randn({64, 16, 2, 2})), {}, {.stride = 2});
  EXPECT_EQ(up.shape(), (dezero::Shape{8, 16, 28, 28}));
  const size_t before = dezero::conv_workspace_limit();
  dezero::set_conv_workspace_limit(16 << 20);
  EXPECT_EQ(dezero::conv_workspace_limit(), size_t{16} << 20);
  dezero::set_conv_workspace_limit(before);
  const dezero::MemoryStats mem = dezero::cpu_memory_stats();
  EXPECT_GE(mem.peak_allocated_bytes, mem.allocated_bytes);
  dezero::cpu_empty_cache();
  EXPECT_EQ(dezero::cpu_memory_stats().reserved_bytes, dezero::cpu_memory_stats().allocated_bytes);
  const std::string npy = (std::filesystem::temp_directory_path() / ("dezero_readme_" + std::to_string(::getpid()) + ".npy")).string();
  dezero::io::save_npy(npy, h.data());
  EXPECT_TENSOR_NEAR(dezero::io::load_npy(npy), h.data(), 0);
  std::filesystem::remove(npy);
  try {
    F::matmul(Variable(Tensor::zeros({2, 3})), Variable(Tensor::zeros({4, 5})));
    FAIL();
  } catch (const dezero::Error& e) {
    EXPECT_THAT(e.what(), ::testing::StartsWith("matmul: inner dimensions differ: x (2, 3) @ W (4, 5) [ops.cpp:"));
  }
}

}  // namespace
