// CUDA-labelled tests: on a GPU machine they check the CUDA backend against the CPU op by op;
// elsewhere they skip (except the ones that check what a GPU-less machine must say).
//   - every row of the gradient-check table (grad_table.cpp), float64 and float32: forward and
//     every input's gradient on CUDA equal the CPU's;
//   - backend primitives the table reaches only partly (broadcasts, reductions, GEMM waves,
//     scatter-add with repeats, im2col/col2im chunks, pooling argmax);
//   - transfers and the caching allocator.

#include <cmath>
#include <cstdlib>
#include <string>
#include <functional>

#include "dezero/core/backend.h"
#include "grad_table.h"

namespace F = dezero::functions;
using namespace dezero;
using ::testing::HasSubstr;

namespace {

#define SKIP_WITHOUT_GPU() \
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device"

// max |a - b| / max(1, max |b|)
double scaled_error(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::CPU).to(Float64), hb = b.to(Device::CPU).to(Float64);
  if (ha.numel() == 0) return 0;
  const double scale = std::max(1.0, ops::max(ops::abs(hb)).item());
  return ops::max(ops::abs(ops::sub(ha, hb))).item() / scale;
}

TEST(CudaTest, DiscoveryNeverThrows) {
  EXPECT_NO_THROW(cuda::device_count());
  EXPECT_EQ(cuda::is_available(), cuda::device_count() > 0);
  if (!cuda::is_built()) {
    EXPECT_FALSE(cuda::is_available());
  }
  EXPECT_NO_THROW(cuda::memory_stats());
  EXPECT_NO_THROW(cuda::empty_cache());
}

// The backend is a library of its own, loaded on first use: in a CUDA build it must load (beside
// libdezero, or where DEZERO_CUDA_MODULE points), with or without a GPU, since the CUDA runtime
// inside it is static and a missing driver only means zero devices.
TEST(CudaTest, TheBackendModuleLoadsInACudaBuild) {
  if (!cuda::is_built()) {
    EXPECT_FALSE(cuda::is_loaded());
    EXPECT_THAT(cuda::load_error(), HasSubstr("built without CUDA"));
    EXPECT_DZ_ERROR(Tensor::zeros({2}, Float32, Device::CUDA), HasSubstr("built without CUDA"));
    return;
  }
  if (const char* forced = std::getenv("DEZERO_CUDA_MODULE"); forced && std::string(forced).find("missing") != std::string::npos)
    GTEST_SKIP() << "DEZERO_CUDA_MODULE names a missing module (CudaTest.AModuleThatCannotLoadIsAClearError)";
  EXPECT_TRUE(cuda::is_loaded()) << cuda::load_error();
  EXPECT_EQ(cuda::load_error(), "");
}

// Run by ctest with DEZERO_CUDA_MODULE=/missing/libdezero_cuda.so (tests/CMakeLists.txt): no
// device, and the first CUDA tensor's error says which file could not be loaded and why.
TEST(CudaTest, AModuleThatCannotLoadIsAClearError) {
  const char* forced = std::getenv("DEZERO_CUDA_MODULE");
  if (!cuda::is_built() || !forced || std::string(forced).find("missing") == std::string::npos)
    GTEST_SKIP() << "needs a CUDA build and DEZERO_CUDA_MODULE naming a missing file";
  EXPECT_FALSE(cuda::is_loaded());
  EXPECT_FALSE(cuda::is_available());
  EXPECT_EQ(cuda::device_count(), 0);
  EXPECT_THAT(cuda::load_error(), HasSubstr(forced));
  EXPECT_DZ_ERROR(Tensor::ones({2}).to(Device::CUDA), HasSubstr("could not be loaded"));
}

