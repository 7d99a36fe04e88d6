#pragma once
// The global random generator behind Tensor::rand/randn/uniform, dropout and initializers.
// Our own uniform and Box-Muller transforms, so a seed gives the same numbers on every platform.

#include <cstdint>

namespace dezero::random {

/// A uniform double in [0, 1) from the global generator.
double uniform01();
/// A standard normal double from the global generator.
double normal();

}  // namespace dezero::random
