#pragma once
// The contract between the core (libdezero) and its CUDA backend, a shared library of its own
// (libdezero_cuda.so, built from cuda/) that the core loads on the first question about CUDA.
// A CPU program therefore links no CUDA library, even against a CUDA-enabled install
// (docs/DESIGN-NOTES.md, "Packaging"). Internal: users ask through core/cuda.h.

#include "dezero/core/memory.h"

namespace dezero {

class Backend;

/// The version of CudaModule; the core refuses a libdezero_cuda.so built for another one.
inline constexpr int kCudaModuleAbi = 1;

/// What libdezero_cuda.so hands the core: its entry points, each safe to call without a GPU.
struct CudaModule {
  int abi = 0;                           ///< kCudaModuleAbi of the module's build
  int (*device_count)() = nullptr;       ///< usable GPUs (0 without a driver or a GPU)
  Backend* (*backend)() = nullptr;       ///< the CUDA backend (call only when device_count() > 0)
  MemoryStats (*memory_stats)() = nullptr;  ///< the caching device allocator's statistics
  void (*empty_cache)() = nullptr;       ///< returns the allocator's free blocks to the driver
  void (*synchronize)() = nullptr;       ///< waits for every queued kernel and copy
};

}  // namespace dezero

/// The name the core looks up in libdezero_cuda.so.
#define DEZERO_CUDA_MODULE_ENTRY "dezero_cuda_module"
