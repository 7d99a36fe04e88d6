// CUDA-labelled tests: they run where a GPU is present and skip cleanly elsewhere. The CUDA
// kernels arrive with the CUDA backend; here: discovery never throws, and tensors on a CUDA
// device are refused with a clear message until then.

#include "test_helpers.h"

using namespace dezero;

namespace {

TEST(CudaTest, DiscoveryNeverThrows) {
  EXPECT_NO_THROW(cuda::device_count());
  EXPECT_EQ(cuda::is_available(), cuda::device_count() > 0);
  if (!cuda::is_built()) {
    EXPECT_FALSE(cuda::is_available());
  }
}

TEST(CudaTest, DeviceTensorsAreRefusedWithAClearMessage) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  EXPECT_DZ_ERROR(Tensor::zeros({2}, Float32, Device::CUDA), ::testing::HasSubstr("cuda"));
}

}  // namespace
