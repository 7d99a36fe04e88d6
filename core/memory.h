#pragma once
// Memory statistics of the caching allocators, and the CPU allocator's controls. CPU blocks of
// at least cpu_cached_block_min() bytes are kept for reuse when freed (a training loop asks for
// the same sizes every step: no page faults, and no heap that grows from fragmentation); smaller
// ones go straight to malloc.

#include <cstddef>
#include <cstdint>

namespace dezero {

/// What a caching allocator holds.
struct MemoryStats {
  size_t allocated_bytes = 0;       ///< in tensors now
  size_t reserved_bytes = 0;        ///< taken from the system or driver (allocated + cached)
  size_t peak_allocated_bytes = 0;  ///< the most allocated at once
  uint64_t allocations = 0;         ///< blocks handed out
  uint64_t device_allocations = 0;  ///< of which came fresh from the system or driver
  uint64_t cache_hits = 0;          ///< of which were reused blocks
};

/// Statistics of the CPU allocator's cached (large) blocks.
MemoryStats cpu_memory_stats();
/// Returns the CPU allocator's free cached blocks to the system.
void cpu_empty_cache();
/// Caps the bytes of free blocks the CPU allocator keeps (default 256 MiB); extra ones are freed.
void set_cpu_cache_limit(size_t bytes);
/// Smallest block the CPU allocator caches (128 KiB).
size_t cpu_cached_block_min();

}  // namespace dezero
