// The one symbol libdezero_cuda.so exports for the core: its entry points (core/cuda_module.h).

#include "dezero/core/cuda_module.h"
#include "dezero/cuda/runtime.h"

extern "C" __attribute__((visibility("default"))) const dezero::CudaModule* dezero_cuda_module() {
  namespace cuda = dezero::cuda;
  static const dezero::CudaModule module{
      .abi = dezero::kCudaModuleAbi,
      .device_count = cuda::visible_device_count,
      .backend = [] { return &cuda::backend(); },
      .memory_stats = cuda::allocator_stats,
      .empty_cache = cuda::empty_allocator_cache,
      .synchronize = cuda::synchronize_stream,
  };
  return &module;
}
