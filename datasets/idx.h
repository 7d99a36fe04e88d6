#pragma once
// IDX files (the MNIST format), gzip-compressed or not. Header: a big-endian magic 0x0000TTDD
// (TT = 0x08 unsigned byte, DD = number of dimensions), then DD big-endian 32-bit sizes, then
// the row-major data.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dezero::datasets {

/// An unsigned-byte IDX array: its dimensions and row-major data.
struct IdxArray {
  std::vector<uint32_t> dims;  ///< Size of each dimension, outermost first.
  std::vector<uint8_t> data;   ///< The elements, row-major.
};

/// Parses an IDX file's bytes (a gzip stream is inflated first, never past the size its header
/// promises) expecting `ndims` dimensions. Any disagreement between header and data, a corrupt
/// gzip stream or trailing bytes is a dezero::Error naming `name` and the field.
IdxArray parse_idx(std::string_view file_bytes, uint32_t ndims, const std::string& name);

/// Reads and parses an IDX file.
IdxArray load_idx(const std::string& path, uint32_t ndims);

}  // namespace dezero::datasets
