// Convolution and pooling: the seeds' worked examples, conv2d against conv2d_simple, bad
// input, the workspace limit, and pooling semantics.

#include <thread>

#include "test_helpers.h"

namespace F = dezero::functions;
namespace L = dezero::layers;
using namespace dezero;
using ::testing::HasSubstr;
using dezero::testing::T64;

namespace {

Variable image_1_to_16() { return Variable(Tensor::arange(1, 17, 1, Float64).reshape({1, 1, 4, 4})); }

TEST(ConvTest, Im2colOfTheFourByFourImage) {
  const Variable x = image_1_to_16();
  // Kernel 2, stride 1, pad 1: a 25 x 4 matrix.
  const Variable m = F::im2col(x, 2, {.stride = 1, .pad = 1, .to_matrix = true});
  ASSERT_EQ(m.shape(), (Shape{25, 4}));
  EXPECT_TENSOR_NEAR(F::get_item(m, {0}).data(), T64({0, 0, 0, 1}, {4}), 0);
  EXPECT_TENSOR_NEAR(F::get_item(m, {1}).data(), T64({0, 0, 1, 2}, {4}), 0);
  EXPECT_TENSOR_NEAR(F::get_item(m, {24}).data(), T64({16, 0, 0, 0}, {4}), 0);
  EXPECT_TENSOR_NEAR(F::col2im(m, {1, 1, 4, 4}, 2, {.stride = 1, .pad = 1, .to_matrix = true}).data(),
                     ops::mul(x.data(), Tensor::scalar(4, Float64)), 0);
  // Stride 2, pad 0: the four 2x2 blocks; col2im puts the image back.
  const Variable s2 = F::im2col(x, 2, {.stride = 2, .to_matrix = true});
  EXPECT_TENSOR_NEAR(s2.data(), T64({1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16}, {4, 4}), 0);
  EXPECT_TENSOR_NEAR(F::col2im(s2, {1, 1, 4, 4}, 2, {.stride = 2, .to_matrix = true}).data(), x.data(), 0);
  // Stride 1, pad 0: col2im counts how many windows cover each pixel.
  const Variable s1 = F::im2col(x, 2, {.to_matrix = true});
  EXPECT_TENSOR_NEAR(F::col2im(s1, {1, 1, 4, 4}, 2, {.to_matrix = true}).data(),
                     T64({1, 4, 6, 4, 10, 24, 28, 16, 18, 40, 44, 24, 13, 28, 30, 16}, {1, 1, 4, 4}), 0);
}

TEST(ConvTest, WorkedExamplesWithAndWithoutGroups) {
  const Variable x(Tensor::arange(0, 12, 1, Float64).reshape({1, 3, 2, 2}));
  const Variable W(Tensor::arange(0, 6, 1, Float64).reshape({2, 3, 1, 1}));
  EXPECT_TENSOR_NEAR(F::conv2d(x, W).data(), T64({20, 23, 26, 29, 56, 68, 80, 92}, {1, 2, 2, 2}), 0);
  const Variable Wg(Tensor::arange(0, 6, 1, Float64).reshape({6, 1, 1, 1}));
  const Tensor want = T64({0, 0, 0, 0, 0, 1, 2, 3, 8, 10, 12, 14, 12, 15, 18, 21, 32, 36, 40, 44, 40, 45, 50, 55},
                          {1, 6, 2, 2});
  EXPECT_TENSOR_NEAR(F::conv2d(x, Wg, {}, {.groups = 3}).data(), want, 0);
  EXPECT_TENSOR_NEAR(F::conv2d_simple(x, Wg, {}, {.groups = 3}).data(), want, 0);
}

TEST(ConvTest, GroupsShrinkTheWeightsNotTheOutput) {
  manual_seed(0);
  const Variable x(Tensor::randn({1, 6, 256, 256}));
  for (int64_t groups : {1, 2, 3, 6}) {
    const Variable W(Tensor::randn({24, 6 / groups, 3, 3}));
    EXPECT_EQ(F::conv2d(x, W, {}, {.groups = groups}).shape(), (Shape{1, 24, 254, 254}));
    EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::randn({24, 6 / groups + 1, 3, 3})), {}, {.groups = groups}),
                    HasSubstr("conv2d"));
  }
  // Conv2d(4 -> 8, 3x3): 8 * 4 * 9 = 288 weights with groups = 1, 8 * 2 * 9 = 144 with groups = 2.
  EXPECT_EQ(numel({8, 4 / 1, 3, 3}), 288);
  EXPECT_EQ(numel({8, 4 / 2, 3, 3}), 144);
  EXPECT_EQ(F::conv2d(Variable(Tensor::randn({1, 4, 5, 5})), Variable(Tensor::randn({8, 2, 3, 3})), {},
                      {.groups = 2}).shape(), (Shape{1, 8, 3, 3}));
}

struct ConvCase {
  Shape x, W;
  Pair stride, pad, dilation;
  int64_t groups;
};

TEST(ConvTest, FusedConvEqualsTheComposedReference) {
  const std::vector<ConvCase> cases = {
      {{2, 4, 9, 7}, {6, 4, 3, 2}, 1, 0, 1, 1},         {{3, 4, 8, 8}, {8, 2, 3, 3}, 2, 1, 1, 2},
      {{2, 6, 10, 9}, {6, 1, 3, 3}, {1, 2}, {2, 1}, 2, 6}, {{1, 8, 7, 11}, {4, 2, 2, 3}, {3, 2}, 1, {2, 1}, 4},
      {{4, 3, 6, 6}, {5, 3, 1, 1}, 1, 0, 1, 1},         {{2, 4, 5, 5}, {4, 4, 5, 5}, 1, 2, 1, 1},
      // 32 and 64 filters with 36 column rows per group, as in real CNN layers.
      {{3, 4, 7, 6}, {32, 4, 3, 3}, {2, 1}, 1, {1, 2}, 1}, {{2, 8, 6, 5}, {64, 4, 3, 3}, 1, 1, 1, 2}};
  manual_seed(1);
  for (const ConvCase& c : cases) {
    const Variable x(Tensor::randn(c.x, Float64)), W(Tensor::randn(c.W, Float64)), b(Tensor::randn({c.W[0]}, Float64));
    const F::Conv2dOptions o{c.stride, c.pad, c.dilation, c.groups};
    EXPECT_TENSOR_NEAR(F::conv2d(x, W, b, o).data(), F::conv2d_simple(x, W, b, o).data(), 1e-12);
    // Gradients agree too.
    auto g1 = dezero::grad({F::sum(F::square(F::conv2d(x, W, b, o)))}, {x, W, b});
    auto g2 = dezero::grad({F::sum(F::square(F::conv2d_simple(x, W, b, o)))}, {x, W, b});
    for (size_t i = 0; i < 3; ++i) EXPECT_TENSOR_NEAR(g1[i].data(), g2[i].data(), 1e-10);
  }
}

