// Tensor-level convolution: validation, the chunked column workspace, and the grouped GEMMs.
// Groups need no split or concat: in the (N, C*KH*KW, OH*OW) column layout, group g of sample n
// is the contiguous row block [g K, (g + 1) K), K = C/G*KH*KW, and W_g is the contiguous block
// of OC/G filters, so y[n, g] = W_g (OCg x K) . col[n, g] (K x OH*OW): N*G GEMMs of one shape.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "dezero/core/backend.h"
#include "dezero/core/conv.h"
#include "dezero/core/error.h"
#include "dezero/core/ops.h"

namespace dezero {
namespace {

std::atomic<size_t> g_workspace_limit[2] = {size_t{2} << 20, size_t{256} << 20};  // CPU, CUDA

// One cached buffer per calling thread, device and dtype, grown on demand and reused by every
// conv of that thread (convs running concurrently on several user threads must not share one).
Tensor workspace(int64_t numel, DType dtype, Device device) {
  static thread_local Tensor cache[2][2];
  Tensor& t = cache[static_cast<int>(device)][static_cast<int>(dtype)];
  if (!t.defined() || t.numel() < numel) {
    t = Tensor();  // free the old buffer first
    t = Tensor::empty({numel}, dtype, device);
  }
  return t;
}

// Samples per chunk so that `per_sample` column elements per sample stay under the device's limit.
int64_t chunk_size(int64_t N, int64_t per_sample, DType dtype, Device device) {
  const size_t bytes = static_cast<size_t>(per_sample) * dtype_size(dtype), limit = conv_workspace_limit(device);
  const int64_t fit = static_cast<int64_t>(limit / std::max<size_t>(bytes, 1));
  if (fit < 1) {
    static std::atomic<bool> logged{false};
    if (!logged.exchange(true))
      spdlog::debug("conv: one sample's columns ({} bytes) exceed the workspace limit ({} bytes)", bytes, limit);
  }
  return std::clamp<int64_t>(fit, 1, std::max<int64_t>(N, 1));
}

// groups = C = OC: one filter per channel, computed directly (GEMMs of one row are all overhead).
bool is_depthwise(const Conv2dGeometry& g, int64_t groups, int64_t out_channels) {
  return groups == g.C && out_channels == g.C && groups > 1;
}

// Runs fn(n0, n1, col, offset) over the batch in chunks, with the columns of samples [n0, n1)
// in col (the input itself for a pointwise conv); offset(n, gi) is where group gi of sample n
// starts in col.
template <class Fn>
void for_each_column_chunk(const Tensor& x, const Conv2dGeometry& g, int64_t G, Fn&& fn) {
  Backend& be = backend_for(x.device());
  const int64_t group_size = g.col_rows() / G * g.col_cols(), per_sample = g.col_rows() * g.col_cols();
  const bool pointwise = g.pointwise();
  const int64_t chunk = pointwise ? g.N : chunk_size(g.N, per_sample, x.dtype(), x.device());
  Tensor col = pointwise ? x : workspace(chunk * per_sample, x.dtype(), x.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n1 = std::min(g.N, n0 + chunk);
    if (!pointwise) be.im2col(x, g, n0, n1, col);
    auto offset = [&](int64_t n, int64_t gi) { return ((pointwise ? n : n - n0) * G + gi) * group_size; };
    fn(n0, n1, col, offset);
  }
}

void check_groups(const Shape& x, const Shape& W, int64_t groups, int64_t in_per_group, const char* op) {
  DZ_CHECK(groups >= 1, "{}: groups must be positive; got {}", op, groups);
  DZ_CHECK(W.size() == 4, "{}: weight must be 4-d; got {}", op, to_string(W));
  DZ_CHECK(x[1] % groups == 0, "{}: input channels {} of x {} are not divisible by groups {}", op,
           x[1], to_string(x), groups);
  DZ_CHECK(W[1] == in_per_group, "{}: weight {} does not match x {} with groups {}", op,
           to_string(W), to_string(x), groups);
}

void check_bias(const Tensor& b, const Tensor& x, int64_t channels, const char* op) {
  if (!b.defined()) return;
  DZ_CHECK(b.ndim() == 1 && b.size(0) == channels, "{}: bias must be ({},); got {}", op, channels,
           to_string(b.shape()));
  ops::check_compatible(x, b, op);
}

// y += b per channel; b was checked by the caller (check_bias).
void add_bias(Tensor& y, const Tensor& b) {
  if (!b.defined()) return;
  backend_for(y.device()).binary(BinaryOp::Add, y, b.reshape({1, y.size(1), 1, 1}), y);
}

}  // namespace

void set_conv_workspace_limit(size_t bytes, Device device) { g_workspace_limit[static_cast<int>(device)] = bytes; }
size_t conv_workspace_limit(Device device) { return g_workspace_limit[static_cast<int>(device)]; }

int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  return (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

int64_t deconv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                           int64_t dilation, int64_t output_padding) {
  return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1;
}

Conv2dGeometry conv2d_geometry(const Shape& x, Pair k, Pair s, Pair p, Pair d, const char* op) {
  DZ_CHECK(x.size() == 4, "{}: x must be (N, C, H, W); got {}", op, to_string(x));
  DZ_CHECK(k.h >= 1 && k.w >= 1, "{}: kernel must be positive; got ({}, {})", op, k.h, k.w);
  DZ_CHECK(s.h >= 1 && s.w >= 1, "{}: stride must be positive; got ({}, {})", op, s.h, s.w);
  DZ_CHECK(d.h >= 1 && d.w >= 1, "{}: dilation must be positive; got ({}, {})", op, d.h, d.w);
  DZ_CHECK(p.h >= 0 && p.w >= 0, "{}: pad must be non-negative; got ({}, {})", op, p.h, p.w);
  const int64_t eh = d.h * (k.h - 1) + 1, ew = d.w * (k.w - 1) + 1;
  DZ_CHECK(eh <= x[2] + 2 * p.h && ew <= x[3] + 2 * p.w,
           "{}: kernel ({}, {}) with dilation ({}, {}) is larger than the padded input {} with pad ({}, {})",
           op, k.h, k.w, d.h, d.w, to_string(x), p.h, p.w);
  Conv2dGeometry g{x[0], x[1], x[2], x[3], k.h, k.w, s.h, s.w, p.h, p.w, d.h, d.w, 0, 0};
  g.OH = conv_output_size(g.H, g.KH, g.SH, g.PH, g.DH);
  g.OW = conv_output_size(g.W, g.KW, g.SW, g.PW, g.DW);
  return g;
}

int64_t pool_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         bool ceil_mode) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;  // >= 0: the kernel fits
  if (!ceil_mode) return span / stride + 1;
  int64_t out = (span + stride - 1) / stride + 1;
  if ((out - 1) * stride >= size + pad) --out;
  return out;
}

