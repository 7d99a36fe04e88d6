#pragma once
// The CUDA kernels' launchers, on raw device pointers. This header (and the .cu files) include
// nothing that uses fmt: nvcc cannot compile fmt 9's headers in C++20 mode, so all error
// handling, Tensors and cuBLAS live in the .cpp files, which g++ compiles. Each launcher queues
// its kernel on `stream` and returns cudaGetLastError() (cudaSuccess when n == 0).

#include <cuda_runtime.h>

#include <cstdint>

#include "dezero/core/device.h"
#include "dezero/core/elementwise.h"

namespace dezero::cuda::kernels {

constexpr int kMaxDims = 8;

/// Row-major coordinates of an output index mapped to offsets in up to two inputs.
struct Indexer {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t sa[kMaxDims] = {};
  int64_t sb[kMaxDims] = {};
  DZ_HOST_DEVICE void offsets(int64_t i, int64_t& a, int64_t& b) const {
    a = 0;
    b = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t k = i % shape[d];
      i /= shape[d];
      a += k * sa[d];
      b += k * sb[d];
    }
  }
};

/// A convolution's geometry as plain numbers (Conv2dGeometry's fields).
struct Geo {
  int64_t N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW;
};

cudaError_t fill(DType t, void* p, int64_t n, double value, cudaStream_t s);
cudaError_t cast(DType from, DType to, const void* x, void* y, int64_t n, cudaStream_t s);
cudaError_t unary(UnaryOp op, DType t, const void* x, void* y, int64_t n, cudaStream_t s);
/// same: a, b and y have one shape (no broadcasting, ix unused).
cudaError_t binary(BinaryOp op, DType t, const void* a, const void* b, void* y, int64_t n, bool same,
                   const Indexer& ix, cudaStream_t s);
/// y = a x + b y in place (x may be y; a zero coefficient does not read its operand).
cudaError_t axpby(DType t, double a, const void* x, double b, void* y, int64_t n, cudaStream_t s);
/// How many parts reduce() splits each of n_out reductions of n_red elements into (1: one pass).
int64_t reduce_parts(int64_t n_out, int64_t n_red);
/// kept maps an output index to its base offset, reduced a reduced index to an offset (both .sa);
/// partials: room for n_out * reduce_parts(n_out, n_red) elements when that is above 1.
cudaError_t reduce(ReduceOp op, DType t, const void* x, void* y, int64_t n_out, int64_t n_red, const Indexer& kept,
                   const Indexer& reduced, void* partials, cudaStream_t s);
cudaError_t arg_reduce(ReduceOp op, DType t, const void* x, void* y, int64_t outer, int64_t A, int64_t inner,
                       cudaStream_t s);
/// ix.sa: the source strides of the output's axes.
cudaError_t permute(DType t, const void* x, void* y, int64_t n, const Indexer& ix, cudaStream_t s);
cudaError_t gather(DType t, const void* x, const int64_t* offsets, void* y, int64_t n, cudaStream_t s);
cudaError_t scatter_add(DType t, const void* src, const int64_t* offsets, void* out, int64_t n, cudaStream_t s);
/// Columns of samples [n0, n1): per sample (n1 - n0, C KH KW, OH OW), or batch-wide
/// (C KH KW, (n1 - n0) OH OW) — each row holding every sample's positions.
cudaError_t im2col(DType t, const void* x, void* col, int64_t n0, int64_t n1, const Geo& g, bool batch_wide,
                   cudaStream_t s);
/// Samples [n0, n1) of the image x (overwritten) from columns in either layout, + bias[c] (may be null).
cudaError_t col2im(DType t, const void* col, void* x, const void* bias, int64_t n0, int64_t n1, const Geo& g,
                   bool batch_wide, cudaStream_t s);
/// in (A, B, L) -> out (B, A, L), adding bias[a] (may be null).
cudaError_t swap_leading(DType t, const void* in, void* out, int64_t A, int64_t B, int64_t L, const void* bias,
                         cudaStream_t s);
cudaError_t depthwise_conv2d(DType t, const void* x, const void* W, const void* b, void* y, const Geo& g,
                             cudaStream_t s);
cudaError_t depthwise_conv2d_grad_x(DType t, const void* gy, const void* W, void* gx, const Geo& g, cudaStream_t s);
cudaError_t depthwise_conv2d_grad_w(DType t, const void* x, const void* gy, void* gW, const Geo& g, cudaStream_t s);
cudaError_t max_pool2d(DType t, const void* x, int64_t* offsets, void* y, const Geo& g, cudaStream_t s);
/// A transposed conv's weights W (Cin, Cg, KH, KW) with `groups` as the equivalent stride-1 conv's
/// (Cg groups, Cin / groups, KH, KW), flipped in space:
/// out[g Cg + co, ci, kh, kw] = W[g Cin/groups + ci, co, KH-1-kh, KW-1-kw].
cudaError_t flip_transposed_weights(DType t, const void* W, void* out, int64_t Cin, int64_t Cg, int64_t KH, int64_t KW,
                                    int64_t groups, cudaStream_t s);

}  // namespace dezero::cuda::kernels
