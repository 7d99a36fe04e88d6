// The caching allocator: rounding, reuse, the cap on cached bytes, and a retry after emptying
// the cache when the system is out of memory.

#include "dezero/core/caching_allocator.h"

#include <algorithm>

#include "dezero/core/error.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define DZ_ASAN 1
#endif
#ifdef DZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace dezero {
namespace {

// Sizes are rounded so that blocks are reusable across nearby requests: 512 B steps up to
// 1 MiB, 2 MiB steps above (untouched pages of a rounded block cost no physical memory).
size_t rounded(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20;
  const size_t step = bytes <= (size_t{1} << 20) ? kSmall : kLarge;
  return std::max<size_t>(step, (bytes + step - 1) / step * step);
}

// A cached block is off limits until handed out again: under ASan, touching it is reported as
// a use after free.
void poison(const CachingAllocator::Source& source, void* p, size_t size, bool on) {
#ifdef DZ_ASAN
  if (!source.host_memory) return;
  if (on)
    ASAN_POISON_MEMORY_REGION(p, size);
  else
    ASAN_UNPOISON_MEMORY_REGION(p, size);
#else
  (void)source, (void)p, (void)size, (void)on;
#endif
}

}  // namespace

CachingAllocator::CachingAllocator(const char* name, Source source, size_t cache_limit)
    : name_(name), source_(std::move(source)), cache_limit_(cache_limit) {}

CachingAllocator::~CachingAllocator() { empty_cache(); }

std::shared_ptr<void> CachingAllocator::allocate(size_t bytes) {
  const size_t size = rounded(bytes);
  void* p = take_cached(size);
  if (!p) p = fresh(size);
  return std::shared_ptr<void>(p, [this, size](void* q) { give_back(q, size); });
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!free_.empty()) source_.before_release();
  while (!free_.empty()) release_locked(free_.begin());
}

MemoryStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::set_cache_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_limit_ = bytes;
  if (cached_bytes_ > cache_limit_) source_.before_release();
  while (cached_bytes_ > cache_limit_) release_locked(std::prev(free_.end()));  // largest first
}

void* CachingAllocator::take_cached(size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_.find(size);
  if (it == free_.end()) return nullptr;
  void* p = it->second;
  free_.erase(it);
  poison(source_, p, size, false);
  cached_bytes_ -= size;
  count_handed_out_locked(size);
  ++stats_.cache_hits;
  return p;
}

void* CachingAllocator::fresh(size_t size) {
  void* p = source_.obtain(size);
  if (!p) {  // give the cache back to the system and try once more
    empty_cache();
    p = source_.obtain(size);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  DZ_CHECK(p != nullptr, "{}: out of memory allocating {} bytes ({} allocated by dezero, {} reserved)", name_, size,
           stats_.allocated_bytes, stats_.reserved_bytes);
  stats_.reserved_bytes += size;
  count_handed_out_locked(size);
  ++stats_.device_allocations;
  return p;
}

// The statistics of a block of `size` bytes handed to a caller (mutex_ held).
void CachingAllocator::count_handed_out_locked(size_t size) {
  stats_.allocated_bytes += size;
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  ++stats_.allocations;
}

void CachingAllocator::give_back(void* p, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.allocated_bytes -= size;
  if (cached_bytes_ + size > cache_limit_) {  // over the cap: this block goes back to the system
    source_.before_release();
    source_.release(p);
    stats_.reserved_bytes -= size;
    return;
  }
  poison(source_, p, size, true);
  free_.emplace(size, p);
  cached_bytes_ += size;
}

void CachingAllocator::release_locked(std::multimap<size_t, void*>::iterator it) {
  poison(source_, it->second, it->first, false);
  source_.release(it->second);
  stats_.reserved_bytes -= it->first;
  cached_bytes_ -= it->first;
  free_.erase(it);
}

}  // namespace dezero
