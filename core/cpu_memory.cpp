// The CPU allocator: 64-byte aligned blocks; large ones cached for reuse (core/memory.h).

#include <cstdlib>
#include <limits>

#include "dezero/core/caching_allocator.h"
#include "dezero/core/cpu_kernels.h"
#include "dezero/core/error.h"

namespace dezero {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kCachedMin = size_t{128} << 10;

void* aligned(size_t bytes) { return std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment); }

// Never destroyed: tensors freed during static destruction still find it.
CachingAllocator& large_blocks() {
  static auto* a = new CachingAllocator("cpu", {.obtain = aligned, .release = std::free, .host_memory = true}, size_t{256} << 20);
  return *a;
}

}  // namespace

MemoryStats cpu_memory_stats() { return large_blocks().stats(); }
void cpu_empty_cache() { large_blocks().empty_cache(); }
void set_cpu_cache_limit(size_t bytes) { large_blocks().set_cache_limit(bytes); }
size_t cpu_cached_block_min() { return kCachedMin; }

std::shared_ptr<void> cpu::allocate(size_t bytes) {
  if (bytes >= kCachedMin) return large_blocks().allocate(bytes);
  void* p = aligned(std::max<size_t>(bytes, 1));
  DZ_CHECK(p != nullptr, "cpu: out of memory allocating {} bytes", bytes);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace dezero