TEST(ConvTest, DeconvIsTheAdjointOfConv) {
  // <conv(x, W), y> == <x, deconv(y, W)> for the same geometry.
  manual_seed(2);
  const Variable x(Tensor::randn({2, 4, 9, 8}, Float64)), W(Tensor::randn({6, 2, 3, 3}, Float64));
  const F::Conv2dOptions o{2, 1, 1, 2};
  const Variable y = F::conv2d(x, W, {}, o);
  const Variable r(Tensor::randn(y.shape(), Float64));
  const Variable back = F::deconv2d(r, W, {}, {.stride = 2, .pad = 1, .groups = 2, .outsize = Pair{9, 8}});
  ASSERT_EQ(back.shape(), x.shape());
  EXPECT_NEAR(F::sum(y * r).item(), F::sum(x * back).item(), 1e-10);
  // PyTorch's output size formula, and output_padding.
  EXPECT_EQ(F::deconv2d(r, W, {}, {.stride = 2, .pad = 1, .groups = 2}).shape(), (Shape{2, 4, 9, 7}));
  EXPECT_EQ(F::deconv2d(r, W, {}, {.stride = 2, .pad = 1, .groups = 2, .output_padding = {0, 1}}).shape(),
            (Shape{2, 4, 9, 8}));
}

// With stride 1 a dilated kernel allows output_padding (PyTorch: below max(stride, dilation)): with
// no pad the extra row (stride 1 along H) lies past every input's reach and holds only the bias;
// along W (stride 2) the padding is inside the conv geometry's rounding. (With pad > 0 the extra
// rows receive contributions: the PyTorch differential suite's cases.)
TEST(ConvTest, TransposedConvOutputPaddingWithStrideOneHoldsTheBias) {
  manual_seed(3);
  const Variable x(Tensor::randn({2, 4, 5, 4}, Float64)), W(Tensor::randn({4, 3, 3, 3}, Float64));
  const Variable b(Tensor::randn({3}, Float64));
  const F::Deconv2dOptions o{.stride = {1, 2}, .dilation = 2, .output_padding = {1, 1}};
  const Variable y = F::deconv2d(x, W, b, o);
  // H: (5 - 1) + 2 (3 - 1) + 1 + 1 = 10; W: (4 - 1) 2 + 2 (3 - 1) + 1 + 1 = 12.
  ASSERT_EQ(y.shape(), (Shape{2, 3, 10, 12}));
  const Variable unpadded = F::deconv2d(x, W, b, {.stride = {1, 2}, .dilation = 2, .output_padding = {0, 1}});
  ASSERT_EQ(unpadded.shape(), (Shape{2, 3, 9, 12}));
  const std::vector<double> got = y.data().to_vector(), want = unpadded.data().to_vector(), bias = b.data().to_vector();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t h = 0; h < 10; ++h)
        for (int64_t w = 0; w < 12; ++w) {
          const double expected = h < 9 ? want[((n * 3 + c) * 9 + h) * 12 + w] : bias[c];
          ASSERT_NEAR(got[((n * 3 + c) * 10 + h) * 12 + w], expected, 1e-12) << n << " " << c << " " << h << " " << w;
        }
}

// Output padding at or past the stride (legal when dilation > stride) and outsize requests that
// need it: outsize gives the same tensor as the output padding it stands for.
TEST(ConvTest, TransposedConvOutputPaddingPastTheStrideAndOutsize) {
  manual_seed(19);
  const Variable x(Tensor::randn({2, 2, 3, 3}, Float64)), W(Tensor::randn({2, 2, 3, 3}, Float64));
  const Variable y = F::deconv2d(x, W, {}, {.stride = 2, .dilation = 3, .output_padding = 2});
  ASSERT_EQ(y.shape(), (Shape{2, 2, 13, 13}));
  const Variable z = F::deconv2d(x, W, {}, {.stride = 2, .dilation = 3, .outsize = Pair{13, 13}});
  EXPECT_TENSOR_NEAR(z.data(), y.data(), 0);
  const Variable x3(Tensor::randn({1, 3, 3, 3}, Float64)), W3(Tensor::randn({3, 1, 2, 2}, Float64));
  EXPECT_EQ(F::deconv2d(x3, W3, {}, {.stride = 3, .pad = 1, .dilation = 4, .groups = 3, .outsize = Pair{12, 12}}).shape(),
            (Shape{1, 3, 12, 12}));
  // Stride 1, pad > 0: the output padding is not all bias (PyTorch crops the full transposed conv).
  const Variable x4(Tensor::randn({2, 6, 5, 4}, Float64)), W4(Tensor::randn({6, 1, 4, 1}, Float64));
  EXPECT_EQ(F::deconv2d(x4, W4, {}, {.pad = {1, 2}, .dilation = {2, 3}, .groups = 3, .output_padding = {0, 1}}).shape(),
            (Shape{2, 3, 9, 1}));
  EXPECT_DZ_ERROR(F::deconv2d(x, W, {}, {.stride = 2, .dilation = 3, .outsize = Pair{14, 13}}), HasSubstr("deconv2d"),
                  HasSubstr("output padding (3, 2)"));
}

// max |a - b| / max |b|
double relative_error(const Tensor& a, const Tensor& b) {
  return ops::max(ops::abs(ops::sub(a, b))).item() / ops::max(ops::abs(b)).item();
}

