#pragma once
// The global random generator behind Tensor::rand/randn/uniform, dropout and initializers.
// Our own uniform and Box-Muller transforms, so a seed gives the same numbers on every platform.

#include <cstdint>
#include <mutex>

/// The global random generator (seeded by dezero::manual_seed).
namespace dezero::random {

/// Locks the global generator for the caller until the lock is released: hold it around a run
/// of uniform01/normal calls (a whole tensor's fill) when other threads may draw too.
std::unique_lock<std::mutex> hold();
/// A uniform double in [0, 1) from the global generator.
double uniform01();
/// A standard normal double from the global generator.
double normal();

}  // namespace dezero::random
