#pragma once
// Datasets and batching: Dataset (examples with integer labels), DataLoader (batches, seeded
// shuffling, drop_last), batch transforms, MNIST from the original IDX files, and DeZero's Spiral.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dezero/core/tensor.h"

namespace dezero::datasets {

/// A finite set of (x, label) examples.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of examples.
  virtual int64_t size() const = 0;
  /// Shape of one example, e.g. (1, 28, 28).
  virtual Shape example_shape() const = 0;
  /// Writes the examples at `indices` into x (row-major, float32) and their labels into t.
  virtual void fill_batch(std::span<const int64_t> indices, float* x, float* t) const = 0;
};

/// A transform applied to every batch of inputs (x (B, ...) -> x').
using Transform = std::function<Tensor(const Tensor&)>;
/// (x - mean) / std.
Transform Normalize(double mean, double std);
/// Applies transforms in order.
Transform Compose(std::vector<Transform> transforms);

/// One batch: x (B, example...) and labels t (B,), float32.
struct Batch {
  Tensor x, t;
};

/// Options of DataLoader.
struct DataLoaderOptions {
  bool shuffle = true;
  uint64_t seed = 0;       // epoch e shuffles with a generator seeded from (seed, e)
  bool drop_last = false;  // by default the last batch may be smaller
  Transform transform = {};  // applied to each batch's x
  Device device = Device::CPU;
};

/// Iterates over a dataset in batches: for (auto [x, t] : loader) { ... }. Each pass over the
/// loader is one epoch with its own (reproducible) order.
class DataLoader {
 public:
  DataLoader(const Dataset& dataset, int64_t batch_size, DataLoaderOptions options = {});
  /// The loader reads the dataset at every batch: a temporary one is refused at compile time.
  DataLoader(const Dataset&& dataset, int64_t batch_size, DataLoaderOptions options = {}) = delete;
  /// Number of batches per epoch.
  int64_t num_batches() const;

  class Iterator {
   public:
    Batch operator*() const;
    Iterator& operator++() {
      ++batch_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return batch_ != o.batch_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, std::vector<int64_t> order, int64_t batch)
        : loader_(loader), order_(std::move(order)), batch_(batch) {}
    const DataLoader* loader_;
    std::vector<int64_t> order_;
    int64_t batch_;
  };
  /// Starts an epoch (shuffled when asked).
  Iterator begin();
  Iterator end() const;
  /// Epochs started so far.
  int64_t epoch() const { return epoch_; }
  /// Sets the epoch counter (to resume the same shuffling sequence).
  void set_epoch(int64_t epoch) { epoch_ = epoch; }

 private:
  const Dataset& dataset_;
  int64_t batch_size_;
  DataLoaderOptions opt_;
  int64_t epoch_ = 0;
};

/// MNIST from the original IDX files (gzip-compressed or not):
/// {train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...}[.gz] in dir. Pixels scaled to
/// [0, 1], x (1, 28, 28). Every header field is validated; errors name the file and the field.
class MNIST : public Dataset {
 public:
  MNIST(const std::string& dir, bool train, int64_t limit = 0);  // limit > 0: the first `limit` examples; < 0 throws
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  Shape example_shape() const override { return {1, rows_, cols_}; }
  void fill_batch(std::span<const int64_t> indices, float* x, float* t) const override;
  /// Label of example i.
  int label(int64_t i) const { return labels_.at(static_cast<size_t>(i)); }

 private:
  int64_t rows_ = 0, cols_ = 0;
  std::vector<uint8_t> pixels_, labels_;
};

/// DeZero's spiral: num_class arms of num_data 2-d points each (seeded, shuffled).
class Spiral : public Dataset {
 public:
  Spiral(bool train = true, int64_t num_data = 100, int64_t num_class = 3);
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  Shape example_shape() const override { return {2}; }
  void fill_batch(std::span<const int64_t> indices, float* x, float* t) const override;

 private:
  std::vector<float> points_, labels_;
};

}  // namespace dezero::datasets