TEST(ConvTest, WorkspaceLimitDoesNotChangeResults) {
  // Chunking changes which GEMM kernel runs how many products at once, so float rounding may
  // differ in the last bits; the results agree to rounding in both dtypes.
  for (DType dt : {Float32, Float64}) {
    manual_seed(3);
    const Variable x(Tensor::randn({64, 32, 14, 14}, dt)), W(Tensor::randn({64, 32, 3, 3}, dt));
    const Variable b(Tensor::randn({64}, dt));
    const double tol = dt == Float32 ? 1e-6 : 1e-14;
    const size_t before = conv_workspace_limit();
    const Variable y = F::conv2d(x, W, b, {.pad = 1});
    auto g = dezero::grad({F::sum(F::square(y))}, {x, W});
    for (size_t limit : {size_t{1} << 20, size_t{1}}) {  // 1 MiB: 4 samples per chunk; 1 byte: one
      set_conv_workspace_limit(limit);
      const Variable y_limited = F::conv2d(x, W, b, {.pad = 1});
      auto g_limited = dezero::grad({F::sum(F::square(y_limited))}, {x, W});
      set_conv_workspace_limit(before);
      EXPECT_LT(relative_error(y_limited.data(), y.data()), tol) << limit;
      EXPECT_LT(relative_error(g_limited[0].data(), g[0].data()), tol) << limit;
      EXPECT_LT(relative_error(g_limited[1].data(), g[1].data()), tol) << limit;
    }
  }
}

// Each device has its own limit: the CPU's small chunks stay in cache, a GPU wants whole batches.
TEST(ConvTest, WorkspaceLimitsArePerDevice) {
  const size_t cpu = conv_workspace_limit(), gpu = conv_workspace_limit(Device::CUDA);
  EXPECT_EQ(cpu, size_t{2} << 20);
  EXPECT_EQ(gpu, size_t{256} << 20);
  set_conv_workspace_limit(12345);
  EXPECT_EQ(conv_workspace_limit(Device::CPU), 12345u);
  EXPECT_EQ(conv_workspace_limit(Device::CUDA), gpu);
  set_conv_workspace_limit(678, Device::CUDA);
  EXPECT_EQ(conv_workspace_limit(Device::CUDA), 678u);
  EXPECT_EQ(conv_workspace_limit(), 12345u);
  set_conv_workspace_limit(cpu);
  set_conv_workspace_limit(gpu, Device::CUDA);
}

// Convolutions on the chunked path from several user threads at once: each thread has its own
// column workspace (a shared one let one thread's im2col overwrite the columns another was
// multiplying). float64 columns of 1.8 MB per sample do not fit the sample-at-a-time path.
TEST(ConvTest, ConcurrentConvolutionsFromUserThreadsDoNotShareColumns) {
  manual_seed(11);
  const Tensor W = Tensor::randn({8, 16, 3, 3}, Float64);
  std::vector<Tensor> xs, want;
  for (int t = 0; t < 3; ++t) {
    xs.push_back(Tensor::randn({3, 16, 40, 40}, Float64));
    want.push_back(ops::conv2d(xs[t], W, {}, conv2d_geometry(xs[t].shape(), 3, 1, 1, 1, "test"), 1));
  }
  std::vector<int> wrong(xs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < xs.size(); ++t)
    threads.emplace_back([&, t] {
      const Conv2dGeometry g = conv2d_geometry(xs[t].shape(), 3, 1, 1, 1, "test");
      for (int i = 0; i < 20; ++i)
        if (relative_error(ops::conv2d(xs[t], W, {}, g, 1), want[t]) > 1e-14) ++wrong[t];
    });
  for (std::thread& th : threads) th.join();
  for (size_t t = 0; t < xs.size(); ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

TEST(ConvTest, BadInputNamesTheOpAndShapes) {
  const Variable x(Tensor::zeros({2, 6, 8, 8}));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 6, 3, 3})), {}, {.groups = 4}),
                  HasSubstr("conv2d"), HasSubstr("(2, 6, 8, 8)"), HasSubstr("groups 4"));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 5, 3, 3}))), HasSubstr("conv2d"),
                  HasSubstr("(4, 5, 3, 3)"), HasSubstr("(2, 6, 8, 8)"));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 6, 11, 3}))), HasSubstr("larger than the padded input"),
                  HasSubstr("(2, 6, 8, 8)"));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 6, 3, 3})), {}, {.stride = 0}), HasSubstr("stride"));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 6, 3, 3})), {}, {.dilation = {1, -1}}), HasSubstr("dilation"));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 6, 3, 3})), Variable(Tensor::zeros({5}))),
                  HasSubstr("bias must be (4,)"));
  EXPECT_DZ_ERROR(F::conv2d(Variable(Tensor::zeros({6, 8, 8})), Variable(Tensor::zeros({4, 6, 3, 3}))),
                  HasSubstr("(N, C, H, W)"), HasSubstr("(6, 8, 8)"));
  EXPECT_DZ_ERROR(F::conv2d(x, Variable(Tensor::zeros({4, 6, 3, 3}, Float64))), HasSubstr("dtype mismatch"));
  EXPECT_DZ_ERROR(F::deconv2d(x, Variable(Tensor::zeros({5, 2, 3, 3}))), HasSubstr("deconv2d"), HasSubstr("(5, 2, 3, 3)"));
  EXPECT_DZ_ERROR(F::deconv2d(x, Variable(Tensor::zeros({6, 2, 3, 3})), {}, {.stride = 2, .output_padding = 2}),
                  HasSubstr("output padding"));
  EXPECT_DZ_ERROR(F::max_pool2d(x, 2, {.pad = 2}), HasSubstr("max_pool2d"), HasSubstr("half"));
  EXPECT_DZ_ERROR(F::avg_pool2d(x, 3, {.dilation = 2}), HasSubstr("avg_pool2d"), HasSubstr("dilation"));
  EXPECT_DZ_ERROR(F::max_pool2d(x, 9), HasSubstr("larger than the padded input"));
  EXPECT_DZ_ERROR(F::col2im(Variable(Tensor::zeros({2, 5, 4})), {2, 1, 4, 4}, 2), HasSubstr("col2im"), HasSubstr("(2, 5, 4)"));
  // PyTorch's remaining options
  const Variable w3(Tensor::zeros({4, 6, 3, 3}));
  EXPECT_DZ_ERROR(F::conv2d(x, w3, {}, {.stride = 2, .same = true}), HasSubstr("conv2d"), HasSubstr("same"),
                  HasSubstr("stride 1"), HasSubstr("(2, 6, 8, 8)"));
  EXPECT_DZ_ERROR(F::conv2d(x, w3, {}, {.pad = 8, .padding_mode = F::PaddingMode::Reflect}), HasSubstr("reflect"),
                  HasSubstr("(2, 6, 8, 8)"));
  EXPECT_DZ_ERROR(F::pad2d(x, {0, 0, 9, 0}, F::PaddingMode::Circular), HasSubstr("pad2d"), HasSubstr("circular"),
                  HasSubstr("(2, 6, 8, 8)"));
  EXPECT_DZ_ERROR(F::pad2d(x, {-1, 0, 0, 0}), HasSubstr("pad2d"), HasSubstr("non-negative"));
  EXPECT_DZ_ERROR(F::pad2d(Variable(Tensor::zeros({4})), {1, 1, 1, 1}), HasSubstr("pad2d"), HasSubstr("(4,)"));
  EXPECT_DZ_ERROR(F::pad2d(Variable(Tensor::zeros({1, 0, 3})), {1, 0, 0, 0}, F::PaddingMode::Replicate),
                  HasSubstr("pad2d"), HasSubstr("empty"));
  EXPECT_DZ_ERROR(F::avg_pool2d(x, 2, {.divisor_override = 0}), HasSubstr("avg_pool2d"), HasSubstr("divisor_override"));
  EXPECT_DZ_ERROR(F::max_pool2d(x, 2, {.count_include_pad = false}), HasSubstr("max_pool2d"),
                  HasSubstr("avg_pool2d options"));
}

