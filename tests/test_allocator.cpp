// The caching allocators: CPU blocks from 128 KiB are reused by size, statistics add up, the
// cap on cached bytes holds, small blocks bypass the cache, and a failing source is retried
// after the cache is emptied, then reported naming the allocator and the size.

#include <cstdlib>

#include "dezero/core/caching_allocator.h"
#include "test_helpers.h"

using namespace dezero;
using ::testing::HasSubstr;

namespace {

// Runs with a clean cache and restores the default cap afterwards.
class CpuAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override { cpu_empty_cache(); }
  void TearDown() override {
    set_cpu_cache_limit(size_t{256} << 20);
    cpu_empty_cache();
  }
};

TEST_F(CpuAllocatorTest, LargeBlocksAreReusedForTheSameSize) {
  const MemoryStats before = cpu_memory_stats();
  const void* first = nullptr;
  {
    Tensor a = Tensor::zeros({512, 512});  // 1 MiB
    first = a.raw_data();
    const MemoryStats during = cpu_memory_stats();
    EXPECT_EQ(during.allocated_bytes - before.allocated_bytes, size_t{1} << 20);
    EXPECT_GE(during.peak_allocated_bytes, during.allocated_bytes);
  }
  const MemoryStats freed = cpu_memory_stats();
  EXPECT_EQ(freed.allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(freed.reserved_bytes - before.reserved_bytes, size_t{1} << 20);  // kept in the cache
  Tensor b = Tensor::ones({1024, 256});  // same byte size: the same block, no new system allocation
  EXPECT_EQ(b.raw_data(), first);
  const MemoryStats again = cpu_memory_stats();
  EXPECT_EQ(again.cache_hits, freed.cache_hits + 1);
  EXPECT_EQ(again.device_allocations, freed.device_allocations);
  EXPECT_EQ(b.data<float>()[1024 * 256 - 1], 1.0f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.raw_data()) % 64, 0u);
}

TEST_F(CpuAllocatorTest, SmallBlocksBypassTheCacheAndEmptyCacheReleases) {
  const MemoryStats before = cpu_memory_stats();
  { Tensor small = Tensor::zeros({static_cast<int64_t>(cpu_cached_block_min() / 4 - 16)}); }
  EXPECT_EQ(cpu_memory_stats().allocations, before.allocations);
  { Tensor large = Tensor::zeros({static_cast<int64_t>(cpu_cached_block_min() / 4)}); }
  EXPECT_EQ(cpu_memory_stats().allocations, before.allocations + 1);
  EXPECT_GT(cpu_memory_stats().reserved_bytes, before.reserved_bytes);
  cpu_empty_cache();
  EXPECT_EQ(cpu_memory_stats().reserved_bytes, cpu_memory_stats().allocated_bytes);
}

TEST_F(CpuAllocatorTest, CachedBytesStayUnderTheCap) {
  set_cpu_cache_limit(size_t{3} << 20);
  const size_t base = cpu_memory_stats().reserved_bytes - cpu_memory_stats().allocated_bytes;
  {
    std::vector<Tensor> blocks;
    for (int i = 0; i < 8; ++i) blocks.push_back(Tensor::zeros({256, 1024}));  // 8 x 1 MiB
  }
  const MemoryStats s = cpu_memory_stats();
  EXPECT_LE(s.reserved_bytes - s.allocated_bytes, std::max(base, size_t{3} << 20));
  set_cpu_cache_limit(0);
  EXPECT_EQ(cpu_memory_stats().reserved_bytes, cpu_memory_stats().allocated_bytes);
}

TEST(CachingAllocatorTest, OutOfMemoryEmptiesTheCacheRetriesThenNamesTheSize) {
  int obtained = 0, released = 0;
  bool fail = false;
  CachingAllocator allocator(
      "test", {.obtain = [&](size_t n) -> void* { return fail ? nullptr : (++obtained, std::malloc(n)); },
               .release = [&](void* p) { ++released, std::free(p); }},
      size_t{1} << 30);
  { auto block = allocator.allocate(1000); }  // cached
  fail = true;
  EXPECT_DZ_ERROR(allocator.allocate(5000), HasSubstr("test: out of memory allocating 5120 bytes"));
  EXPECT_EQ(released, 1);  // the cached block was given back before the retry
  EXPECT_EQ(allocator.stats().reserved_bytes, 0u);
  fail = false;
  auto block = allocator.allocate(5000);
  EXPECT_EQ(obtained, 2);
  EXPECT_EQ(allocator.stats().allocated_bytes, 5120u);
}

}  // namespace
