#pragma once
// DZ_CUDA_CHECK / DZ_CUBLAS_CHECK: every CUDA and cuBLAS call is checked; failures become a
// dezero::Error naming the expression, the CUDA message and file:line. Included only by the
// .cpp files of cuda/ (the .cu kernels return a cudaError_t instead: see kernels.h).

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "dezero/core/error.h"

/// Throws dezero::Error when a CUDA runtime call (or a kernel launcher) fails.
#define DZ_CUDA_CHECK(expr)                                                              \
  do {                                                                                   \
    const cudaError_t dz_err_ = (expr);                                                  \
    if (dz_err_ != cudaSuccess)                                                          \
      ::dezero::detail::throw_error(                                                     \
          fmt::format("cuda: {} failed: {}", #expr, cudaGetErrorString(dz_err_)), __FILE__, \
          __LINE__);                                                                     \
  } while (0)

/// Throws dezero::Error when a cuBLAS call fails.
#define DZ_CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                         \
    const cublasStatus_t dz_st_ = (expr);                                                      \
    if (dz_st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      ::dezero::detail::throw_error(                                                           \
          fmt::format("cublas: {} failed: {}", #expr, cublasGetStatusString(dz_st_)), __FILE__, \
          __LINE__);                                                                           \
  } while (0)
