#pragma once
// A size-bucketed caching allocator shared by the devices: freed blocks wait in a free list
// keyed by their rounded size and are handed out again for the same size. The device supplies
// how to obtain and release raw blocks.

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "dezero/core/memory.h"

namespace dezero {

class CachingAllocator {
 public:
  /// obtain(bytes) returns a block or nullptr when the system has none; release frees one;
  /// before_release runs (once) before cached blocks are released (CUDA: wait for the stream).
  struct Source {
    std::function<void*(size_t)> obtain;
    std::function<void(void*)> release;
    std::function<void()> before_release = [] {};
    bool host_memory = false;  // under AddressSanitizer, cached host blocks are poisoned
  };

  /// `name` prefixes errors ("cpu", "cuda"); at most `cache_limit` free bytes are kept.
  CachingAllocator(const char* name, Source source, size_t cache_limit);
  /// Releases the cached blocks; every block handed out must have come back before.
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;
  /// A block of at least `bytes` bytes, returned to the cache when the last handle goes.
  std::shared_ptr<void> allocate(size_t bytes);
  /// Releases every free cached block.
  void empty_cache();
  /// Current statistics.
  MemoryStats stats();
  /// Changes the cap on free cached bytes (releasing blocks beyond it).
  void set_cache_limit(size_t bytes);

 private:
  void* take_cached(size_t size);
  void* fresh(size_t size);
  void give_back(void* p, size_t size);
  void count_handed_out_locked(size_t size);
  void release_locked(std::multimap<size_t, void*>::iterator it);

  const char* name_;
  Source source_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  size_t cached_bytes_ = 0, cache_limit_;
  MemoryStats stats_;
};

}  // namespace dezero
