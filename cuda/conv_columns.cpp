// Convolutions on the GPU through batch-wide columns. Per-sample columns (N, C KH KW, L) make a
// conv N G small GEMMs, and its weight gradient a sum over N products; laid out batch-wide,
// (C KH KW, N L) with every sample's positions in each row, the whole chunk is one GEMM per
// group (one strided-batched cuBLAS call), with the depth of the weight gradient N L long:
//   forward      Y (OC, N L) = W_g (OCg, K) . col_g (K, N L), then y (N, OC, L) = swap(Y) + b
//   input grad   col_g (K, N L) = W_g^T . swap(gy)_g (OCg, N L), then col2im
//   weight grad  gW_g (OCg, K) += swap(gy)_g (OCg, N L) . col_g^T
// where swap exchanges the two leading axes of (N, OC, L). Chunks of samples keep the columns
// under the CUDA workspace limit (set_conv_workspace_limit(bytes, Device::CUDA)).
// With stride 1 the input gradient (a transposed conv) is itself a conv: of gy, with the weights
// flipped in space and transposed, and pad D (K - 1) - P. That GEMM is OC/G KH KW deep instead of
// OC/G (cuBLAS ran the shallow one at a quarter occupancy) and needs no col2im; its columns have
// OC KH KW rows against col2im's C KH KW, so it is taken when OC <= C (on the H200: 56x56x64
// 0.39 -> 0.27 ms, 28x28x128 groups 32 0.17 -> 0.13; layers that widen, 1 -> 32 and 32 -> 64,
// were 1.3-1.9x slower that way).

#include <algorithm>

#include "dezero/cuda/cuda_check.h"
#include "dezero/cuda/runtime.h"

