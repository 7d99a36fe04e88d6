#pragma once
// The CUDA backend's shared state: one stream, one cuBLAS handle, the caching allocator, and
// the launch shape of the grid-stride kernels. Internal to cuda/.

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "core/backend.h"

namespace dezero::cuda {

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

}  // namespace dezero::cuda