TEST(CudaTest, WithoutAGpuCudaTensorsAreAClearError) {
  if (cuda::is_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_DZ_ERROR(Tensor::zeros({2}, Float32, Device::CUDA), HasSubstr("cuda"));
  EXPECT_DZ_ERROR(Tensor::ones({2}).to(Device::CUDA), HasSubstr("cuda"));
}

// Issue 19's configurations on the GPU: a max-pool window wholly in the padding is the same clear
// error as on the CPU (the check sits in ops::max_pool2d, before the kernel); ceil-mode pooling
// (windows past the edge), avg_pool2d's divisors, the padding modes and the deconv output
// paddings that used to be wrong match the CPU in value and gradient.
TEST(CudaTest, PoolingOptionsPaddingModesAndOutputPaddingMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  const Variable bad(Tensor::randn({1, 2, 2, 1}).to(Device::CUDA));
  EXPECT_DZ_ERROR(F::max_pool2d(bad, {2, 1}, {.stride = 1, .pad = {1, 0}, .dilation = {3, 1}}),
                  HasSubstr("wholly in the padding"));
  manual_seed(19);
  using Op = std::function<Variable(const std::vector<Variable>&)>;
  struct Case {
    const char* name;
    Op f;
    std::vector<Shape> shapes;
  };
  const Case cases[] = {
      {"max_pool ceil", [](const auto& v) { return F::max_pool2d(v[0], 3, {.stride = 2, .ceil_mode = true}); }, {{2, 3, 8, 9}}},
      {"avg_pool ceil exclude pad", [](const auto& v) { return F::avg_pool2d(v[0], 3, {.stride = 2, .pad = 1, .ceil_mode = true, .count_include_pad = false}); }, {{2, 3, 8, 9}}},
      {"avg_pool divisor", [](const auto& v) { return F::avg_pool2d(v[0], 2, {.divisor_override = 3}); }, {{2, 3, 8, 9}}},
      {"conv reflect", [](const auto& v) { return F::conv2d(v[0], v[1], {}, {.pad = 2, .padding_mode = F::PaddingMode::Reflect}); }, {{2, 3, 7, 6}, {4, 3, 3, 3}}},
      {"conv same circular", [](const auto& v) { return F::conv2d(v[0], v[1], {}, {.dilation = 2, .padding_mode = F::PaddingMode::Circular, .same = true}); }, {{2, 3, 7, 6}, {4, 3, 2, 3}}},
      {"pad replicate", [](const auto& v) { return F::pad2d(v[0], {2, 0, 1, 3}, F::PaddingMode::Replicate); }, {{2, 3, 4, 5}}},
      {"deconv stride 1 outpad pad", [](const auto& v) { return F::deconv2d(v[0], v[1], {}, {.pad = 1, .dilation = {2, 3}, .output_padding = {1, 2}}); }, {{2, 2, 4, 5}, {2, 3, 3, 3}}},
      {"deconv outpad past stride", [](const auto& v) { return F::deconv2d(v[0], v[1], {}, {.stride = 2, .dilation = 3, .output_padding = 2}); }, {{2, 2, 3, 3}, {2, 2, 3, 3}}},
  };
  for (const Case& c : cases)
    for (DType dt : {Float64, Float32}) {
      std::vector<Tensor> host;
      for (const Shape& s : c.shapes) host.push_back(Tensor::randn(s, dt));
      auto run = [&](Device device) {
        std::vector<Variable> in;
        for (const Tensor& t : host) in.emplace_back(t.to(device));
        const Variable y = c.f(in);
        std::vector<Tensor> out{y.data()};
        for (const Variable& g : dezero::grad({F::sum(F::square(y))}, in)) out.push_back(g.data());
        return out;
      };
      const auto cpu = run(Device::CPU), gpu = run(Device::CUDA);
      for (size_t i = 0; i < cpu.size(); ++i) {
        ASSERT_EQ(gpu[i].shape(), cpu[i].shape()) << c.name << " " << i;
        EXPECT_LT(scaled_error(gpu[i], cpu[i]), dt == Float64 ? 1e-10 : 1e-4) << c.name << " output " << i;
      }
    }
}

TEST(CudaTest, TransfersRoundTripBitForBit) {
  SKIP_WITHOUT_GPU();
  for (DType dt : {Float32, Float64}) {
    for (const Shape& s : {Shape{}, Shape{0, 3}, Shape{7}, Shape{3, 1000, 17}}) {
      const Tensor x = Tensor::randn(s, dt);
      const Tensor d = x.to(Device::CUDA);
      EXPECT_EQ(d.device(), Device::CUDA);
      EXPECT_EQ(d.shape(), s);
      EXPECT_TENSOR_NEAR(d.to(Device::CPU), x, 0.0);
      EXPECT_TENSOR_NEAR(d.clone().to(Device::CPU), x, 0.0);
    }
  }
}

TEST(CudaTest, AllocatorReusesFreedBlocksAndReportsStatistics) {
  SKIP_WITHOUT_GPU();
  cuda::empty_cache();
  const cuda::MemoryStats before = cuda::memory_stats();
  { const Tensor a = Tensor::empty({1 << 20}, Float32, Device::CUDA); }  // 4 MiB, freed at once
  const cuda::MemoryStats mid = cuda::memory_stats();
  EXPECT_EQ(mid.allocated_bytes, before.allocated_bytes);
  EXPECT_GE(mid.reserved_bytes, before.reserved_bytes + (size_t{4} << 20));
  { const Tensor b = Tensor::empty({1 << 20}, Float32, Device::CUDA); }  // the same block again
  const cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_EQ(after.device_allocations, mid.device_allocations) << "a freed block of the same size was not reused";
  EXPECT_EQ(after.cache_hits, mid.cache_hits + 1);
  EXPECT_GE(after.peak_allocated_bytes, size_t{4} << 20);
  cuda::empty_cache();
  EXPECT_EQ(cuda::memory_stats().reserved_bytes, cuda::memory_stats().allocated_bytes);
}

TEST(CudaTest, MixingDevicesNamesBoth) {
  SKIP_WITHOUT_GPU();
  const Variable a(Tensor::ones({2})), b(Tensor::ones({2}).to(Device::CUDA));
  EXPECT_DZ_ERROR(a + b, HasSubstr("cpu"), HasSubstr("cuda"));
}

// ---- the gradient-check table on both devices ----

class CudaParity : public ::testing::TestWithParam<GradCase> {};

TEST_P(CudaParity, ForwardAndEveryGradientMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  const GradCase& c = GetParam();
  for (DType dt : {Float64, Float32}) {
    const double tol = dt == Float64 ? 1e-10 : 1e-4;
    auto run = [&](Device device) {
      std::vector<Variable> xs;
      for (const Tensor& x : inputs_for(c)) xs.emplace_back(x.to(dt).to(device));
      const Variable y = c.f(xs);
      manual_seed(7);
      const Variable gy(Tensor::randn(y.shape(), dt).to(device));
      std::vector<Tensor> out{y.data()};
      for (const Variable& g : dezero::grad({y}, xs, {gy}, false, true))
        out.push_back(g.defined() ? g.data() : Tensor());
      return out;
    };
    const auto cpu = run(Device::CPU), gpu = run(Device::CUDA);
    ASSERT_EQ(cpu.size(), gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      ASSERT_EQ(cpu[i].defined(), gpu[i].defined()) << c.name << " output " << i;
      if (!cpu[i].defined()) continue;
      EXPECT_EQ(gpu[i].device(), Device::CUDA) << c.name;
      EXPECT_EQ(gpu[i].shape(), cpu[i].shape()) << c.name << " output " << i;
      EXPECT_LT(scaled_error(gpu[i], cpu[i]), tol) << c.name << (i == 0 ? " forward" : " gradient ")
                                                   << (i == 0 ? "" : std::to_string(i - 1)) << " in "
                                                   << to_string(dt);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Functions, CudaParity, ::testing::ValuesIn(grad_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) { return info.param.name; });

// ---- primitives at sizes the table does not reach ----

TEST(CudaTest, LargeReductionsBroadcastsAndProductsMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  manual_seed(11);
  const Tensor x = Tensor::randn({64, 33, 17, 9}), b = Tensor::randn({1, 33, 1, 9});
  const Tensor dx = x.to(Device::CUDA), db = b.to(Device::CUDA);
  EXPECT_LT(scaled_error(ops::add(dx, db), ops::add(x, b)), 1e-6);
  EXPECT_LT(scaled_error(ops::sum(dx, {0, 2, 3}), ops::sum(x, {0, 2, 3})), 1e-5);
  EXPECT_LT(scaled_error(ops::sum(dx), ops::sum(x)), 1e-5);
  EXPECT_EQ(scaled_error(ops::max(dx, {1}), ops::max(x, {1})), 0.0);  // selections are exact
  // Few outputs over many elements reduce in two passes (parts, then the parts' results).
  EXPECT_EQ(scaled_error(ops::max(dx, {0, 2, 3}), ops::max(x, {0, 2, 3})), 0.0);
  Tensor with_nan = Tensor::randn({300000});
  with_nan.data<float>()[123456] = std::nanf("");
  EXPECT_TRUE(std::isnan(ops::max(with_nan.to(Device::CUDA)).item())) << "a NaN must win in either pass";
  EXPECT_TRUE(std::isnan(ops::min(with_nan.to(Device::CUDA)).item()));
  EXPECT_EQ(scaled_error(ops::argmax(dx, 1), ops::argmax(x, 1)), 0.0);
  EXPECT_EQ(scaled_error(ops::transpose(dx, {3, 1, 0, 2}), ops::transpose(x, {3, 1, 0, 2})), 0.0);
  const Tensor A = Tensor::randn({8, 300, 200}), B = Tensor::randn({8, 200, 150});
  EXPECT_LT(scaled_error(ops::matmul(A.to(Device::CUDA), B.to(Device::CUDA)), ops::matmul(A, B)), 1e-4);
  for (DType dt : {Float32, Float64}) {  // the optimizers' in-place update
    // Copies: x.to(Float32) is x itself, and updating it in place would feed the Float64 pass the
    // float32 results of each device (one FMA apart), not the same input.
    Tensor y = x.to(dt).clone(), dy = dx.to(dt).clone();
    const Tensor g = ops::neg(x).to(dt);
    ops::axpby(-0.1, g, 0.9, y);
    ops::axpby(-0.1, g.to(Device::CUDA), 0.9, dy);
    EXPECT_LT(scaled_error(dy, y), dt == Float32 ? 1e-6 : 1e-15);
  }
  Tensor finite = Tensor::from_vector({1.0, -2.0}, Float64).to(Device::CUDA);
  ops::axpby(0.0, Tensor::from_vector({INFINITY, NAN}, Float64).to(Device::CUDA), 3.0, finite);
  EXPECT_EQ(finite.to_vector(), (std::vector<double>{3.0, -6.0})) << "a zero coefficient must not read its operand";
}

// im2col and col2im on both devices: strides, dilation, padding, a rectangular kernel, rows
// shorter than a warp, a chunk that starts past sample 0, and more rows than one pass of the
// 2-d grid covers (64*512*9 rows of 36).
TEST(CudaTest, ColumnKernelsMatchTheCpuAtEveryGeometry) {
  SKIP_WITHOUT_GPU();
  manual_seed(13);
  struct Case { Shape x; Pair k, s, p, d; };
  const Case cases[] = {{{2, 3, 11, 13}, 3, 1, 1, 1},        {{2, 3, 11, 13}, 3, 2, 1, 1},
                        {{2, 3, 11, 13}, {3, 2}, {2, 3}, {1, 0}, {2, 1}}, {{3, 2, 5, 4}, 2, 1, 0, 1},
                        {{1, 4, 20, 30}, 5, 3, 2, 2},        {{64, 512, 6, 6}, 3, 1, 1, 1}};
  for (const Case& c : cases)
    for (DType dt : {Float32, Float64}) {
      const Tensor x = Tensor::randn(c.x, dt);
      const Conv2dGeometry g = conv2d_geometry(x.shape(), c.k, c.s, c.p, c.d, "test");
      const Tensor col = ops::im2col(x, g);
      EXPECT_EQ(scaled_error(ops::im2col(x.to(Device::CUDA), g), col), 0.0) << to_string(c.x) << " stride " << c.s.h;
      const Tensor cols = Tensor::randn(col.shape(), dt);
      EXPECT_LT(scaled_error(ops::col2im(cols.to(Device::CUDA), g), ops::col2im(cols, g)), 1e-5)
          << to_string(c.x) << " stride " << c.s.h;
    }
  // A chunk of samples [n0, n1) lands at the start of the columns and in its own samples of x.
  const Tensor x = Tensor::randn({5, 3, 7, 9});
  const Conv2dGeometry g = conv2d_geometry(x.shape(), 3, 2, 1, 1, "test");
  Tensor cpu_col = Tensor::zeros({2, g.col_rows(), g.col_cols()}), gpu_col = cpu_col.to(Device::CUDA);
  backend_for(Device::CPU).im2col(x, g, 2, 4, cpu_col);
  backend_for(Device::CUDA).im2col(x.to(Device::CUDA), g, 2, 4, gpu_col);
  EXPECT_EQ(scaled_error(gpu_col, cpu_col), 0.0);
  Tensor cpu_img = Tensor::zeros(x.shape()), gpu_img = cpu_img.to(Device::CUDA);
  backend_for(Device::CPU).col2im(cpu_col, g, 2, 4, cpu_img);
  backend_for(Device::CUDA).col2im(gpu_col, g, 2, 4, gpu_img);
  EXPECT_LT(scaled_error(gpu_img, cpu_img), 1e-6);
}

// Transposed convolutions, forward and every gradient: with stride 1 and no more input than
// output channels CUDA runs them as convs of flipped, transposed weights (groups, dilation,
// rectangular kernels, pad up to D (K - 1)); a pad beyond that, strides > 1 and more input
// channels take the columns and col2im; groups = channels, the depthwise kernels.
TEST(CudaTest, TransposedConvolutionsMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  manual_seed(14);
  struct Case { int64_t cin, cout, groups; Pair k, s, p, d; };
  const Case cases[] = {{4, 6, 1, 3, 1, 0, 1},     {4, 6, 1, 3, 1, 1, 1},     {4, 6, 2, {3, 2}, 1, {2, 1}, 1},
                        {4, 6, 2, 3, 1, {1, 3}, 2}, {6, 6, 3, 3, 1, 2, 1},     {4, 6, 1, 3, 1, 3, 1},
                        {6, 4, 2, 3, 2, 1, 1},      {6, 4, 1, 3, 1, 1, 1},     {3, 3, 3, 3, 1, 1, 1}};
  for (const Case& c : cases)
    for (DType dt : {Float64, Float32}) {
      const double tol = dt == Float64 ? 1e-10 : 1e-4;
      const Tensor x = Tensor::randn({3, c.cin, 7, 9}, dt), W = Tensor::randn({c.cin, c.cout / c.groups, c.k.h, c.k.w}, dt);
      const Tensor b = Tensor::randn({c.cout}, dt);
      const F::Deconv2dOptions o{.stride = c.s, .pad = c.p, .dilation = c.d, .groups = c.groups};
      auto run = [&](Device device) {
        const Variable vx(x.to(device)), vW(W.to(device)), vb(b.to(device));
        const Variable y = F::deconv2d(vx, vW, vb, o);
        std::vector<Tensor> out{y.data()};
        for (const Variable& g : dezero::grad({F::sum(F::square(y))}, {vx, vW, vb})) out.push_back(g.data());
        return out;
      };
      const auto cpu = run(Device::CPU), gpu = run(Device::CUDA);
      for (size_t i = 0; i < cpu.size(); ++i) {
        ASSERT_EQ(gpu[i].shape(), cpu[i].shape()) << i;
        EXPECT_LT(scaled_error(gpu[i], cpu[i]), tol) << "case cin " << c.cin << " pad (" << c.p.h << ", " << c.p.w
                                                     << ") stride " << c.s.h << " output " << i << " " << to_string(dt);
      }
    }
}

TEST(CudaTest, ConvolutionsWithChunkingMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  manual_seed(12);
  const size_t limit = conv_workspace_limit(Device::CUDA);
  for (size_t workspace : {limit, size_t{1} << 16}) {  // whole batch, then a few samples per chunk
    set_conv_workspace_limit(workspace, Device::CUDA);
    for (int64_t groups : {1, 4, 32}) {
      const Variable x(Tensor::randn({8, 32, 12, 12})), W(Tensor::randn({32, 32 / groups, 3, 3}));
      const Variable b(Tensor::randn({32}));
      const F::Conv2dOptions o{.stride = 1, .pad = 1, .groups = groups};
      const Variable y = F::conv2d(x, W, b, o);
      const auto g = dezero::grad({F::sum(F::square(y))}, {x, W, b});
      const Variable dx(x.data().to(Device::CUDA)), dW(W.data().to(Device::CUDA)), dbias(b.data().to(Device::CUDA));
      const Variable dy = F::conv2d(dx, dW, dbias, o);
      const auto dg = dezero::grad({F::sum(F::square(dy))}, {dx, dW, dbias});
      EXPECT_LT(scaled_error(dy.data(), y.data()), 1e-4) << groups;
      for (size_t i = 0; i < 3; ++i) EXPECT_LT(scaled_error(dg[i].data(), g[i].data()), 1e-3) << groups << " " << i;
    }
  }
  set_conv_workspace_limit(limit, Device::CUDA);
}

}  // namespace