Conv2dGeometry pool2d_geometry(const Shape& x, Pair k, Pair s, Pair p, Pair d, bool ceil_mode, const char* op) {
  Conv2dGeometry g = conv2d_geometry(x, k, s, p, d, op);
  g.OH = pool_output_size(g.H, g.KH, g.SH, g.PH, g.DH, ceil_mode);
  g.OW = pool_output_size(g.W, g.KW, g.SW, g.PW, g.DW, ceil_mode);
  return g;
}

namespace {

// The first output index along one axis whose window (out * stride - pad + k * dilation,
// k < kernel) misses [0, size), or -1 when every window reaches the input.
int64_t first_window_in_padding(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                                int64_t dilation) {
  for (int64_t o = 0; o < out; ++o) {
    bool reaches = false;
    for (int64_t k = 0; k < kernel && !reaches; ++k) {
      const int64_t i = o * stride - pad + k * dilation;
      reaches = i >= 0 && i < size;
    }
    if (!reaches) return o;
  }
  return -1;
}

}  // namespace

void check_windows_reach_input(const Conv2dGeometry& g, const char* op) {
  const int64_t row = first_window_in_padding(g.OH, g.H, g.KH, g.SH, g.PH, g.DH);
  const int64_t column = first_window_in_padding(g.OW, g.W, g.KW, g.SW, g.PW, g.DW);
  DZ_CHECK(row < 0 && column < 0,
           "{}: the window of output {} {} lies wholly in the padding of x ({}, {}, {}, {}) with kernel ({}, {}), "
           "stride ({}, {}), pad ({}, {}), dilation ({}, {}); every window must cover an input element (use less "
           "padding or dilation)",
           op, row >= 0 ? "row" : "column", row >= 0 ? row : column, g.N, g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW,
           g.PH, g.PW, g.DH, g.DW);
}

