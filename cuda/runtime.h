#pragma once
// The CUDA backend's shared state: one stream, one cuBLAS handle, the caching allocator, and
// the launch shape of the grid-stride kernels. Internal to cuda/.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "dezero/core/backend.h"
#include "dezero/core/memory.h"
#include "dezero/cuda/kernels.h"

namespace dezero::cuda {

/// Usable GPUs (0 without a driver or a GPU; counted once, never throws).
int visible_device_count();
/// visible_device_count() > 0.
bool has_device();
/// Waits for the stream (no-op without a GPU).
void synchronize_stream();
/// Returns the caching allocator's free blocks to the driver (no-op without a GPU).
void empty_allocator_cache();
/// The caching allocator's statistics (zero without a GPU).
MemoryStats allocator_stats();
/// The stream every kernel, copy and cuBLAS call of dezero runs on (created on first use).
cudaStream_t stream();
/// The cuBLAS handle, bound to stream().
cublasHandle_t cublas();
/// Device memory from the caching allocator; returned to its cache when the last handle goes.
std::shared_ptr<void> allocate(size_t bytes);
/// The CUDA backend (cuda_backend.cpp; kernels in elementwise.cu and cuda_conv.cu).
Backend& backend();
/// C (+)= op(A) op(B) for each entry of spec, through cuBLAS (cuda_gemm.cpp).
void gemm(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& spec);

/// A device copy of host int64 offsets (gather, scatter_add, batched GEMM pointer arrays).
std::shared_ptr<void> to_device(const void* host, size_t bytes);

/// Convolutions through batch-wide columns (conv_columns.cpp): one GEMM per group and chunk of
/// samples; the Backend's optional conv hooks. Each returns true (it handles every geometry).
bool conv2d_batch_wide(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                       Tensor& y);
/// conv2d's input gradient (and the transposed conv): y = col2im(W_g^T . x_g) + b.
bool deconv2d_batch_wide(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                         Tensor& y);
/// conv2d's weight gradient: gW_g = sum over the batch of gy_g . columns(x)_g^T.
bool conv2d_grad_w_batch_wide(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups, Tensor& gW);

/// A convolution's geometry as the kernels take it.
inline kernels::Geo geo(const Conv2dGeometry& g) {
  return {g.N, g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, g.OH, g.OW};
}

}  // namespace dezero::cuda
