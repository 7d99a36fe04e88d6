// MNIST from the original IDX files (http://yann.lecun.com/exdb/mnist/ layout), read through
// zlib so that .gz and uncompressed files both work. Header: a big-endian magic 0x0000TTDD
// (TT = 0x08 unsigned byte, DD = number of dimensions), then DD big-endian 32-bit sizes.

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "datasets/dataset.h"

namespace dezero::datasets {
namespace {

// The whole decompressed content of a (possibly gzipped) file.
std::vector<uint8_t> read_all(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  DZ_CHECK(f != nullptr, "MNIST: cannot open {}: {}", path, std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) data.insert(data.end(), buf, buf + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string why = msg ? msg : "";
  gzclose(f);
  DZ_CHECK(n == 0 && (err == Z_OK || err == Z_STREAM_END), "MNIST: {} is corrupt: {}", path, why);
  return data;
}

uint32_t be32(const std::vector<uint8_t>& d, size_t at) {
  return (uint32_t{d[at]} << 24) | (uint32_t{d[at + 1]} << 16) | (uint32_t{d[at + 2]} << 8) | d[at + 3];
}

// Validates an IDX header with `ndims` dimensions; returns the dimension sizes.
std::vector<uint32_t> idx_header(const std::vector<uint8_t>& d, uint32_t ndims, const std::string& path) {
  DZ_CHECK(d.size() >= 4 + 4 * ndims, "MNIST: {}: truncated header ({} bytes)", path, d.size());
  const uint32_t magic = be32(d, 0), want = 0x0800 + ndims;
  DZ_CHECK(magic == want, "MNIST: {}: magic number is 0x{:08x}, expected 0x{:08x} (unsigned bytes, {} dims)", path,
           magic, want, ndims);
  std::vector<uint32_t> dims;
  uint64_t count = 1;
  for (uint32_t i = 0; i < ndims; ++i) {
    dims.push_back(be32(d, 4 + 4 * i));
    count *= dims.back();
  }
  const uint64_t have = d.size() - 4 - 4 * ndims;
  DZ_CHECK(have == count, "MNIST: {}: header promises {} data bytes, file has {}", path, count, have);
  return dims;
}

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    const auto p = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(p)) return p.string();
  }
  DZ_THROW("MNIST: neither {0}.gz nor {0} is in {1}", stem, dir);
}

}  // namespace

MNIST::MNIST(const std::string& dir, bool train, int64_t limit) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  std::vector<uint8_t> images = read_all(images_path), labels = read_all(labels_path);
  const auto idims = idx_header(images, 3, images_path);
  const auto ldims = idx_header(labels, 1, labels_path);
  DZ_CHECK(idims[1] > 0 && idims[2] > 0, "MNIST: {}: image size {}x{} is empty", images_path, idims[1], idims[2]);
  DZ_CHECK(idims[0] == ldims[0], "MNIST: {} has {} images but {} has {} labels", images_path, idims[0],
           labels_path, ldims[0]);
  rows_ = idims[1];
  cols_ = idims[2];
  int64_t n = idims[0];
  if (limit > 0) n = std::min<int64_t>(n, limit);
  const size_t image_bytes = static_cast<size_t>(rows_ * cols_);
  pixels_.assign(images.begin() + 16, images.begin() + 16 + static_cast<std::ptrdiff_t>(n * image_bytes));
  labels_.assign(labels.begin() + 8, labels.begin() + 8 + n);
  for (size_t i = 0; i < labels_.size(); ++i)
    DZ_CHECK(labels_[i] <= 9, "MNIST: {}: label {} at index {} is not a digit", labels_path, labels_[i], i);
}

void MNIST::fill_batch(std::span<const int64_t> indices, float* x, float* t) const {
  const int64_t image = rows_ * cols_;
  for (size_t b = 0; b < indices.size(); ++b) {
    const uint8_t* src = pixels_.data() + indices[b] * image;
    float* dst = x + static_cast<int64_t>(b) * image;
    for (int64_t i = 0; i < image; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
    t[b] = labels_[static_cast<size_t>(indices[b])];
  }
}

}  // namespace dezero::datasets
