#pragma once
// safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header {"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}},
// then the raw little-endian data. Readable by the Python ecosystem (safetensors, PyTorch).

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dezero/core/tensor.h"

/// File formats (safetensors, .npy) and crash-safe file writes.
namespace dezero::io {

/// Named tensors (in the order of their data in the file) and string metadata.
struct SafeTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;  ///< (name, tensor), in file order.
  std::map<std::string, std::string> metadata;          ///< The header's `__metadata__`.
  /// The tensor called name; throws naming the file's tensors when it is missing.
  const Tensor& at(const std::string& name) const;
};

/// Writes tensors (float32/float64, any device) and metadata atomically (io::atomic_write): a
/// crash mid-save leaves the previous file intact, never a half-written one.
void save_safetensors(const std::string& path, const SafeTensors& content);

/// Reads a file: F32 and F64 tensors. A truncated or malformed file, an unknown dtype, a shape
/// that disagrees with its byte range, or an offset outside the data is a dezero::Error naming
/// the file and the tensor, never a crash or an over-read.
SafeTensors load_safetensors(const std::string& path);

/// load_safetensors on bytes already in memory; `name` stands for the file in errors.
SafeTensors parse_safetensors(std::string_view bytes, const std::string& name);

}  // namespace dezero::io