// A dilated window can lie wholly in the padding (PyTorch then gives -inf and routes the gradient
// into the neighbouring channel). dezero-cpp refuses the geometry with a clear error, in the
// function and in the tensor op that every device's kernel sits behind.
TEST(PoolingTest, AWindowWhollyInThePaddingIsAClearError) {
  const Variable x(Tensor::randn({1, 2, 2, 1}));
  EXPECT_DZ_ERROR(F::max_pool2d(x, {2, 1}, {.stride = 1, .pad = {1, 0}, .dilation = {3, 1}}), HasSubstr("max_pool2d"),
                  HasSubstr("output row 0"), HasSubstr("wholly in the padding"), HasSubstr("(1, 2, 2, 1)"),
                  HasSubstr("dilation (3, 1)"));
  const Conv2dGeometry g = conv2d_geometry(x.shape(), {2, 1}, 1, {1, 0}, {3, 1}, "test");
  ResolvedIndex index;
  EXPECT_DZ_ERROR(ops::max_pool2d(x.data(), g, index), HasSubstr("max_pool2d"), HasSubstr("wholly in the padding"));
  // Along W: kernel 2, dilation 4, pad 2 -> column windows with taps (-2, 2), (-1, 3), (0, 4), ...
  // Each reaches an input column when W = 5; with W = 2, window 0's taps -2 and 2 both miss.
  EXPECT_NO_THROW(F::max_pool2d(Variable(Tensor::randn({1, 1, 3, 5})), {1, 2}, {.stride = 1, .pad = {0, 2}, .dilation = {1, 4}}));
  EXPECT_DZ_ERROR(F::max_pool2d(Variable(Tensor::randn({1, 1, 3, 2})), {1, 2}, {.stride = 1, .pad = {0, 2}, .dilation = {1, 4}}),
                  HasSubstr("output column 0"));
}

// Ceil mode, count_include_pad and divisor_override, worked by hand on the 4x4 image 1..16.
TEST(PoolingTest, CeilModeAndDivisorsFollowPyTorch) {
  const Variable x = image_1_to_16();
  // kernel 3, stride 2: floor -> 1x1, ceil -> 2x2 (the last window runs past the edge).
  EXPECT_TENSOR_NEAR(F::max_pool2d(x, 3, {.stride = 2, .ceil_mode = true}).data(), T64({11, 12, 15, 16}, {1, 1, 2, 2}), 0);
  // Average of the clipped windows: PyTorch divides by the part inside the (padded) input.
  EXPECT_TENSOR_NEAR(F::avg_pool2d(x, 3, {.stride = 2, .ceil_mode = true}).data(),
                     T64({6, 7.5, 12, 13.5}, {1, 1, 2, 2}), 1e-15);
  // pad 1, kernel 2, stride 2: every window has one padded row or column at the border.
  EXPECT_TENSOR_NEAR(F::avg_pool2d(x, 2, {.stride = 2, .pad = 1, .count_include_pad = false}).data(),
                     T64({1, 2.5, 4, 7, 8.5, 10, 13, 14.5, 16}, {1, 1, 3, 3}), 1e-15);
  EXPECT_TENSOR_NEAR(F::avg_pool2d(x, 2, {.divisor_override = 2}).data(), T64({7, 11, 23, 27}, {1, 1, 2, 2}), 1e-15);
  // A last window that would start in the bottom/right padding is dropped: 4 wide, kernel 2,
  // stride 3, pad 1 -> ceil((4 + 2 - 2) / 3) + 1 = 3, but window 2 starts at 2 * 3 - 1 = 5 > W: 2.
  EXPECT_EQ(F::max_pool2d(Variable(Tensor::zeros({1, 1, 4, 4})), 2, {.stride = 3, .pad = 1, .ceil_mode = true}).shape(),
            (Shape{1, 1, 2, 2}));
}

// Reflect, replicate and circular padding of a 3x3 image 1..9, and conv2d's padding "same" with
// an even kernel (the extra row and column go last, as in PyTorch).
TEST(ConvTest, PaddingModesAndSamePadding) {
  const Variable x(T64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}));
  EXPECT_TENSOR_NEAR(F::pad2d(x, {1, 0, 0, 1}, F::PaddingMode::Reflect).data(),
                     T64({4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5, 7, 8, 9, 8}, {1, 1, 4, 4}), 0);
  EXPECT_TENSOR_NEAR(F::pad2d(x, {0, 1, 1, 0}, F::PaddingMode::Replicate).data(),
                     T64({1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 7, 7, 8, 9}, {1, 1, 4, 4}), 0);
  EXPECT_TENSOR_NEAR(F::pad2d(x, {1, 0, 1, 0}, F::PaddingMode::Circular).data(),
                     T64({9, 7, 8, 9, 3, 1, 2, 3, 6, 4, 5, 6, 9, 7, 8, 9}, {1, 1, 4, 4}), 0);
  EXPECT_TENSOR_NEAR(F::pad2d(x, {0, 1, 0, 1}).data(), T64({1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0}, {1, 1, 4, 4}), 0);
  // A 2x2 kernel of ones with "same": each output sums its 2x2 block down and right, zeros past the edge.
  const Variable ones(Tensor::ones({1, 1, 2, 2}, Float64));
  EXPECT_TENSOR_NEAR(F::conv2d(x, ones, {}, {.same = true}).data(), T64({12, 16, 9, 24, 28, 15, 15, 17, 9}, {1, 1, 3, 3}), 0);
  EXPECT_EQ(F::conv2d(Variable(Tensor::zeros({2, 3, 7, 6})), Variable(Tensor::zeros({4, 3, 4, 3})), {},
                      {.dilation = {2, 3}, .same = true}).shape(),
            (Shape{2, 4, 7, 6}));
  // Conv2d the layer passes the mode through and names it.
  L::Conv2d conv(2, 3, {.padding_mode = F::PaddingMode::Circular, .same = true, .in_channels = 1, .dtype = Float64});
  EXPECT_EQ(conv.forward(x).shape(), (Shape{1, 2, 3, 3}));
  EXPECT_THAT(conv.name(), HasSubstr("pad=same"));
  EXPECT_THAT(conv.name(), HasSubstr("padding_mode=circular"));
}

