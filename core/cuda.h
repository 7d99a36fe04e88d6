#pragma once
// Questions about CUDA that are safe to ask on any machine (they never throw), and the CUDA
// backend's memory statistics. The backend is a shared library of its own (libdezero_cuda.so),
// loaded by the first of these calls or the first tensor sent to Device::CUDA: a program that
// never asks links and loads no CUDA library.

#include <cstddef>
#include <cstdint>
#include <string>

#include "dezero/core/memory.h"

/// CUDA availability and the CUDA backend's memory statistics (safe without a GPU).
namespace dezero::cuda {

/// True when dezero was built with CUDA and a usable GPU and driver are present.
bool is_available();
/// Number of usable CUDA devices (0 without a GPU, a driver, or a CUDA build).
int device_count();
/// True when this dezero was built with its CUDA backend (libdezero_cuda.so).
bool is_built();
/// True when libdezero_cuda.so was found and loaded (loading it if not yet tried).
bool is_loaded();
/// Why the CUDA backend could not be loaded ("" when it was).
std::string load_error();

/// What the caching device allocator holds (all zero without a GPU).
using MemoryStats = ::dezero::MemoryStats;
/// The allocator's statistics.
MemoryStats memory_stats();
/// Returns the cached (free) blocks to the driver.
void empty_cache();
/// Waits until every queued kernel and copy has finished (timing, interop).
void synchronize();

}  // namespace dezero::cuda
