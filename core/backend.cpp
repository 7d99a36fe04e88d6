#include "core/backend.h"

#include "core/cuda.h"
#include "core/error.h"

namespace dezero {
namespace {
Backend* g_override[2] = {nullptr, nullptr};  // indexed by Device
}  // namespace

BackendOverrideGuard::BackendOverrideGuard(Device device, Backend& backend)
    : device_(device), previous_(g_override[static_cast<int>(device)]) {
  g_override[static_cast<int>(device)] = &backend;
}

BackendOverrideGuard::~BackendOverrideGuard() { g_override[static_cast<int>(device_)] = previous_; }

Backend& backend_for(Device device) {
  if (Backend* b = g_override[static_cast<int>(device)]) return *b;
  if (device == Device::CPU) return cpu_backend();
#ifdef DEZERO_WITH_CUDA
  DZ_CHECK(cuda::is_available(), "cuda: no CUDA device is available (cuda::device_count() = 0); "
           "tensors can only live on the cpu here");
  return cuda_backend();
#else
  DZ_THROW("cuda: dezero was built without CUDA; reconfigure with -DDEZERO_USE_CUDA=ON");
#endif
}

#ifndef DEZERO_WITH_CUDA
namespace cuda {
bool is_available() { return false; }
int device_count() { return 0; }
bool is_built() { return false; }
MemoryStats memory_stats() { return {}; }
void empty_cache() {}
void synchronize() {}
}  // namespace cuda
#endif

}  // namespace dezero
