// MNIST from the original IDX files (http://yann.lecun.com/exdb/mnist/ layout), .gz or not.

#include <filesystem>

#include "dezero/core/error.h"
#include "dezero/datasets/dataset.h"
#include "dezero/datasets/idx.h"

namespace dezero::datasets {
namespace {

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    const auto p = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(p)) return p.string();
  }
  DZ_THROW("MNIST: neither {0}.gz nor {0} is in {1}", stem, dir);
}

}  // namespace

MNIST::MNIST(const std::string& dir, bool train, int64_t limit) {
  DZ_CHECK(limit >= 0, "MNIST: limit must be 0 (every image) or a positive count; got {}", limit);
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = load_idx(images_path, 3), labels = load_idx(labels_path, 1);
  const std::vector<uint32_t>& idims = images.dims;
  const std::vector<uint32_t>& ldims = labels.dims;
  DZ_CHECK(idims[1] > 0 && idims[2] > 0, "MNIST: {}: image size {}x{} is empty", images_path,
           idims[1], idims[2]);
  DZ_CHECK(idims[0] == ldims[0], "MNIST: {} has {} images but {} has {} labels", images_path,
           idims[0], labels_path, ldims[0]);
  rows_ = idims[1];
  cols_ = idims[2];
  int64_t n = idims[0];
  if (limit > 0) n = std::min<int64_t>(n, limit);
  const size_t image_bytes = static_cast<size_t>(rows_ * cols_);
  images.data.resize(static_cast<size_t>(n) * image_bytes);
  labels.data.resize(static_cast<size_t>(n));
  pixels_ = std::move(images.data);
  labels_ = std::move(labels.data);
  pixels_.shrink_to_fit();  // a limit keeps only what it uses
  labels_.shrink_to_fit();
  for (size_t i = 0; i < labels_.size(); ++i)
    DZ_CHECK(labels_[i] <= 9, "MNIST: {}: label {} at index {} is not a digit", labels_path,
             labels_[i], i);
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
