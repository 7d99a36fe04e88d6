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
  DZ_THROW(
      "cuda: this build has the CUDA runtime (cuda::is_available() = {}) but no CUDA kernels yet; "
      "tensors can only live on the cpu",
      cuda::is_available());
#else
  DZ_THROW("cuda: dezero was built without CUDA; reconfigure with -DDEZERO_USE_CUDA=ON");
#endif
}

#ifndef DEZERO_WITH_CUDA
namespace cuda {
bool is_available() { return false; }
int device_count() { return 0; }
bool is_built() { return false; }
}  // namespace cuda
#endif

}  // namespace dezero
