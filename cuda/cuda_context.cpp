// Device discovery that never throws (on a machine without a GPU or driver, cudaGetDeviceCount
// fails: that means "no GPU"), the stream and cuBLAS handle, and the caching allocator: freed
// blocks go to per-size free lists and are reused, so steady-state training makes no cudaMalloc
// or cudaFree calls. One stream orders every kernel, so a block freed by the host may be handed
// to the next kernel at once.

#include <cuda_runtime.h>

#include <map>
#include <mutex>

#include "core/cuda.h"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace dezero::cuda {

int device_count() {
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

bool is_available() { return device_count() > 0; }

bool is_built() { return true; }

cudaStream_t stream() {
  static const cudaStream_t s = [] {
    DZ_CHECK(is_available(), "cuda: no CUDA device is available (cuda::device_count() = 0)");
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

void synchronize() {
  if (is_available()) DZ_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

namespace {

// Sizes are rounded so that blocks are reusable across nearby requests: 512 B steps up to
// 1 MiB, 2 MiB steps above.
size_t rounded(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20;
  const size_t step = bytes <= (size_t{1} << 20) ? kSmall : kLarge;
  return std::max<size_t>(step, (bytes + step - 1) / step * step);
}

class CachingAllocator {
 public:
  std::shared_ptr<void> allocate(size_t bytes) {
    const size_t size = rounded(bytes);
    void* p = take_cached(size);
    if (!p) p = fresh(size);
    return std::shared_ptr<void>(p, [this, size](void* q) { give_back(q, size); });
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  void* take_cached(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it == free_.end()) return nullptr;
    void* p = it->second;
    free_.erase(it);
    note_allocated(size);
    ++stats_.cache_hits;
    return p;
  }

  void* fresh(size_t size) {
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {  // free what the cache holds and try once more
      cudaGetLastError();
      empty_cache();
      err = cudaMalloc(&p, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      const MemoryStats s = stats();
      DZ_THROW("cuda: out of memory allocating {} bytes ({} allocated by dezero, {} reserved): {}", size,
               s.allocated_bytes, s.reserved_bytes, cudaGetErrorString(err));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.reserved_bytes += size;
    ++stats_.device_allocations;
    note_allocated(size);
    return p;
  }

  void give_back(void* p, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.emplace(size, p);
    stats_.allocated_bytes -= size;
  }

  void note_allocated(size_t size) {
    stats_.allocated_bytes += size;
    stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
    ++stats_.allocations;
  }

  void release_cached_locked() {
    if (!free_.empty()) cudaStreamSynchronize(stream());  // no queued kernel may still use them
    for (auto& [size, p] : free_) {
      cudaFree(p);
      stats_.reserved_bytes -= size;
    }
    free_.clear();
  }

  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  MemoryStats stats_;
};

// Never destroyed: tensors freed during static destruction still find it.
CachingAllocator& allocator() {
  static auto* a = new CachingAllocator;
  return *a;
}

}  // namespace

std::shared_ptr<void> allocate(size_t bytes) {
  DZ_CHECK(is_available(), "cuda: no CUDA device is available (cuda::device_count() = 0)");
  return allocator().allocate(bytes);
}

void empty_cache() {
  if (is_available()) allocator().empty_cache();
}

MemoryStats memory_stats() { return is_available() ? allocator().stats() : MemoryStats{}; }

std::shared_ptr<void> to_device(const void* host, size_t bytes) {
  std::shared_ptr<void> d = allocate(bytes);
  if (bytes > 0) {
    DZ_CUDA_CHECK(cudaMemcpyAsync(d.get(), host, bytes, cudaMemcpyHostToDevice, stream()));
    DZ_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host buffer may go right after
  }
  return d;
}

}  // namespace dezero::cuda
