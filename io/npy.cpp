#include "io/npy.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/ops.h"

namespace dezero::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  DZ_CHECK(f.good(), "load_npy: cannot open {}: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The value text after 'key': in the header dict (up to the next top-level comma or brace).
std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::string quoted = "'" + key + "'";
  const size_t k = header.find(quoted);
  DZ_CHECK(k != std::string::npos, "load_npy: {}: header has no '{}' field", path, key);
  size_t i = header.find(':', k + quoted.size());
  DZ_CHECK(i != std::string::npos, "load_npy: {}: malformed '{}' field", path, key);
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t j = i;
  if (j < header.size() && header[j] == '(') {
    j = header.find(')', j);
    DZ_CHECK(j != std::string::npos, "load_npy: {}: unterminated shape", path);
    return header.substr(i, j - i + 1);
  }
  while (j < header.size() && header[j] != ',' && header[j] != '}') ++j;
  return header.substr(i, j - i);
}

Shape parse_shape(std::string text, const std::string& path) {
  DZ_CHECK(text.size() >= 2 && text.front() == '(' && text.back() == ')', "load_npy: {}: bad shape {}", path, text);
  Shape shape;
  std::string item;
  std::istringstream ss(text.substr(1, text.size() - 2));
  while (std::getline(ss, item, ',')) {
    const size_t a = item.find_first_not_of(" L"), b = item.find_last_not_of(" L");
    if (a == std::string::npos) continue;
    const std::string digits = item.substr(a, b - a + 1);
    DZ_CHECK(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos && digits.size() <= 18,
             "load_npy: {}: bad dimension '{}' in shape {}", path, digits, text);
    shape.push_back(std::stoll(digits));
  }
  return shape;
}

// Element count and byte size with overflow checks (a header may claim anything).
size_t checked_bytes(const Shape& shape, size_t item, const std::string& path) {
  size_t n = item;
  for (int64_t d : shape)
    DZ_CHECK(!__builtin_mul_overflow(n, static_cast<size_t>(d), &n), "load_npy: {}: shape {} is too large",
             path, to_string(shape));
  return n;
}

template <class T>
T load_le(const char* p, bool swap) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if (swap) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    std::reverse(b, b + sizeof(T));
    std::memcpy(&v, b, sizeof(T));
  }
  return v;
}

// Converts raw element bytes of a numpy dtype into doubles (or copies floats directly).
Tensor decode(const char* data, const std::string& descr, const Shape& shape, const std::string& path) {
  DZ_CHECK(descr.size() >= 3, "load_npy: {}: bad dtype '{}'", path, descr);
  const char order = descr[0], kind = descr[1];
  const int size = std::atoi(descr.c_str() + 2);
  const bool swap = (order == '>' && std::endian::native == std::endian::little) ||
                    (order == '<' && std::endian::native == std::endian::big);
  DZ_CHECK(order == '<' || order == '>' || order == '|' || order == '=', "load_npy: {}: bad byte order in '{}'",
           path, descr);
  const int64_t n = numel(shape);
  if (kind == 'f' && (size == 4 || size == 8)) {
    Tensor t = Tensor::empty(shape, size == 4 ? Float32 : Float64);
    std::memcpy(t.raw_data(), data, t.nbytes());
    if (swap) {
      char* p = static_cast<char*>(t.raw_data());
      for (int64_t i = 0; i < n; ++i) std::reverse(p + i * size, p + (i + 1) * size);
    }
    return t;
  }
  Tensor t = Tensor::empty(shape, Float64);
  double* out = t.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    const char* p = data + i * size;
    if (kind == 'b' && size == 1) out[i] = *p != 0;
    else if (kind == 'i' && size == 1) out[i] = static_cast<int8_t>(*p);
    else if (kind == 'u' && size == 1) out[i] = static_cast<uint8_t>(*p);
    else if (kind == 'i' && size == 2) out[i] = load_le<int16_t>(p, swap);
    else if (kind == 'u' && size == 2) out[i] = load_le<uint16_t>(p, swap);
    else if (kind == 'i' && size == 4) out[i] = load_le<int32_t>(p, swap);
    else if (kind == 'u' && size == 4) out[i] = load_le<uint32_t>(p, swap);
    else if (kind == 'i' && size == 8) out[i] = static_cast<double>(load_le<int64_t>(p, swap));
    else if (kind == 'u' && size == 8) out[i] = static_cast<double>(load_le<uint64_t>(p, swap));
    else DZ_THROW("load_npy: {}: unsupported dtype '{}' (float32/64, integers and bool are read)", path, descr);
  }
  return t;
}

