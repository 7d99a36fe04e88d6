#include <algorithm>
#include <numeric>
#include <random>

#include "dezero/core/arithmetic.h"
#include "dezero/core/error.h"
#include "dezero/datasets/dataset.h"

namespace dezero::datasets {

Transform Normalize(double mean, double std) {
  DZ_CHECK(std > 0, "Normalize: std must be positive; got {}", std);
  return [mean, std](const Tensor& x) { return (x - mean) * (1.0 / std); };
}

Transform Compose(std::vector<Transform> transforms) {
  return [transforms = std::move(transforms)](const Tensor& x) {
    Tensor y = x;
    for (const Transform& t : transforms) y = t(y);
    return y;
  };
}

DataLoader::DataLoader(const Dataset& dataset, int64_t batch_size, DataLoaderOptions options)
    : dataset_(dataset), batch_size_(batch_size), opt_(std::move(options)) {
  DZ_CHECK(batch_size >= 1, "DataLoader: batch_size must be positive; got {}", batch_size);
}

int64_t DataLoader::num_batches() const {
  const int64_t n = dataset_.size();
  return opt_.drop_last ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

DataLoader::Iterator DataLoader::begin() {
  std::vector<int64_t> order(static_cast<size_t>(dataset_.size()));
  std::iota(order.begin(), order.end(), 0);
  if (opt_.shuffle) {
    // Our own Fisher-Yates over a seeded engine: the same order on every platform.
    std::mt19937_64 gen(opt_.seed * 1000003ULL + static_cast<uint64_t>(epoch_));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen() % i]);
  }
  ++epoch_;
  return Iterator(this, std::move(order), 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(this, {}, num_batches()); }

Batch DataLoader::Iterator::operator*() const {
  const DataLoader& l = *loader_;
  const int64_t n = l.dataset_.size(), start = batch_ * l.batch_size_;
  const int64_t count = std::min(l.batch_size_, n - start);
  Batch b = l.dataset_.get_batch(
      std::span<const int64_t>(order_.data() + start, static_cast<size_t>(count)));
  const auto rows = [](const Tensor& v) { return v.defined() && v.ndim() >= 1 ? v.size(0) : -1; };
  DZ_CHECK(rows(b.x) == count && rows(b.t) == count,
           "DataLoader: the dataset's get_batch returned x {} and t {} for {} examples (both need "
           "{} rows)",
           b.x.defined() ? to_string(b.x.shape()) : "undefined",
           b.t.defined() ? to_string(b.t.shape()) : "undefined", count, count);
  if (l.opt_.transform) b.x = l.opt_.transform(b.x);
  return {b.x.to(l.opt_.device), b.t.to(l.opt_.device)};
}

Batch LabeledDataset::get_batch(std::span<const int64_t> indices) const {
  const int64_t count = static_cast<int64_t>(indices.size());
  Shape shape = example_shape();
  shape.insert(shape.begin(), count);
  Tensor x = Tensor::empty(shape), t = Tensor::empty({count});
  fill_batch(indices, x.data<float>(), t.data<float>());
  return {x, t};
}

}  // namespace dezero::datasets
