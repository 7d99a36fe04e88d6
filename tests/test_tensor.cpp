// Tensor: creation, access, conversion, reshape, printing, random reproducibility.

#include <thread>

#include "test_helpers.h"

using namespace dezero;
using dezero::testing::T64;

namespace {

TEST(TensorTest, CreationAndShapes) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.ndim(), 2);
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), Float32);
  EXPECT_EQ(z.device(), Device::CPU);
  EXPECT_EQ(z.nbytes(), 24u);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_TENSOR_NEAR(Tensor::ones({2}, Float64), T64({1, 1}, {2}), 0);
  EXPECT_TENSOR_NEAR(Tensor::full({2}, 7.5), T64({7.5, 7.5}, {2}), 0);
  EXPECT_TENSOR_NEAR(Tensor::arange(0, 1, 0.25), T64({0, 0.25, 0.5, 0.75}, {4}), 0);
  EXPECT_TENSOR_NEAR(Tensor::arange(5, 0, -2, Float64), T64({5, 3, 1}, {3}), 0);
  EXPECT_EQ(Tensor::arange(3, 1).numel(), 0);
  Tensor s = Tensor::scalar(2.5, Float64);
  EXPECT_EQ(s.ndim(), 0);
  EXPECT_DOUBLE_EQ(s.item(), 2.5);
  EXPECT_FALSE(Tensor().defined());
}

TEST(TensorTest, ElementAccessAndNegativeIndices) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, Float64);
  EXPECT_DOUBLE_EQ(t.at({1, 2}), 6);
  EXPECT_DOUBLE_EQ(t.at({-1, -3}), 4);
  t.set({0, 1}, 9);
  EXPECT_DOUBLE_EQ(t.data<double>()[1], 9);
  EXPECT_DZ_ERROR(t.at({2, 0}), ::testing::HasSubstr("out of bounds"), ::testing::HasSubstr("(2, 3)"));
  EXPECT_DZ_ERROR(t.data<float>(), ::testing::HasSubstr("float64"));
  EXPECT_DZ_ERROR(t.item(), ::testing::HasSubstr("(2, 3)"));
}

TEST(TensorTest, ConversionsCopyAndShareAsDocumented) {
  Tensor t = Tensor::from_vector({1.5, -2.25}, Float32);
  Tensor d = t.to(Float64);
  EXPECT_EQ(d.dtype(), Float64);
  EXPECT_TENSOR_NEAR(d, T64({1.5, -2.25}, {2}), 0);
  EXPECT_TRUE(t.to(Float32).is_same(t));
  Tensor c = t.clone();
  EXPECT_FALSE(c.is_same(t));
  c.fill_(0);
  EXPECT_DOUBLE_EQ(t.at({0}), 1.5);
  Tensor r = t.reshape({2, 1});
  EXPECT_TRUE(r.is_same(t));
  EXPECT_EQ(t.reshape({-1}).shape(), (Shape{2}));
  EXPECT_DZ_ERROR(t.reshape({3}), ::testing::HasSubstr("(2,)"), ::testing::HasSubstr("(3,)"));
  EXPECT_DZ_ERROR(t.reshape({-1, -1}), ::testing::HasSubstr("-1"));
}

TEST(TensorTest, RandomIsReproducibleFromTheSeed) {
  manual_seed(7);
  Tensor a = Tensor::randn({100}, Float64);
  Tensor u = Tensor::rand({100}, Float64);
  manual_seed(7);
  EXPECT_TENSOR_NEAR(Tensor::randn({100}, Float64), a, 0);
  EXPECT_TENSOR_NEAR(Tensor::rand({100}, Float64), u, 0);
  // Moments of 100k normals and uniforms.
  Tensor n = Tensor::randn({100000}, Float64);
  EXPECT_NEAR(ops::mean(n).item(), 0.0, 0.02);
  EXPECT_NEAR(ops::mean(ops::square(n)).item(), 1.0, 0.02);
  Tensor v = Tensor::uniform({100000}, -1, 3, Float64);
  EXPECT_NEAR(ops::mean(v).item(), 1.0, 0.03);
  EXPECT_GE(ops::min(v).item(), -1.0);
  EXPECT_LT(ops::max(v).item(), 3.0);
}

// Random tensors drawn on several threads at once take whole runs of the global generator: the
// two fills are the seed's first and second 100k draws, in one order or the other.
TEST(TensorTest, ConcurrentRandomFillsTakeWholeRunsOfTheGenerator) {
  constexpr int64_t n = 100000;
  manual_seed(9);
  const Tensor first = Tensor::randn({n}, Float64), second = Tensor::randn({n}, Float64);
  for (int round = 0; round < 5; ++round) {
    manual_seed(9);
    Tensor a, b;
    std::thread ta([&] { a = Tensor::randn({n}, Float64); });
    std::thread tb([&] { b = Tensor::randn({n}, Float64); });
    ta.join();
    tb.join();
    const bool a_first = a.to_vector()[0] == first.to_vector()[0];
    EXPECT_TENSOR_NEAR(a, a_first ? first : second, 0) << "round " << round;
    EXPECT_TENSOR_NEAR(b, a_first ? second : first, 0) << "round " << round;
  }
}

TEST(TensorTest, PrintsLikeNumPy) {
  EXPECT_EQ(to_string(Tensor::from_vector({1, 2, 3, 4}, {2, 2})),
            "tensor([[1., 2.],\n        [3., 4.]], dtype=float32)");
  EXPECT_EQ(to_string(Tensor::from_vector({0.5, -1.25}, Float64)), "tensor([  0.5, -1.25], dtype=float64)");
  EXPECT_EQ(to_string(Tensor::scalar(3)), "tensor(3., dtype=float32)");
  const std::string big = to_string(Tensor::zeros({40, 40}));
  EXPECT_NE(big.find("..."), std::string::npos);
  EXPECT_LT(big.size(), 600u);
  std::ostringstream os;
  os << Variable(Tensor::from_vector({1, 2}, {1, 2}));
  EXPECT_EQ(os.str(), "variable([[1., 2.]], dtype=float32)");
}

TEST(TensorTest, CudaTensorsFailClearlyWithoutACudaBackend) {
  EXPECT_DZ_ERROR(Tensor::zeros({2}, Float32, Device::CUDA), ::testing::HasSubstr("cuda"));
  EXPECT_NO_THROW(cuda::is_available());
  EXPECT_GE(cuda::device_count(), 0);
}

TEST(TensorTest, ThreadCountIsSettable) {
  const int before = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(before);
  EXPECT_DZ_ERROR(set_num_threads(0), ::testing::HasSubstr("set_num_threads"));
}

}  // namespace