TEST(PoolingTest, MaxAndAveragePoolingValues) {
  const Variable x = image_1_to_16();
  EXPECT_TENSOR_NEAR(F::max_pool2d(x, 2).data(), T64({6, 8, 14, 16}, {1, 1, 2, 2}), 0);
  EXPECT_TENSOR_NEAR(F::avg_pool2d(x, 2).data(), T64({3.5, 5.5, 11.5, 13.5}, {1, 1, 2, 2}), 0);
  // Padding never wins a max even when every real value is negative; avg counts padding.
  const Variable neg(ops::neg(x.data()));
  EXPECT_TENSOR_NEAR(F::max_pool2d(neg, 2, {.stride = 2, .pad = 1}).data(),
                     T64({-1, -2, -4, -5, -6, -8, -13, -14, -16}, {1, 1, 3, 3}), 0);
  EXPECT_TENSOR_NEAR(F::avg_pool2d(x, 2, {.stride = 2, .pad = 1}).data(),
                     T64({0.25, 1.25, 1, 3.5, 8.5, 5, 3.25, 7.25, 4}, {1, 1, 3, 3}), 1e-15);
  EXPECT_TENSOR_NEAR(F::global_avg_pool2d(x).data(), T64({8.5}, {1, 1, 1, 1}), 1e-15);
  // The gradient of max pooling lands on the maxima.
  Variable v = image_1_to_16();
  F::sum(F::max_pool2d(v, 2)).backward();
  EXPECT_TENSOR_NEAR(v.grad().data(), T64({0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1}, {1, 1, 4, 4}), 0);
}

// im2col (and col2im, its adjoint) against direct loops, on geometries that take the
// contiguous-run path (stride 1, output width = input width) and ones that do not.
TEST(ConvTest, Im2colAndCol2imMatchDirectLoops) {
  struct Case { Pair k, s, p, d; };
  const Case cases[] = {{3, 1, 1, 1}, {3, 1, 2, 2}, {{3, 1}, 1, {0, 0}, 1}, {{1, 3}, 1, {2, 1}, 1}, {3, 2, 1, 1},
                        {{2, 3}, {1, 1}, {0, 2}, {1, 2}}, {5, 1, 2, 1}, {3, 1, 3, 1}, {{3, 3}, {2, 1}, 1, 1},
                        // same width with taps wholly left or right of the image (found by fuzz_conv_ops)
                        {{1, 3}, 1, {0, 7}, {1, 7}}, {{2, 3}, 1, {0, 7}, {4, 7}}, {{5, 5}, 1, {6, 6}, {3, 3}}};
  std::vector<double> values(2 * 3 * 5 * 6);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i) + 1;
  const Tensor x = Tensor::from_vector(values, Float64).reshape({2, 3, 5, 6});
  for (const Case& c : cases) {
    const Conv2dGeometry g = conv2d_geometry(x.shape(), c.k, c.s, c.p, c.d, "test");
    const Tensor col = ops::im2col(x, g);
    const double* pc = col.data<double>();
    const std::string what = fmt::format("kernel ({},{}) stride ({},{}) pad ({},{}) dilation ({},{})", c.k.h, c.k.w,
                                         c.s.h, c.s.w, c.p.h, c.p.w, c.d.h, c.d.w);
    // col2im of columns with values (not zeros) at the padded positions too: those must not land.
    std::vector<double> cols(static_cast<size_t>(col.numel()));
    for (size_t i = 0; i < cols.size(); ++i) cols[i] = static_cast<double>(i % 97) - 40;
    const Tensor arbitrary = Tensor::from_vector(cols, Float64).reshape(col.shape());
    std::vector<double> back(values.size(), 0.0);
    int64_t i = 0;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t r = 0; r < g.col_rows(); ++r)
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow, ++i) {
            const int64_t ch = r / (g.KH * g.KW), kh = r / g.KW % g.KH, kw = r % g.KW;
            const int64_t ih = oh * g.SH - g.PH + kh * g.DH, iw = ow * g.SW - g.PW + kw * g.DW;
            const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            const int64_t at = ((n * g.C + ch) * g.H + ih) * g.W + iw;
            ASSERT_EQ(pc[i], inside ? values[at] : 0.0) << what << " row " << r << " at (" << oh << "," << ow << ")";
            if (inside) back[at] += cols[i];
          }
    EXPECT_TENSOR_NEAR(ops::col2im(arbitrary, g), Tensor::from_vector(back, Float64).reshape(x.shape()), 0) << what;
  }
}

// conv2d against conv2d_simple (the composed im2col reference): output to tol, the gradients
// of x, W and b for a random output gradient to 10 tol.
void expect_conv_matches_reference(const Variable& x, const Variable& W, const Variable& b, const F::Conv2dOptions& o,
                                   double tol, const std::string& what) {
  const Variable y = F::conv2d(x, W, b, o), want = F::conv2d_simple(x, W, b, o);
  EXPECT_TENSOR_NEAR(y.data(), want.data(), tol) << what;
  const Variable gy(Tensor::randn(y.shape(), y.dtype()));
  auto got = dezero::grad({y}, {x, W, b}, {gy});
  auto ref = dezero::grad({want}, {x, W, b}, {gy});
  for (size_t i = 0; i < 3; ++i) EXPECT_TENSOR_NEAR(got[i].data(), ref[i].data(), tol * 10) << what << " grad " << i;
}

