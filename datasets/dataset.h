#pragma once
// Datasets and batching: Dataset (any examples and targets), LabeledDataset (float32 examples
// with class labels), TensorDataset (in-memory tensors), DataLoader (batches, seeded shuffling,
// drop_last), batch transforms, MNIST from the original IDX files, and DeZero's Spiral.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dezero/core/tensor.h"

/// Datasets, batch transforms and DataLoader (namespace D = dezero::datasets).
namespace dezero::datasets {

/// One batch: inputs x (B, example...) and targets t (B, target...).
struct Batch {
  ///@{
  /// Inputs x (B, example...) and targets t (B, target...).
  Tensor x, t;
  ///@}
};

/// A finite set of (x, target) examples: implement size() and get_batch(), or derive from
/// LabeledDataset (float32 examples with class labels) or use TensorDataset (in-memory tensors).
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of examples.
  virtual int64_t size() const = 0;
  /// The examples at `indices`, stacked along a new first dimension of x and of t.
  virtual Batch get_batch(std::span<const int64_t> indices) const = 0;
};

/// A dataset of float32 examples of one shape with one class label each (MNIST, Spiral):
/// implement example_shape() and fill_batch(); batches are x (B, example...) and t (B,) float32.
class LabeledDataset : public Dataset {
 public:
  /// Shape of one example, e.g. (1, 28, 28).
  virtual Shape example_shape() const = 0;
  /// Writes the examples at `indices` into x (row-major, float32) and their labels into t.
  virtual void fill_batch(std::span<const int64_t> indices, float* x, float* t) const = 0;
  /// x and t filled by fill_batch.
  Batch get_batch(std::span<const int64_t> indices) const final;
};

/// Examples as the rows of in-memory tensors: x (N, ...) and targets t (N, ...) of any shape
/// and dtype (class labels, regression targets, multi-label vectors); batches keep both dtypes.
class TensorDataset : public Dataset {
 public:
  /// x and t must have the same first dimension N >= 1.
  TensorDataset(Tensor x, Tensor t);
  int64_t size() const override { return x_.size(0); }
  Batch get_batch(std::span<const int64_t> indices) const override;
  /// All inputs.
  const Tensor& x() const { return x_; }
  /// All targets.
  const Tensor& t() const { return t_; }

 private:
  Tensor x_, t_;
};

/// A transform applied to every batch of inputs (x (B, ...) -> x').
using Transform = std::function<Tensor(const Tensor&)>;
/// (x - mean) / std.
Transform Normalize(double mean, double std);
/// Applies transforms in order.
Transform Compose(std::vector<Transform> transforms);

/// Options of DataLoader.
struct DataLoaderOptions {
  /// A new order every epoch; false reads the examples in order.
  bool shuffle = true;
  uint64_t seed = 0;         ///< epoch e shuffles with a generator seeded from (seed, e)
  bool drop_last = false;    ///< by default the last batch may be smaller
  Transform transform = {};  ///< applied to each batch's x
  /// Where each batch's x and t are sent (after the transform).
  Device device = Device::CPU;
};

/// Iterates over a dataset in batches: for (auto [x, t] : loader) { ... }. Each pass over the
/// loader is one epoch with its own (reproducible) order.
class DataLoader {
 public:
  /// Batches of batch_size >= 1 examples of dataset, which must outlive the loader.
  DataLoader(const Dataset& dataset, int64_t batch_size, DataLoaderOptions options = {});
  /// The loader reads the dataset at every batch: a temporary one is refused at compile time.
  DataLoader(const Dataset&& dataset, int64_t batch_size, DataLoaderOptions options = {}) = delete;
  /// Number of batches per epoch.
  int64_t num_batches() const;

  /// Walks one epoch's batches, from begin() to end().
  class Iterator {
   public:
    /// The current batch, read from the dataset, transformed and sent to options.device.
    Batch operator*() const;
    /// Moves to the next batch.
    Iterator& operator++() {
      ++batch_;
      return *this;
    }
    /// False when both are at the same batch.
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
  /// Past the last batch of the epoch.
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
class MNIST : public LabeledDataset {
 public:
  /// Loads the training (train-*) or test (t10k-*) split found in dir.
  MNIST(const std::string& dir, bool train,
        int64_t limit = 0);  // limit > 0: the first `limit` examples; < 0 throws
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
class Spiral : public LabeledDataset {
 public:
  /// The training or test set (different seeds): num_data * num_class points.
  Spiral(bool train = true, int64_t num_data = 100, int64_t num_class = 3);
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  Shape example_shape() const override { return {2}; }
  void fill_batch(std::span<const int64_t> indices, float* x, float* t) const override;

 private:
  std::vector<float> points_, labels_;
};

}  // namespace dezero::datasets
