#include "dezero/io/npy.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>

#include "dezero/core/error.h"
#include "dezero/core/ops.h"
#include "dezero/io/file.h"

namespace dezero::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

// The header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, read
// strictly: exactly these three keys, each once, Python literal syntax, nothing after the '}'
// but the padding spaces and newline.
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  Header parse() {
    Header h;
    bool seen[3] = {false, false, false};
    expect('{');
    while (skip_space() != '}') {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        mark(seen[0], key);
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        mark(seen[1], key);
        h.fortran_order = boolean();
      } else if (key == "shape") {
        mark(seen[2], key);
        h.shape = tuple();
      } else {
        fail(fmt::format("unexpected key '{}'", key));
      }
      if (skip_space() != ',') break;
      ++i_;
    }
    expect('}');
    for (; i_ < s_.size(); ++i_)
      if (s_[i_] != ' ' && s_[i_] != '\n') fail("text after the closing brace");
    if (!seen[0] || !seen[1] || !seen[2]) fail("it needs the keys 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    DZ_THROW("load_npy: {}: malformed header at byte {}: {}", path_, i_, why);
  }
  void mark(bool& seen, const std::string& key) {
    if (seen) fail(fmt::format("key '{}' appears twice", key));
    seen = true;
  }
  char skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void expect(char c) {
    if (skip_space() != c) fail(fmt::format("expected '{}'", c));
    ++i_;
  }
  std::string string_literal() {
    const char quote = skip_space();
    if (quote != '\'' && quote != '"') fail("expected a string");
    const size_t end = s_.find(quote, ++i_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}})
      if (s_.substr(i_, std::strlen(word)) == word) {
        i_ += std::strlen(word);
        return value;
      }
    fail("expected True or False");
  }
  // (), (3,), (2, 3): non-negative integers of at most 18 digits.
  Shape tuple() {
    Shape shape;
    expect('(');
    while (skip_space() != ')') {
      const size_t start = i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ == start || i_ - start > 18) fail("bad dimension in the shape");
      shape.push_back(std::stoll(std::string(s_.substr(start, i_ - start))));
      if (skip_space() == 'L') ++i_;  // Python 2's long suffix
      if (skip_space() != ',') break;
      ++i_;
    }
    expect(')');
    return shape;
  }

  std::string_view s_;
  const std::string& path_;
  size_t i_ = 0;
};

// Element count and byte size with overflow checks (a header may claim anything).
size_t checked_bytes(const Shape& shape, size_t item, const std::string& path) {
  size_t n = item;
  for (int64_t d : shape)
    DZ_CHECK(!__builtin_mul_overflow(n, static_cast<size_t>(d), &n), "load_npy: {}: shape {} is too large",
             path, to_string(shape));
  return n;
}

// The item size of a descr that decode() reads: a byte order, then f4 f8 i1-8 u1-8 or b1.
int item_size(const std::string& descr, const std::string& path) {
  static const std::string kReadable[] = {"f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"};
  const bool ok = descr.size() == 3 && std::string("<>|=").find(descr[0]) != std::string::npos &&
                  std::find(std::begin(kReadable), std::end(kReadable), descr.substr(1)) != std::end(kReadable);
  DZ_CHECK(ok, "load_npy: {}: unsupported dtype '{}' (float32/64, integers and bool are read)", path, descr);
  return descr[2] - '0';
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
  const char order = descr[0], kind = descr[1];
  const int size = item_size(descr, path);
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

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& path) {
  DZ_CHECK(bytes.size() >= 10 && bytes.substr(0, 6) == std::string_view(kMagic, 6), "load_npy: {} is not a .npy file (bad magic)",
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
  const Header header = HeaderParser(bytes.substr(8 + len_bytes, header_len), path).parse();
  const std::string& descr = header.descr;
  const Shape& shape = header.shape;
  const int item = item_size(descr, path);
  const size_t need = checked_bytes(shape, static_cast<size_t>(item), path);
  DZ_CHECK(bytes.size() - data_start == need, "load_npy: {}: {} data bytes for shape {} of '{}' (need {})", path,
           bytes.size() - data_start, to_string(shape), descr, need);
  if (!header.fortran_order) return decode(bytes.data() + data_start, descr, shape, path);
  // Column-major data is the row-major data of the reversed shape, transposed.
  const Shape reversed(shape.rbegin(), shape.rend());
  return ops::transpose(decode(bytes.data() + data_start, descr, reversed, path));
}

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path, "load_npy"), path); }

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
  atomic_write(path, "save_npy", [&](FileSink& f) {
    const uint16_t len = static_cast<uint16_t>(header.size());
    const char preamble[10] = {kMagic[0], kMagic[1], kMagic[2], kMagic[3], kMagic[4], kMagic[5], 1, 0,
                               static_cast<char>(len & 0xFF), static_cast<char>(len >> 8)};
    f.write(preamble, sizeof(preamble));
    f.write(header);
    f.write(host.raw_data(), host.nbytes());
  });
}

}  // namespace dezero::io
