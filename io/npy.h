#pragma once
// NumPy .npy files: one array per file, readable and writable by numpy.load / numpy.save.

#include <string>

#include "core/tensor.h"

namespace dezero::io {

/// Reads a .npy file (format versions 1-3, C or Fortran order) into a cpu tensor: float32 and
/// float64 (either byte order) keep their dtype; bool and integer arrays become float64.
/// Malformed or truncated files throw a dezero::Error naming the file and the field.
Tensor load_npy(const std::string& path);

/// Writes t as a .npy file (version 1.0, C order, '<f4' or '<f8'); atomic: the data goes to a
/// temporary file that is renamed over path only when complete.
void save_npy(const std::string& path, const Tensor& t);

}  // namespace dezero::io
