// Devices: every op refuses operands on different devices, naming both devices and shapes;
// transfers round-trip; autograd keeps gradients on the data's device. A CPU-backed stand-in
// serves Device::CUDA (BackendOverrideGuard), so this runs on machines without a GPU.

#include "test_helpers.h"

namespace F = dezero::functions;
using namespace dezero;
using ::testing::HasSubstr;
using dezero::testing::T64;

namespace {

class DevicesTest : public ::testing::Test {
 protected:
  BackendOverrideGuard stand_in_{Device::CUDA, cpu_backend()};
};

TEST_F(DevicesTest, MixingDevicesIsAnErrorNamingBoth) {
  Tensor g = Tensor::zeros({2, 3}, Float32, Device::CUDA), c = Tensor::zeros({2, 3});
  EXPECT_DZ_ERROR(ops::add(g, c), HasSubstr("add: tensors on different devices: cuda:0 (2, 3) vs cpu (2, 3)"));
  EXPECT_DZ_ERROR(ops::matmul(c, Tensor::zeros({3, 4}, Float32, Device::CUDA)), HasSubstr("matmul"),
                  HasSubstr("cpu (2, 3) vs cuda:0 (3, 4)"));
  EXPECT_DZ_ERROR(ops::concat({c, g}, 0), HasSubstr("concat"), HasSubstr("cuda:0"));
  Variable x(c), w(Tensor::zeros({3, 2}, Float32, Device::CUDA));
  EXPECT_DZ_ERROR(F::linear(x, w), HasSubstr("matmul"), HasSubstr("cpu (2, 3) vs cuda:0 (3, 2)"));
  EXPECT_DZ_ERROR(Variable(g) * x, HasSubstr("mul: tensors on different devices"));
  EXPECT_DZ_ERROR(g.copy_(c), HasSubstr("copy_"), HasSubstr("cpu"), HasSubstr("cuda:0"));
}

TEST_F(DevicesTest, TransfersRoundTrip) {
  Tensor c = T64({1, 2, 3, 4}, {2, 2});
  Tensor g = c.to(Device::CUDA);
  EXPECT_EQ(g.device(), Device::CUDA);
  EXPECT_FALSE(g.is_same(c));
  EXPECT_DOUBLE_EQ(g.at({1, 0}), 3);
  EXPECT_TENSOR_NEAR(g.to(Device::CPU), c, 0);
  EXPECT_NE(to_string(g).find("device=cuda:0"), std::string::npos);
  EXPECT_DZ_ERROR(g.set({0, 0}, 1), HasSubstr("set"), HasSubstr("cuda:0"));
}

TEST_F(DevicesTest, AutogradKeepsGradientsOnTheDevice) {
  manual_seed(0);
  Variable x(Tensor::randn({4, 3}, Float64).to(Device::CUDA));
  Variable W(Tensor::randn({3, 5}, Float64).to(Device::CUDA));
  Tensor labels = Tensor::from_vector({0, 4, 2, 1});
  Variable loss = F::softmax_cross_entropy(F::dropout(F::tanh(F::linear(x, W)), 0.2) * 2.0 + 1.0, labels);
  loss.backward();
  EXPECT_EQ(loss.device(), Device::CUDA);
  EXPECT_EQ(x.grad().device(), Device::CUDA);
  EXPECT_EQ(W.grad().device(), Device::CUDA);
  EXPECT_EQ(F::accuracy(F::linear(x, W), labels).device(), Device::CUDA);
}

TEST_F(DevicesTest, LayersMoveToADeviceAndCreateLazyParametersThere) {
  manual_seed(0);
  namespace L = dezero::layers;
  L::Sequential model{L::Linear(4), L::BatchNorm1d(), L::ReLU(), L::Linear(2)};
  model(Variable(Tensor::randn({3, 5})));
  model.to(Device::CUDA);
  for (const Parameter& p : model.params()) EXPECT_EQ(p.device(), Device::CUDA) << p.name();
  for (const auto& [n, b] : model.named_buffers()) EXPECT_EQ(b.device(), Device::CUDA) << n;
  EXPECT_EQ(model(Variable(Tensor::randn({3, 5}).to(Device::CUDA))).device(), Device::CUDA);
  L::Linear lazy(3);
  lazy(Variable(Tensor::randn({2, 4}).to(Device::CUDA)));
  EXPECT_EQ(lazy.W.device(), Device::CUDA);
  EXPECT_DZ_ERROR(model(Variable(Tensor::randn({3, 5}))), HasSubstr("different devices"));
  model.to(Device::CPU);
  EXPECT_EQ(model.params()[0].device(), Device::CPU);
}

TEST(BackendOverrideTest, GuardRestoresThePreviousBackend) {
  {
    BackendOverrideGuard guard(Device::CUDA, cpu_backend());
    EXPECT_NO_THROW(Tensor::zeros({1}, Float32, Device::CUDA));
  }
  EXPECT_DZ_ERROR(Tensor::zeros({1}, Float32, Device::CUDA), HasSubstr("cuda"));
}

}  // namespace
