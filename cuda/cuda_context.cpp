// Device discovery that never throws (on a machine without a GPU or driver, cudaGetDeviceCount
// fails: that means "no GPU"), the stream and cuBLAS handle, and the caching allocator: freed
// blocks go to per-size free lists and are reused, so steady-state training makes no cudaMalloc
// or cudaFree calls. One stream orders every kernel, so a block freed by the host may be handed
// to the next kernel at once.

#include <cuda_runtime.h>

#include <limits>

#include "dezero/core/caching_allocator.h"
#include "dezero/cuda/cuda_check.h"
#include "dezero/cuda/runtime.h"

namespace dezero::cuda {

int visible_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error so later calls start clean
      return 0;
    }
    return n;
  }();
  return count;
}

bool has_device() { return visible_device_count() > 0; }

cudaStream_t stream() {
  static const cudaStream_t s = [] {
    DZ_CHECK(has_device(), "cuda: no CUDA device is available (cuda::device_count() = 0)");
    cudaStream_t created = nullptr;
    DZ_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking));
    return created;
  }();
  return s;
}

cublasHandle_t cublas() {
  static const cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    DZ_CUBLAS_CHECK(cublasCreate(&created));
    DZ_CUBLAS_CHECK(cublasSetStream(created, stream()));
    return created;
  }();
  return h;
}

void synchronize_stream() {
  if (has_device()) DZ_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

namespace {

// cudaMalloc, or nullptr when the device is out of memory (the allocator then empties its cache
// and retries); other errors throw.
void* device_block(size_t size) {
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return nullptr;
  }
  DZ_CUDA_CHECK(err);
  return p;
}

// Never destroyed: tensors freed during static destruction still find it. The cache is not
// capped: the device's memory is the process's to use; out of memory empties it and retries.
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator(
      "cuda", {.obtain = device_block, .release = [](void* p) { cudaFree(p); },
               .before_release = [] { cudaStreamSynchronize(stream()); }},  // no queued kernel may use them
      std::numeric_limits<size_t>::max());
  return *a;
}

}  // namespace

std::shared_ptr<void> allocate(size_t bytes) {
  DZ_CHECK(has_device(), "cuda: no CUDA device is available (cuda::device_count() = 0)");
  return allocator().allocate(bytes);
}

void empty_allocator_cache() {
  if (has_device()) allocator().empty_cache();
}

MemoryStats allocator_stats() { return has_device() ? allocator().stats() : MemoryStats{}; }

std::shared_ptr<void> to_device(const void* host, size_t bytes) {
  std::shared_ptr<void> d = allocate(bytes);
  if (bytes > 0) {
    DZ_CUDA_CHECK(cudaMemcpyAsync(d.get(), host, bytes, cudaMemcpyHostToDevice, stream()));
    DZ_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host buffer may go right after
  }
  return d;
}

}  // namespace dezero::cuda