// For each case, in both dtypes and on 1 and 2 threads: conv2d's forward and gradients against
// conv2d_simple, and deconv2d's fused bias against a separate add.
void expect_cases_match_reference(std::initializer_list<ConvCase> cases, uint64_t seed) {
  const int threads = dezero::get_num_threads();
  manual_seed(seed);
  for (int t : {1, 2}) {
    dezero::set_num_threads(t);
    for (DType dtype : {Float32, Float64}) {
      const double tol = dtype == Float32 ? 1e-3 : 1e-10;
      for (const ConvCase& c : cases) {
        const Variable x(Tensor::randn(c.x, dtype)), W(Tensor::randn(c.W, dtype)), b(Tensor::randn({c.W[0]}, dtype));
        const F::Conv2dOptions o{c.stride, c.pad, c.dilation, c.groups};
        const std::string what = fmt::format("x {} W {} {} threads {}", to_string(c.x), to_string(c.W), to_string(dtype), t);
        expect_conv_matches_reference(x, W, b, o, tol, what);
        const Variable gy(Tensor::randn(F::conv2d(x, W, {}, o).shape(), dtype));
        const Variable bx(Tensor::randn({c.x[1]}, dtype));
        const F::Deconv2dOptions d{c.stride, c.pad, c.dilation, c.groups};
        EXPECT_TENSOR_NEAR(F::deconv2d(gy, W, bx, d).data(),
                           (F::deconv2d(gy, W, {}, d) + F::reshape(bx, {1, c.x[1], 1, 1})).data(), tol * 10)
            << "deconv2d " << what;
      }
    }
  }
  dezero::set_num_threads(threads);
}

// Batches that fill the threads take the sample-at-a-time products (columns built and used by
// one thread; float32 weights packed once, columns read in place; the bias added as rows are
// stored): forward, input and weight gradients against conv2d_simple, dense, grouped, strided,
// 1x1 (columns = the input), 4 filters per group of 72 columns (the weight gradient by dot
// products), and with a sample's columns over 1 MiB (float32: tiles of output
// rows, the last one shorter, with and without stride and padding; float64: the chunked path),
// in both dtypes and thread counts; the transposed conv's fused bias against a separate add.
TEST(ConvTest, SampleAtATimeProductsMatchTheComposedReference) {
  expect_cases_match_reference({{{8, 5, 9, 11}, {7, 5, 3, 3}, 1, 1, 1, 1},  {{8, 4, 10, 7}, {6, 2, 3, 3}, 2, 1, 1, 2},
                                {{6, 3, 6, 6}, {5, 3, 1, 1}, 1, 0, 1, 1},   {{6, 4, 7, 7}, {4, 4, 1, 1}, 2, 0, 1, 1},
                                {{8, 8, 5, 5}, {32, 2, 3, 3}, 1, 1, 1, 4},  {{4, 16, 64, 64}, {8, 16, 3, 3}, 1, 1, 1, 1},
                                {{4, 16, 96, 96}, {8, 4, 3, 3}, 2, 1, 1, 4}, {{4, 16, 66, 66}, {8, 16, 3, 3}, 1, 0, 1, 1},
                                {{8, 16, 6, 6}, {8, 8, 3, 3}, 1, 1, 1, 2}},
                               6);
}

// Convolutions without columns (float32 with AVX-512; float64 and other builds take the column
// paths, so the same cases check those): 32-channel panels, rows of one tile and a remainder (15
// = 14 + 1, 20 = 14 + 6, 16), a row stride of 2 and a column dilation of 2 (forward only: the
// input gradient of a strided conv is not a stride-1 correlation), groups with 32 filters each,
// a 5x5 kernel, the input gradient on its own direct path (32 input channels per group), the
// transposed conv's bias, unpadded (18 outputs a row: 14 + 4) and padded by 2. The 3x3 weight
// gradients with 32 filters per group take the direct path too: with the row stride, column
// dilation and groups above, stride 2 on both axes over two bands of output rows (15 rows of 20
// outputs, 64 channels: 11 + 4), and one input channel (a first layer's 9 taps). Groups of 16
// and 48 filters take 16-channel panels (four groups of 16, as the benchmark's groups-4 layer;
// 48 = three panels, with a row dilation; an input gradient into 16 channels).
TEST(ConvTest, DirectConvolutionsMatchTheComposedReference) {
  expect_cases_match_reference({{{4, 32, 9, 15}, {32, 32, 3, 3}, 1, 1, 1, 1},
                                {{4, 16, 9, 20}, {64, 8, 3, 3}, {2, 1}, {0, 2}, {1, 2}, 2},
                                {{4, 8, 7, 16}, {32, 8, 5, 5}, 1, 2, 1, 1},
                                {{4, 64, 6, 14}, {64, 32, 3, 3}, 1, 1, 1, 2},
                                {{5, 32, 5, 17}, {64, 32, 3, 1}, 1, {1, 0}, {2, 1}, 1},
                                {{4, 8, 10, 20}, {32, 8, 3, 3}, 1, 0, 1, 1},
                                {{4, 8, 6, 14}, {32, 8, 3, 3}, 1, 2, 1, 1},
                                {{4, 8, 30, 40}, {64, 8, 3, 3}, 2, 1, 1, 1},
                                {{4, 1, 12, 12}, {32, 1, 3, 3}, 1, 1, 1, 1},
                                {{4, 32, 6, 14}, {64, 8, 3, 3}, 1, 1, 1, 4},
                                {{4, 8, 5, 15}, {48, 8, 3, 3}, {1, 1}, {1, 1}, {2, 1}, 1},
                                {{4, 16, 6, 14}, {32, 16, 3, 3}, 1, 1, 1, 1}},
                               8);
}

