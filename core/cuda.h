#pragma once
// Questions about CUDA that are safe to ask on any machine (they never throw), and the CUDA
// backend's memory statistics.

#include <cstddef>
#include <cstdint>

#include "core/memory.h"

namespace dezero::cuda {

/// True when dezero was built with CUDA and a usable GPU and driver are present.
bool is_available();
/// Number of usable CUDA devices (0 without a GPU, a driver, or a CUDA build).
int device_count();
/// True when this build contains the CUDA backend sources.
bool is_built();

/// What the caching device allocator holds (all zero without a GPU).
using MemoryStats = ::dezero::MemoryStats;
/// The allocator's statistics.
MemoryStats memory_stats();
/// Returns the cached (free) blocks to the driver.
void empty_cache();
/// Waits until every queued kernel and copy has finished (timing, interop).
void synchronize();

}  // namespace dezero::cuda
