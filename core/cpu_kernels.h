#pragma once
// Loop helpers shared by the CPU kernels (internal to the CPU backend): the OpenMP parallel loop,
// dtype dispatch, and coalescing of iteration dimensions.

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dezero/core/backend.h"
#include "dezero/core/conv.h"
#include "dezero/core/elementwise.h"
#include "dezero/core/tensor.h"

namespace dezero::cpu {

/// Below this many elements a loop runs on the calling thread: a parallel region costs ~µs.
inline constexpr int64_t kGrain = 32768;

/// Calls body(begin, end) over [0, n) split evenly across the pool (or inline when small).
template <class F>
inline void parallel_for(int64_t n, int64_t grain, F&& body) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain || omp_in_parallel() || omp_get_max_threads() == 1) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t max_chunks = (n + grain - 1) / grain;
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(omp_get_max_threads(), max_chunks)))
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

/// Runs f(T{}) with T = float or double according to dtype.
template <class F>
inline void dispatch(DType dtype, F&& f) {
  if (dtype == DType::Float32)
    f(float{});
  else
    f(double{});
}

/// One dimension of an iteration space: its size and the element stride of each operand.
struct Dim {
  int64_t size, sa, sb;
};

/// Merges adjacent dimensions that are contiguous for every operand; drops size-1 dimensions.
inline std::vector<Dim> coalesce(std::vector<Dim> dims) {
  std::vector<Dim> out;
  for (const Dim& d : dims) {
    if (d.size == 1) continue;
    if (!out.empty() && out.back().sa == d.sa * d.size && out.back().sb == d.sb * d.size) {
      out.back().size *= d.size;
      out.back().sa = d.sa;
      out.back().sb = d.sb;
    } else {
      out.push_back(d);
    }
  }
  return out;
}

/// Sum, max or min over the axes where out has size 1 and x does not (out keeps x's ndim).
void reduce(ReduceOp op, const Tensor& x, Tensor& out);
/// Index of the max (op Max) or min along axis, as values of x's dtype.
void arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out);
/// out = x with axes permuted (out.shape[i] = x.shape[axes[i]]).
void permute(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out);

/// The [lo, hi) range of output columns ow whose input column ow*SW - PW + kw*DW is inside [0, W).
inline void valid_columns(const Conv2dGeometry& g, int64_t kw, int64_t& lo, int64_t& hi) {
  const int64_t offset = kw * g.DW - g.PW;  // iw = ow * SW + offset
  lo = offset >= 0 ? 0 : (-offset + g.SW - 1) / g.SW;
  hi = g.W - offset <= 0 ? 0 : (g.W - offset - 1) / g.SW + 1;
  lo = std::min(lo, g.OW);
  hi = std::clamp(hi, lo, g.OW);
}

/// One product C = alpha op(A) op(B) + beta C of `spec` (offsets ignored), multithreaded when
/// called outside a parallel region: the packed AVX-512 kernel where it is faster, else Eigen.
template <class T>
void gemm_one(const T* a, const T* b, T* c, const GemmSpec& spec);

/// Sample-at-a-time convolution products (see Backend::conv2d_by_sample and its siblings).
bool conv2d_by_sample(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                      Tensor& y);
bool deconv2d_by_sample(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                        Tensor& y);
bool conv2d_grad_w_by_sample(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups, Tensor& gW);

/// 64-byte aligned storage; blocks of cpu_cached_block_min() bytes or more come from the cache.
std::shared_ptr<void> allocate(size_t bytes);
/// Output rows [begin, end) of a convolution's OH x OW grid (end < 0: through the last row).
struct OutputRows {
  int64_t begin = 0, end = -1;
};
/// im2col of samples [n0, n1), output rows `rows` only (columns (end - begin) OW wide), into the
/// start of col, whose rows are ld apart (0: dense).
void im2col(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col, int64_t ld = 0,
            OutputRows rows = {});
/// col2im of the start of col (laid out as im2col's) into samples [n0, n1) of x: all output rows
/// overwrite those samples; a part of the rows adds into them (the caller cleared them first).
void col2im(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x, int64_t ld = 0,
            OutputRows rows = {});
/// A convolution without columns where it applies and pays (float32, AVX-512, column stride 1,
/// output channels per group a multiple of 16; core/cpu_conv_direct.cpp); false otherwise.
bool conv2d_direct(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                   Tensor& y);
/// The transposed convolution (input gradient) the same way, when its stride is 1.
bool deconv2d_direct(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                     Tensor& y);
/// The weight gradient of a 3x3 conv the same way (output channels per group a multiple of 16).
bool conv2d_grad_w_direct(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups, Tensor& gW);
/// Direct depthwise convolution kernels (groups = C = OC): forward, input and weight gradients.
void depthwise_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, Tensor& y);
void depthwise_conv2d_grad_x(const Tensor& gy, const Tensor& W, const Conv2dGeometry& g, Tensor& gx);
void depthwise_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, Tensor& gW);
/// Each max-pooling window's maximum (y) and its flat offset in x.
void max_pool2d(const Tensor& x, const Conv2dGeometry& g, std::span<int64_t> offsets, Tensor& y);

}  // namespace dezero::cpu
