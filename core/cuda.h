#pragma once
// Questions about CUDA that are safe to ask on any machine: they never throw.

namespace dezero::cuda {

/// True when dezero was built with CUDA and a usable GPU and driver are present.
bool is_available();
/// Number of usable CUDA devices (0 without a GPU, a driver, or a CUDA build).
int device_count();
/// True when this build contains the CUDA backend sources.
bool is_built();

}  // namespace dezero::cuda