// An empty batch: an empty output, an empty input gradient and zero weight and bias gradients,
// on every path that a batch of that geometry takes (the direct kernels with one thread, the
// grouped, depthwise and 1x1 ones), in both dtypes and on 1 and 2 threads.
TEST(ConvTest, AnEmptyBatchHasZeroWeightGradients) {
  const int threads = dezero::get_num_threads();
  const ConvCase cases[] = {{{0, 16, 8, 14}, {32, 16, 3, 3}, 1, 1, 1, 1},
                            {{0, 32, 6, 14}, {64, 8, 3, 3}, 1, 1, 1, 4},
                            {{0, 8, 7, 7}, {8, 1, 3, 3}, 1, 1, 1, 8},
                            {{0, 4, 5, 5}, {6, 4, 1, 1}, 1, 0, 1, 1}};
  for (int t : {1, 2}) {
    dezero::set_num_threads(t);
    for (DType dtype : {Float32, Float64})
      for (const ConvCase& c : cases) {
        const Variable x(Tensor::randn(c.x, dtype)), W(Tensor::randn(c.W, dtype)), b(Tensor::randn({c.W[0]}, dtype));
        const Variable y = F::conv2d(x, W, b, {c.stride, c.pad, c.dilation, c.groups});
        EXPECT_EQ(y.shape()[0], 0) << to_string(c.W);
        const auto g = dezero::grad({F::sum(y)}, {x, W, b});
        EXPECT_EQ(g[0].shape(), x.shape());
        EXPECT_TENSOR_NEAR(g[1].data(), Tensor::zeros(c.W, dtype), 0) << to_string(c.W) << " threads " << t;
        EXPECT_TENSOR_NEAR(g[2].data(), Tensor::zeros({c.W[0]}, dtype), 0) << to_string(c.W) << " threads " << t;
      }
  }
  dezero::set_num_threads(threads);
}

// The direct depthwise kernels (forward with bias, input and weight gradients) against the
// im2col path of conv2d_simple, in both dtypes, on geometries that reach every branch: rows
// past one group of eight, rows wider than one vector, stride 2 (strided loads and the scatter
// gradient), dilation, asymmetric padding, a 5x5 kernel (taps in groups of nine); and the 3x3
// stride-1 kernels' own loops: padded rows of exactly one vector (14 + 2), one lane over (15 + 2),
// unpadded, padded by 2 with outputs in two vectors, 37 columns (a short last vector).
TEST(ConvTest, DepthwiseKernelsMatchTheComposedReference) {
  struct Case { Shape x; Pair k, s, p, d; };
  const Case cases[] = {{{2, 3, 14, 14}, 3, 1, 1, 1},        {{1, 2, 19, 37}, 3, 1, 1, 1},
                        {{2, 2, 17, 20}, 3, 2, 1, 1},        {{1, 3, 12, 11}, {3, 2}, 1, {2, 0}, {2, 1}},
                        {{2, 2, 13, 18}, 5, 1, 2, 1},        {{1, 2, 9, 10}, {3, 3}, {2, 3}, 0, 1},
                        {{1, 4, 6, 5}, 1, 1, 0, 1},          {{2, 2, 11, 15}, 3, 1, 1, 1},
                        {{1, 3, 9, 15}, 3, 1, 0, 1},         {{1, 2, 7, 16}, 3, 1, 2, 1},
                        {{1, 2, 3, 3}, 3, 1, 1, 1}};
  manual_seed(5);
  for (DType dtype : {Float32, Float64}) {
    const double tol = dtype == Float32 ? 2e-4 : 1e-11;
    for (const Case& c : cases) {
      const int64_t C = c.x[1];
      const Variable x(Tensor::randn(c.x, dtype)), W(Tensor::randn({C, 1, c.k.h, c.k.w}, dtype));
      const Variable b(Tensor::randn({C}, dtype));
      const F::Conv2dOptions o{c.s, c.p, c.d, C};
      const std::string what = fmt::format("x {} kernel ({},{}) stride ({},{}) {}", to_string(c.x), c.k.h, c.k.w,
                                           c.s.h, c.s.w, to_string(dtype));
      expect_conv_matches_reference(x, W, b, o, tol, what);
    }
  }
}

// The weight gradient (gy = ones) of a 3x3 conv (filters of ones) of x = ones whose last input
// column is infinite.
Tensor grad_w_with_infinite_last_column(const Shape& shape, int64_t OC, const F::Conv2dOptions& o, DType dtype) {
  const int64_t W = shape[3];
  std::vector<double> v(static_cast<size_t>(shape[0] * shape[1] * shape[2] * W), 1.0);
  for (size_t r = 0; r < v.size() / W; ++r) v[r * W + W - 1] = INFINITY;
  const Variable x(Tensor::from_vector(v, dtype).reshape(shape)), w(Tensor::ones({OC, shape[1] / o.groups, 3, 3}, dtype));
  const Variable y = F::conv2d(x, w, {}, o);
  return dezero::grad({y}, {w}, {Variable(Tensor::ones(y.shape(), dtype))})[0].data();
}

// Input columns no output reads (here the last one: 3x3 taps at stride 2 over 10 columns stop at
// column 8; 2 x 4 outputs) must not reach the weight gradient, even when they are infinite.
TEST(ConvTest, DepthwiseWeightGradientIgnoresUnreadColumns) {
  for (DType dtype : {Float32, Float64})
    EXPECT_TENSOR_NEAR(grad_w_with_infinite_last_column({1, 2, 6, 10}, 2, {.stride = 2, .groups = 2}, dtype),
                       Tensor::full({2, 1, 3, 3}, 8.0, dtype), 0)
        << to_string(dtype);
}

// The 3x3 stride-1 depthwise weight gradient loads whole vectors of a padded row: past the last
// output column their lanes hold real inputs (here the infinite last column, read by taps kw = 1,
// 2 only). They must not reach the kw = 0 taps as 0 * inf; nor on the dense paths (rows of one
// vector and one over). The kw = 0 taps see N samples of columns 0 .. W-2 and (padded by 1) H - 1
// rows for kh = 0, 2, H for kh = 1.
TEST(ConvTest, WeightGradientsOfA3x3KernelIgnoreLanesPastTheRow) {
  struct Case { Shape x; int64_t OC, groups; };
  for (const Case& c : {Case{{1, 2, 5, 7}, 2, 2}, Case{{4, 8, 5, 15}, 32, 1}, Case{{4, 8, 3, 20}, 32, 1}})
    for (DType dtype : {Float32, Float64}) {
      const std::vector<double> got =
          grad_w_with_infinite_last_column(c.x, c.OC, {.pad = 1, .groups = c.groups}, dtype).to_vector();
      for (size_t i = 0; i < got.size(); ++i) {
        const int64_t kw = i % 3, kh = i / 3 % 3;
        const double want = kw == 0 ? double(c.x[0] * (kh == 1 ? c.x[2] : c.x[2] - 1) * (c.x[3] - 1)) : INFINITY;
        ASSERT_EQ(got[i], want) << to_string(c.x) << " " << to_string(dtype) << " element " << i;
      }
    }
}

