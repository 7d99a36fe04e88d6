#pragma once
// NumPy .npy files: one array per file, readable and writable by numpy.load / numpy.save.

#include <string>
#include <string_view>

#include "dezero/core/tensor.h"

namespace dezero::io {

/// Reads a .npy file (format versions 1-3, C or Fortran order) into a cpu tensor: float32 and
/// float64 (either byte order) keep their dtype; bool and integer arrays become float64.
/// Malformed or truncated files throw a dezero::Error naming the file and the field.
Tensor load_npy(const std::string& path);

/// load_npy on bytes already in memory; `name` stands for the file in errors.
Tensor parse_npy(std::string_view bytes, const std::string& name);

/// Writes t as a .npy file (version 1.0, C order, '<f4' or '<f8'); atomic (io::atomic_write): a
/// crash mid-save leaves the previous file intact.
void save_npy(const std::string& path, const Tensor& t);

}  // namespace dezero::io