namespace ops {

Tensor im2col(const Tensor& x, const Conv2dGeometry& g) {
  DZ_CHECK(x.shape() == Shape({g.N, g.C, g.H, g.W}), "im2col: x {} does not match the geometry",
           to_string(x.shape()));
  Tensor col = Tensor::empty({g.N, g.col_rows(), g.col_cols()}, x.dtype(), x.device());
  backend_for(x.device()).im2col(x, g, 0, g.N, col);
  return col;
}

Tensor col2im(const Tensor& col, const Conv2dGeometry& g) {
  DZ_CHECK(col.shape() == Shape({g.N, g.col_rows(), g.col_cols()}),
           "col2im: columns {} do not match ({}, {}, {}) for image ({}, {}, {}, {})",
           to_string(col.shape()), g.N, g.col_rows(), g.col_cols(), g.N, g.C, g.H, g.W);
  Tensor x = Tensor::empty({g.N, g.C, g.H, g.W}, col.dtype(), col.device());
  backend_for(col.device()).col2im(col, g, 0, g.N, x);
  return x;
}

Tensor conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t G) {
  check_compatible(x, W, "conv2d");
  check_groups(x.shape(), W.shape(), G, g.C / std::max<int64_t>(G, 1), "conv2d");
  const int64_t OC = W.size(0);
  DZ_CHECK(OC % G == 0, "conv2d: output channels {} of weight {} are not divisible by groups {}", OC,
           to_string(W.shape()), G);
  DZ_CHECK(W.size(2) == g.KH && W.size(3) == g.KW, "conv2d: weight {} does not match kernel ({}, {})",
           to_string(W.shape()), g.KH, g.KW);
  check_bias(b, x, OC, "conv2d");
  Tensor y = Tensor::empty({g.N, OC, g.OH, g.OW}, x.dtype(), x.device());
  Backend& be = backend_for(x.device());
  if (is_depthwise(g, G, OC)) {  // the bias is the accumulators' initial value
    be.depthwise_conv2d(x, W, b, g, y);
    return y;
  }
  const int64_t K = g.col_rows() / G, L = g.col_cols(), OCg = OC / G;
  if (be.try_conv2d(x, W, b, g, G, y)) return y;
  for_each_column_chunk(x, g, G, [&](int64_t n0, int64_t n1, const Tensor& col, auto col_offset) {
    GemmSpec spec{OCg, L, K, false, false, 1.0, 0.0, {}, {}, {}};
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t gi = 0; gi < G; ++gi) {
        spec.a_offsets.push_back(gi * OCg * K);
        spec.b_offsets.push_back(col_offset(n, gi));
        spec.c_offsets.push_back((n * OC + gi * OCg) * L);
      }
    be.gemm(W, col, y, spec);
  });
  add_bias(y, b);
  return y;
}

Tensor conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t G,
                     int64_t OC) {
  check_compatible(x, gy, "conv2d_grad_w");
  DZ_CHECK(gy.shape() == Shape({g.N, OC, g.OH, g.OW}), "conv2d_grad_w: gy {} does not match ({}, {}, {}, {})",
           to_string(gy.shape()), g.N, OC, g.OH, g.OW);
  // An empty batch sums nothing: every kernel below may assume a sample to read.
  if (g.N == 0) return Tensor::zeros({OC, g.C / G, g.KH, g.KW}, x.dtype(), x.device());
  if (is_depthwise(g, G, OC)) {
    Tensor gW = Tensor::empty({OC, 1, g.KH, g.KW}, x.dtype(), x.device());
    backend_for(x.device()).depthwise_conv2d_grad_w(x, gy, g, gW);
    return gW;
  }
  const int64_t K = g.col_rows() / G, L = g.col_cols(), OCg = OC / G;
  Backend& be = backend_for(x.device());
  Tensor gW = Tensor::empty({OC, g.C / G, g.KH, g.KW}, x.dtype(), x.device());
  if (be.try_conv2d_grad_w(x, gy, g, G, gW)) return gW;
  // Samples accumulate into kPartials buffers (sample n into n % kPartials, in order), summed at
  // the end: the GEMMs of different buffers run concurrently, and the result does not depend
  // on the number of threads.
  constexpr int64_t kPartials = 8;
  const int64_t partials = std::min(kPartials, std::max<int64_t>(g.N, 1));
  const int64_t w_numel = OC * K;
  Tensor acc = Tensor::zeros({partials, OC, g.C / G, g.KH, g.KW}, x.dtype(), x.device());
  for_each_column_chunk(x, g, G, [&](int64_t n0, int64_t n1, const Tensor& col, auto col_offset) {
    // gW_g += gy[n, g] (OCg x L) . col[n, g]^T (L x K)
    GemmSpec spec{OCg, K, L, false, true, 1.0, 1.0, {}, {}, {}};
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t gi = 0; gi < G; ++gi) {
        spec.a_offsets.push_back((n * OC + gi * OCg) * L);
        spec.b_offsets.push_back(col_offset(n, gi));
        spec.c_offsets.push_back((n % partials) * w_numel + gi * OCg * K);
      }
    be.gemm(gy, col, acc, spec);
  });
  return partials == 1 ? acc.reshape({OC, g.C / G, g.KH, g.KW}) : sum(acc, {0});
}