// Every path of the max-pool kernel (2x2 stride 2 with and without dilation, unpadded with any
// stride and dilation, padded) against a direct loop: the first maximum of each window wins, NaN
// beats numbers; the values are those at the offsets. 37 columns: a 2x2 pool's 18 outputs per row are a full vector step and a tail.
TEST(PoolingTest, MaxPoolArgmaxMatchesADirectLoopOnEveryPath) {
  struct Case { Pair k, s, p, d; bool ceil = false; };
  const Case cases[] = {{2, 2, 0, 1}, {3, 1, 0, 1}, {3, 2, 0, 1}, {2, 1, 0, 2}, {3, 3, 0, 1}, {{2, 3}, {1, 2}, 0, 1},
                        {3, 2, 1, 1}, {2, 2, 1, 1}, {{3, 2}, {2, 1}, {1, 0}, {1, 2}}, {2, 2, 0, 2},
                        // ceil mode: last windows running past the bottom/right edge, with and without padding
                        {2, 2, 0, 1, true}, {3, 2, 0, 1, true}, {{2, 3}, {2, 3}, 0, {1, 2}, true}, {3, 2, 1, 1, true}};
  for (DType dtype : {Float32, Float64}) {
    // Values from a small set (many ties) and a few NaNs.
    std::vector<double> values(2 * 3 * 9 * 37);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>((i * 7919 + i / 13) % 5);
    for (size_t i : {5, 77, 300, 501, 1110, 1111, 1147, 1148, 1900}) values[i] = std::nan("");
    const Tensor x = Tensor::from_vector(values).reshape({2, 3, 9, 37}).to(dtype);
    const std::vector<double>& v = values;
    for (const Case& c : cases) {
      const Conv2dGeometry g = pool2d_geometry(x.shape(), c.k, c.s, c.p, c.d, c.ceil, "test");
      ResolvedIndex index;
      const Tensor y = ops::max_pool2d(x, g, index);
      const Offsets& got = index.offsets;
      ASSERT_EQ(got.size(), static_cast<size_t>(g.N * g.C * g.OH * g.OW));
      ASSERT_EQ(y.shape(), (Shape{g.N, g.C, g.OH, g.OW}));
      const std::vector<double> maxima = y.to_vector();
      size_t i = 0;
      for (int64_t nc = 0; nc < g.N * g.C; ++nc)
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow, ++i) {
            int64_t best = -1;
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                const int64_t ih = oh * g.SH - g.PH + kh * g.DH, iw = ow * g.SW - g.PW + kw * g.DW;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                const int64_t at = nc * g.H * g.W + ih * g.W + iw;
                const double a = v[at], b = best < 0 ? 0 : v[best];
                if (best < 0 || a > b || (std::isnan(a) && !std::isnan(b))) best = at;
              }
            ASSERT_EQ(got[i], best) << "kernel (" << c.k.h << "," << c.k.w << ") stride (" << c.s.h << ","
                                    << c.s.w << ") pad (" << c.p.h << "," << c.p.w << ") dilation (" << c.d.h
                                    << "," << c.d.w << ") output " << i << " " << to_string(dtype);
            ASSERT_TRUE(maxima[i] == v[best] || (std::isnan(maxima[i]) && std::isnan(v[best]))) << "value " << i;
          }
    }
  }
}

// max_pool2d's backward puts gy at each window's maximum: non-overlapping windows (a scatter
// split across threads: more outputs than one thread's share) and overlapping ones (repeated
// offsets accumulate) against a sequential loop over the argmax offsets.
TEST(PoolingTest, MaxPoolBackwardPutsGradientsAtTheMaxima) {
  manual_seed(5);
  struct Case { Pair k, s; };
  for (const Case c : {Case{2, 2}, Case{3, 2}}) {
    const Tensor x = Tensor::randn({4, 9, 66, 66}, Float32);
    const Variable v(x);
    const Variable y = F::max_pool2d(v, c.k, {.stride = c.s});
    const Tensor gy = Tensor::randn(y.shape(), Float32);
    const Tensor gx = dezero::grad({y}, {v}, {Variable(gy)})[0].data();
    ResolvedIndex index;
    ops::max_pool2d(x, conv2d_geometry(x.shape(), c.k, c.s, 0, 1, "test"), index);
    const Offsets& at = index.offsets;
    ASSERT_GT(at.size(), 32768u);
    std::vector<float> sums(static_cast<size_t>(x.numel()), 0.0f);  // float sums, in offset order
    const std::vector<double> g = gy.to_vector();
    for (size_t i = 0; i < at.size(); ++i) sums[static_cast<size_t>(at[i])] += static_cast<float>(g[i]);
    const std::vector<double> expected(sums.begin(), sums.end());
    EXPECT_TENSOR_NEAR(gx, Tensor::from_vector(expected, Float32).reshape(x.shape()), 0) << "kernel " << c.k.h;
  }
}

}  // namespace

namespace {

// Third order: gradgrad_check of x -> <d sum(f(x) r)/dx_0, s> checks f's third derivatives.
dezero::GradCheckFunction projected_gradient(dezero::GradCheckFunction f, Shape y_shape, Shape x_shape) {
  manual_seed(11);
  const Tensor r = Tensor::randn(y_shape, Float64), s = Tensor::randn(x_shape, Float64);
  return [=](const std::vector<Variable>& v) {
    const auto g = dezero::grad({F::sum(f(v) * r)}, {v[0]}, /*create_graph=*/true);
    return F::sum(g[0] * s);
  };
}

TEST(ConvTest, ThirdOrderThroughMaxPoolingAndConvolution) {
  manual_seed(12);
  auto pool = [](const std::vector<Variable>& v) { return F::tanh(F::max_pool2d(v[0], 2)); };
  const GradCheckReport p = gradgrad_check(projected_gradient(pool, {1, 2, 2, 2}, {1, 2, 4, 4}),
                                           {Tensor::randn({1, 2, 4, 4}, Float64)});
  EXPECT_TRUE(p.ok) << p;
  auto conv = [](const std::vector<Variable>& v) {
    return F::tanh(F::conv2d(v[0], v[1], {}, {.stride = 2, .pad = 1, .groups = 2}));
  };
  const GradCheckReport c = gradgrad_check(projected_gradient(conv, {1, 2, 2, 2}, {1, 2, 4, 3}),
                                           {Tensor::randn({1, 2, 4, 3}, Float64), Tensor::randn({2, 1, 3, 3}, Float64)});
  EXPECT_TRUE(c.ok) << c;
}

}  // namespace