int item_size(const std::string& descr) { return descr.size() >= 3 ? std::atoi(descr.c_str() + 2) : 0; }

}  // namespace

Tensor load_npy(const std::string& path) {
  const std::string bytes = read_file(path);
  DZ_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, kMagic, 6) == 0, "load_npy: {} is not a .npy file (bad magic)",
           path);
  const int major = static_cast<uint8_t>(bytes[6]);
  DZ_CHECK(major >= 1 && major <= 3, "load_npy: {}: unsupported format version {}", path, major);
  const size_t len_bytes = major == 1 ? 2 : 4;
  DZ_CHECK(bytes.size() >= 8 + len_bytes, "load_npy: {}: truncated header", path);
  size_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
  const size_t data_start = 8 + len_bytes + header_len;
  DZ_CHECK(data_start <= bytes.size(), "load_npy: {}: header length {} runs past the end of the file ({} bytes)",
           path, header_len, bytes.size());
  const std::string header = bytes.substr(8 + len_bytes, header_len);
  std::string descr = dict_value(header, "descr", path);
  DZ_CHECK(descr.size() >= 2 && descr.front() == '\'' && descr.back() == '\'', "load_npy: {}: bad descr {}", path,
           descr);
  descr = descr.substr(1, descr.size() - 2);
  const std::string fortran = dict_value(header, "fortran_order", path);
  DZ_CHECK(fortran == "False" || fortran == "True", "load_npy: {}: bad fortran_order {}", path, fortran);
  Shape shape = parse_shape(dict_value(header, "shape", path), path);
  const int item = item_size(descr);
  DZ_CHECK(item > 0, "load_npy: {}: bad dtype '{}'", path, descr);
  const size_t need = checked_bytes(shape, static_cast<size_t>(item), path);
  DZ_CHECK(bytes.size() - data_start == need, "load_npy: {}: {} data bytes for shape {} of '{}' (need {})", path,
           bytes.size() - data_start, to_string(shape), descr, need);
  if (fortran == "False") return decode(bytes.data() + data_start, descr, shape, path);
  // Column-major data is the row-major data of the reversed shape, transposed.
  const Shape reversed(shape.rbegin(), shape.rend());
  return ops::transpose(decode(bytes.data() + data_start, descr, reversed, path));
}

void save_npy(const std::string& path, const Tensor& t) {
  DZ_CHECK(t.defined(), "save_npy: the tensor is undefined ({})", path);
  const Tensor host = t.to(Device::CPU);
  // Python's tuple spelling, which to_string(Shape) already is: (2, 3), (3,), ().
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   host.dtype() == Float32 ? "<f4" : "<f8", to_string(host.shape()));
  // Pad with spaces so that magic + version + length + header is a multiple of 64, ending in \n.
  const size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  static_assert(std::endian::native == std::endian::little, "save_npy writes little-endian data");
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    DZ_CHECK(f.good(), "save_npy: cannot write {}: {}", tmp, std::strerror(errno));
    const uint16_t len = static_cast<uint16_t>(header.size());
    f.write(kMagic, 6);
    f.put(1);
    f.put(0);
    f.put(static_cast<char>(len & 0xFF));
    f.put(static_cast<char>(len >> 8));
    f << header;
    f.write(static_cast<const char*>(host.raw_data()), static_cast<std::streamsize>(host.nbytes()));
    f.flush();
    DZ_CHECK(f.good(), "save_npy: writing {} failed: {}", tmp, std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp);
  DZ_CHECK(!ec, "save_npy: cannot rename {} to {}: {}", tmp, path, ec.message());
}

}  // namespace dezero::io