Tensor deconv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t G) {
  check_compatible(x, W, "deconv2d");
  DZ_CHECK(x.ndim() == 4 && x.size(0) == g.N && x.size(2) == g.OH && x.size(3) == g.OW,
           "deconv2d: x {} does not match the geometry", to_string(x.shape()));
  DZ_CHECK(G >= 1 && x.size(1) % G == 0, "deconv2d: input channels of x {} are not divisible by groups {}",
           to_string(x.shape()), G);
  DZ_CHECK(W.ndim() == 4 && W.size(0) == x.size(1) && W.size(1) * G == g.C && W.size(2) == g.KH &&
               W.size(3) == g.KW,
           "deconv2d: weight {} does not match x {} (expected ({}, {}, {}, {}))", to_string(W.shape()),
           to_string(x.shape()), x.size(1), g.C / G, g.KH, g.KW);
  const int64_t Cin = x.size(1), Cg = Cin / G, L = g.col_cols(), Kp = g.col_rows() / G;
  const int64_t per_sample = g.col_rows() * L;
  check_bias(b, x, g.C, "deconv2d");
  Tensor y = Tensor::empty({g.N, g.C, g.H, g.W}, x.dtype(), x.device());
  Backend& be = backend_for(x.device());
  if (is_depthwise(g, G, Cin)) {
    be.depthwise_conv2d_grad_x(x, W, g, y);
    add_bias(y, b);
    return y;
  }
  if (be.try_deconv2d(x, W, b, g, G, y)) return y;
  const int64_t chunk = chunk_size(g.N, per_sample, x.dtype(), x.device());
  Tensor col = workspace(chunk * per_sample, x.dtype(), x.device());
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t n1 = std::min(g.N, n0 + chunk);
    // col[n, g] (K' x L) = W_g^T (K' x Cg) . x[n, g] (Cg x L), K' = OC/G*KH*KW.
    GemmSpec spec{Kp, L, Cg, true, false, 1.0, 0.0, {}, {}, {}};
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t gi = 0; gi < G; ++gi) {
        spec.a_offsets.push_back(gi * Cg * Kp);
        spec.b_offsets.push_back((n * Cin + gi * Cg) * L);
        spec.c_offsets.push_back(((n - n0) * G + gi) * Kp * L);
      }
    be.gemm(W, x, col, spec);
    be.col2im(col, g, n0, n1, y);
  }
  add_bias(y, b);
  return y;
}

Tensor max_pool2d(const Tensor& x, const Conv2dGeometry& g, ResolvedIndex& index) {
  DZ_CHECK(x.shape() == Shape({g.N, g.C, g.H, g.W}), "max_pool2d: x {} does not match the geometry's ({}, {}, {}, {})",
           to_string(x.shape()), g.N, g.C, g.H, g.W);
  // On every device: a window with no input element would have no argmax to gather or scatter at.
  check_windows_reach_input(g, "max_pool2d");
  index = ResolvedIndex{};
  index.x_shape = x.shape();
  index.out_shape = {g.N, g.C, g.OH, g.OW};
  // Each (n, c) plane's maxima lie in that plane (a scatter-add may take whole planes per
  // thread); windows that cannot overlap select each input at most once.
  index.blocks = g.N * g.C;
  index.unique = g.SH >= g.DH * (g.KH - 1) + 1 && g.SW >= g.DW * (g.KW - 1) + 1;
  Tensor y = Tensor::empty(index.out_shape, x.dtype(), x.device());
  if (y.numel() > 0) backend_for(x.device()).max_pool2d(x, g, index, y);
  return y;
}

}  // namespace ops
}  // namespace dezero
