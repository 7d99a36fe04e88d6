// Finds and loads the CUDA backend (libdezero_cuda.so) on the first question about CUDA, and
// answers core/cuda.h through it. The module is looked for where DEZERO_CUDA_MODULE points, else
// beside libdezero itself, else on the loader's search path. A build without CUDA, a missing
// module or one that cannot load (no libcublas, say) all mean "no CUDA device"; the reason is
// kept for the error of the first tensor sent to the GPU.

#include "dezero/core/cuda_module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "dezero/core/backend.h"
#include "dezero/core/cuda.h"
#include "dezero/core/error.h"

namespace dezero {
namespace {

struct Loaded {
  const CudaModule* module = nullptr;  // null: not loadable, see why
  std::string why;
};

#ifdef DEZERO_CUDA_MODULE_FILE
// The directory holding this library (libdezero.so), or "" when it cannot be told.
std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cuda::is_built), &info) == 0 || info.dli_fname == nullptr) return {};
  return std::filesystem::path(info.dli_fname).parent_path().string();
}

Loaded load_module() {
  std::string path = DEZERO_CUDA_MODULE_FILE;
  if (const char* env = std::getenv("DEZERO_CUDA_MODULE"); env != nullptr && *env != '\0') {
    path = env;
  } else if (const std::string dir = own_directory(); !dir.empty()) {
    const std::filesystem::path beside = std::filesystem::path(dir) / DEZERO_CUDA_MODULE_FILE;
    std::error_code ec;
    if (std::filesystem::exists(beside, ec)) path = beside.string();
  }
  // Never closed: the backend's allocator and tensors may outlive every other object.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return {nullptr, fmt::format("the CUDA backend {} could not be loaded: {}", path, dlerror())};
  using Entry = const CudaModule* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, DEZERO_CUDA_MODULE_ENTRY));
  if (entry == nullptr) return {nullptr, fmt::format("{} has no {} entry point", path, DEZERO_CUDA_MODULE_ENTRY)};
  const CudaModule* module = entry();
  if (module == nullptr || module->abi != kCudaModuleAbi)
    return {nullptr, fmt::format("{} was built for another dezero (module ABI {}, this library's {})", path,
                                 module == nullptr ? 0 : module->abi, kCudaModuleAbi)};
  return {module, {}};
}
#else
Loaded load_module() { return {nullptr, "dezero was built without CUDA; reconfigure with -DDEZERO_USE_CUDA=ON"}; }
#endif

const Loaded& loaded() {
  static std::once_flag once;
  static Loaded result;
  std::call_once(once, [] { result = load_module(); });
  return result;
}

const CudaModule* module_with_device() {
  const CudaModule* m = loaded().module;
  return m != nullptr && m->device_count() > 0 ? m : nullptr;
}

}  // namespace

Backend& cuda_backend() {
  const Loaded& l = loaded();
  if (l.module == nullptr) DZ_THROW("cuda: {}; tensors can only live on the cpu here", l.why);
  DZ_CHECK(l.module->device_count() > 0,
           "cuda: no CUDA device is available (cuda::device_count() = 0); tensors can only live on the cpu here");
  return *l.module->backend();
}

namespace cuda {

bool is_built() {
#ifdef DEZERO_CUDA_MODULE_FILE
  return true;
#else
  return false;
#endif
}

bool is_loaded() { return loaded().module != nullptr; }

std::string load_error() { return loaded().why; }

int device_count() {
  const CudaModule* m = loaded().module;
  return m == nullptr ? 0 : m->device_count();
}

bool is_available() { return device_count() > 0; }

MemoryStats memory_stats() {
  const CudaModule* m = module_with_device();
  return m == nullptr ? MemoryStats{} : m->memory_stats();
}

void empty_cache() {
  if (const CudaModule* m = module_with_device()) m->empty_cache();
}

void synchronize() {
  if (const CudaModule* m = module_with_device()) m->synchronize();
}

}  // namespace cuda
}  // namespace dezero