namespace dezero::cuda {
namespace {

// Samples per chunk: the columns of a chunk stay under the CUDA workspace limit, and the rows of
// the column and swap kernels' grids (chunk C KH KW, chunk channels) under their 32-bit bound,
// whatever limit a user sets.
int64_t chunk_samples(const Conv2dGeometry& g, DType dtype, int64_t wide_channels) {
  const size_t per_sample = static_cast<size_t>(g.col_rows() * g.col_cols()) * dtype_size(dtype);
  const int64_t fit = static_cast<int64_t>(conv_workspace_limit(Device::CUDA) / std::max<size_t>(per_sample, 1));
  const int64_t rows = std::max<int64_t>({g.col_rows(), wide_channels, 1});
  return std::clamp<int64_t>(std::min(fit, ((int64_t{1} << 30) - 1) / rows), 1, std::max<int64_t>(g.N, 1));
}

// The element at `offset` of t, as a raw device pointer.
void* at(const Tensor& t, int64_t offset) {
  return static_cast<char*>(t.raw_data()) + offset * static_cast<int64_t>(dtype_size(t.dtype()));
}

// The buffers of one product over the batch, chunk by chunk: the chunk's columns and a
// (channels, chunk L) matrix, the swapped y or gy.
struct Chunks {
  int64_t samples, L;
  Tensor col, wide;
  Chunks(const Conv2dGeometry& g, DType dtype, int64_t wide_channels)
      : samples(chunk_samples(g, dtype, wide_channels)),
        L(g.col_cols()),
        col(Tensor::empty({g.col_rows() * samples * L}, dtype, Device::CUDA)),
        wide(Tensor::empty({wide_channels * samples * L}, dtype, Device::CUDA)) {}
  /// fn(n0, n1, M): samples [n0, n1), M = (n1 - n0) L columns.
  template <class Fn>
  void each(int64_t N, Fn&& fn) {
    for (int64_t n0 = 0; n0 < N; n0 += samples) {
      const int64_t n1 = std::min(N, n0 + samples);
      fn(n0, n1, (n1 - n0) * L);
    }
  }
};

// One entry per group: C_g = op(A_g) op(B_g), the groups' blocks evenly spaced.
GemmSpec per_group(GemmSpec spec, int64_t groups, int64_t a_step, int64_t b_step, int64_t c_step) {
  for (int64_t gi = 0; gi < groups; ++gi) {
    spec.a_offsets.push_back(gi * a_step);
    spec.b_offsets.push_back(gi * b_step);
    spec.c_offsets.push_back(gi * c_step);
  }
  return spec;
}

}  // namespace

bool conv2d_batch_wide(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                       Tensor& y) {
  const DType dt = x.dtype();
  const int64_t OC = W.size(0), OCg = OC / groups, K = g.col_rows() / groups, L = g.col_cols();
  Chunks c(g, dt, OC);
  c.each(g.N, [&](int64_t n0, int64_t n1, int64_t M) {
    DZ_CUDA_CHECK(kernels::im2col(dt, x.raw_data(), c.col.raw_data(), n0, n1, geo(g), true, stream()));
    gemm(W, c.col, c.wide, per_group({OCg, M, K, false, false, 1.0, 0.0, {}, {}, {}}, groups, OCg * K, K * M, OCg * M));
    DZ_CUDA_CHECK(kernels::swap_leading(dt, c.wide.raw_data(), at(y, n0 * OC * L), OC, n1 - n0, L,
                                        b.defined() ? b.raw_data() : nullptr, stream()));
  });
  return true;
}

bool deconv2d_batch_wide(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                         Tensor& y) {
  const DType dt = x.dtype();
  const int64_t Cin = x.size(1), Cg = Cin / groups, K = g.col_rows() / groups, L = g.col_cols();
  const int64_t PH = g.DH * (g.KH - 1) - g.PH, PW = g.DW * (g.KW - 1) - g.PW;
  if (g.SH == 1 && g.SW == 1 && PH >= 0 && PW >= 0 && Cin <= g.C) {
    const Conv2dGeometry as_conv =
        conv2d_geometry({g.N, Cin, g.OH, g.OW}, {g.KH, g.KW}, 1, {PH, PW}, {g.DH, g.DW}, "deconv2d");
    if (as_conv.OH == g.H && as_conv.OW == g.W) {
      Tensor flipped = Tensor::empty({g.C, Cg, g.KH, g.KW}, dt, Device::CUDA);
      DZ_CUDA_CHECK(kernels::flip_transposed_weights(dt, W.raw_data(), flipped.raw_data(), Cin, g.C / groups, g.KH,
                                                     g.KW, groups, stream()));
      return conv2d_batch_wide(x, flipped, b, as_conv, groups, y);
    }
  }
  Chunks c(g, dt, Cin);
  c.each(g.N, [&](int64_t n0, int64_t n1, int64_t M) {
    DZ_CUDA_CHECK(kernels::swap_leading(dt, at(x, n0 * Cin * L), c.wide.raw_data(), n1 - n0, Cin, L, nullptr, stream()));
    gemm(W, c.wide, c.col, per_group({K, M, Cg, true, false, 1.0, 0.0, {}, {}, {}}, groups, Cg * K, Cg * M, K * M));
    DZ_CUDA_CHECK(kernels::col2im(dt, c.col.raw_data(), y.raw_data(), b.defined() ? b.raw_data() : nullptr, n0, n1,
                                  geo(g), true, stream()));
  });
  return true;
}

bool conv2d_grad_w_batch_wide(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups, Tensor& gW) {
  const DType dt = x.dtype();
  const int64_t OC = gy.size(1), OCg = OC / groups, K = g.col_rows() / groups, L = g.col_cols();
  Chunks c(g, dt, OC);
  c.each(g.N, [&](int64_t n0, int64_t n1, int64_t M) {
    DZ_CUDA_CHECK(kernels::im2col(dt, x.raw_data(), c.col.raw_data(), n0, n1, geo(g), true, stream()));
    DZ_CUDA_CHECK(kernels::swap_leading(dt, at(gy, n0 * OC * L), c.wide.raw_data(), n1 - n0, OC, L, nullptr, stream()));
    const double beta = n0 == 0 ? 0.0 : 1.0;  // later chunks accumulate
    gemm(c.wide, c.col, gW, per_group({OCg, K, M, false, true, 1.0, beta, {}, {}, {}}, groups, OCg * M, K * M, OCg * K));
  });
  return true;
}

}  // namespace dezero::cuda
