#include "dezero/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dezero/core/error.h"
#include "dezero/io/file.h"

namespace dezero::io {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeader = uint64_t{100} << 20;  // the format's own limit is 100 MB

}  // namespace

const Tensor& SafeTensors::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  std::string names;
  for (const auto& [n, t] : tensors) names += (names.empty() ? "" : ", ") + n;
  DZ_THROW("safetensors: no tensor '{}' (have: {})", name, names);
}

void save_safetensors(const std::string& path, const SafeTensors& content) {
  json header = json::object();
  uint64_t offset = 0;
  std::vector<Tensor> host;
  for (const auto& [name, t] : content.tensors) {
    DZ_CHECK(!name.empty() && name != "__metadata__", "save_safetensors: invalid tensor name '{}' ({})", name, path);
    DZ_CHECK(!header.contains(name), "save_safetensors: tensor '{}' appears twice ({})", name, path);
    DZ_CHECK(t.defined(), "save_safetensors: tensor '{}' is undefined ({})", name, path);
    host.push_back(t.to(Device::CPU));
    const uint64_t end = offset + host.back().nbytes();
    header[name] = {{"dtype", t.dtype() == Float32 ? "F32" : "F64"}, {"shape", t.shape()}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  if (!content.metadata.empty()) header["__metadata__"] = content.metadata;
  std::string text = header.dump();
  text += std::string((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  atomic_write(path, "save_safetensors", [&](FileSink& f) {
    char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((uint64_t{text.size()} >> (8 * i)) & 0xFF);
    f.write(length, 8);
    f.write(text);
    for (const Tensor& t : host) f.write(t.raw_data(), t.nbytes());
  });
}

SafeTensors load_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path, "load_safetensors"), path);
}

SafeTensors parse_safetensors(std::string_view bytes, const std::string& path) {
  DZ_CHECK(bytes.size() >= 8, "load_safetensors: {} is too short ({} bytes) for a header length", path, bytes.size());
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  DZ_CHECK(n <= kMaxHeader && n <= bytes.size() - 8,
           "load_safetensors: {}: header length {} runs past the end of the file ({} bytes)", path, n, bytes.size());
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const json::exception& e) {
    DZ_THROW("load_safetensors: {}: the header is not valid JSON: {}", path, e.what());
  }
  DZ_CHECK(header.is_object(), "load_safetensors: {}: the header is not a JSON object", path);
  const char* data = bytes.data() + 8 + n;
  const uint64_t data_size = bytes.size() - 8 - n;
  SafeTensors out;
  std::vector<uint64_t> starts;  // to return the tensors in the order of their data
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      DZ_CHECK(entry.is_object(), "load_safetensors: {}: __metadata__ is not an object", path);
      for (const auto& [k, v] : entry.items()) {
        DZ_CHECK(v.is_string(), "load_safetensors: {}: metadata '{}' is not a string", path, k);
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    DZ_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets"),
             "load_safetensors: {}: tensor '{}' needs dtype, shape and data_offsets", path, name);
    DZ_CHECK(entry["dtype"].is_string(), "load_safetensors: {}: tensor '{}' has a non-string dtype", path, name);
    const std::string dtype = entry["dtype"].get<std::string>();
    DZ_CHECK(dtype == "F32" || dtype == "F64", "load_safetensors: {}: tensor '{}' has dtype '{}' (F32 and F64 are read)",
             path, name, dtype);
    const auto& shape_json = entry["shape"];
    const auto& offsets = entry["data_offsets"];
    DZ_CHECK(shape_json.is_array() && offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                 offsets[1].is_number_unsigned(),
             "load_safetensors: {}: tensor '{}' has a malformed shape or data_offsets", path, name);
    Shape shape;
    uint64_t nbytes = dtype == "F32" ? 4 : 8;
    for (const auto& d : shape_json) {
      DZ_CHECK(d.is_number_unsigned(), "load_safetensors: {}: tensor '{}' has a bad dimension {}", path, name, d.dump());
      const uint64_t v = d.get<uint64_t>();
      DZ_CHECK(!__builtin_mul_overflow(nbytes, v, &nbytes) && v <= (uint64_t{1} << 62),
               "load_safetensors: {}: tensor '{}' is too large", path, name);
      shape.push_back(static_cast<int64_t>(v));
    }
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    DZ_CHECK(begin <= end && end <= data_size, "load_safetensors: {}: tensor '{}' spans bytes [{}, {}) of {} data bytes",
             path, name, begin, end, data_size);
    DZ_CHECK(end - begin == nbytes, "load_safetensors: {}: tensor '{}' of shape {} {} needs {} bytes, has {}", path, name,
             to_string(shape), dtype, nbytes, end - begin);
    Tensor t = Tensor::empty(shape, dtype == "F32" ? Float32 : Float64);
    std::memcpy(t.raw_data(), data + begin, nbytes);
    out.tensors.emplace_back(name, t);
    starts.push_back(begin);
  }
  std::vector<size_t> order(out.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return starts[a] < starts[b]; });
  // As the format requires (and Python's reader checks): the tensors tile the data, no overlaps, no holes.
  uint64_t covered = 0;
  for (size_t i : order) {
    const Tensor& t = out.tensors[i].second;
    DZ_CHECK(starts[i] == covered, "load_safetensors: {}: tensor '{}' starts at data byte {}, expected {} "
             "(tensors must not overlap or leave holes)", path, out.tensors[i].first, starts[i], covered);
    covered += t.nbytes();
  }
  DZ_CHECK(covered == data_size, "load_safetensors: {}: the tensors cover {} of {} data bytes", path, covered,
           data_size);
  std::vector<std::pair<std::string, Tensor>> sorted;
  for (size_t i : order) sorted.push_back(std::move(out.tensors[i]));
  out.tensors = std::move(sorted);
  return out;
}

}  // namespace dezero::io
