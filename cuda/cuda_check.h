#pragma once
// DZ_CUDA_CHECK / DZ_CUBLAS_CHECK: every CUDA and cuBLAS call is checked; failures become a
// dezero::Error naming the expression, the CUDA message and file:line. Included only by cuda/.

#include <cuda_runtime.h>

#include "core/error.h"

/// Throws dezero::Error when a CUDA runtime call fails.
#define DZ_CUDA_CHECK(expr)                                                              \
  do {                                                                                   \
    const cudaError_t dz_err_ = (expr);                                                  \
    if (dz_err_ != cudaSuccess)                                                          \
      ::dezero::detail::throw_error(                                                     \
          fmt::format("cuda: {} failed: {}", #expr, cudaGetErrorString(dz_err_)), __FILE__, \
          __LINE__);                                                                     \
  } while (0)
