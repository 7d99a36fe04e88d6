#pragma once
// Tensor: an n-d array. A cheap copyable handle on shared storage; row-major and always
// contiguous; float32 or float64; on the CPU or a CUDA device. Data only: no autograd here.

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dezero/core/device.h"
#include "dezero/core/shape.h"

/// dezero-cpp: Tensor, Variable and Function, the autograd engine and the global switches.
namespace dezero {

/// An n-d array: a cheap copyable handle on shared storage, row-major and contiguous, float32 or
/// float64, on the CPU or a CUDA device. Data only; Variable adds autograd.
class Tensor {
 public:
  /// An undefined tensor (defined() is false).
  Tensor() = default;

  /// Uninitialized storage of the given shape.
  static Tensor empty(const Shape& shape, DType dtype = Float32, Device device = Device::CPU);
  /// All zeros.
  static Tensor zeros(const Shape& shape, DType dtype = Float32, Device device = Device::CPU);
  /// All ones.
  static Tensor ones(const Shape& shape, DType dtype = Float32, Device device = Device::CPU);
  /// Every element equal to value.
  static Tensor full(const Shape& shape, double value, DType dtype = Float32,
                     Device device = Device::CPU);
  /// [start, stop) in steps of step, as numpy.arange; 1-d.
  static Tensor arange(double start, double stop, double step = 1, DType dtype = Float32);
  /// Uniform on [0, 1), from the generator seeded by dezero::manual_seed.
  static Tensor rand(const Shape& shape, DType dtype = Float32);
  /// Standard normal, from the generator seeded by dezero::manual_seed.
  static Tensor randn(const Shape& shape, DType dtype = Float32);
  /// Uniform on [low, high).
  static Tensor uniform(const Shape& shape, double low, double high, DType dtype = Float32);
  /// Copies values (row-major) into a new tensor; numel(shape) must equal values.size().
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = Float32);
  /// A 1-d tensor holding values.
  static Tensor from_vector(const std::vector<double>& values, DType dtype = Float32);
  /// A 0-d tensor.
  static Tensor scalar(double value, DType dtype = Float32);
  /// Same shape, dtype and device as like, filled with value.
  static Tensor full_like(const Tensor& like, double value);

  /// False for a default-constructed tensor.
  bool defined() const { return storage_ != nullptr; }
  /// Dimensions; () for a 0-d tensor.
  const Shape& shape() const { return shape_; }
  /// Number of dimensions.
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  /// Number of elements (1 for a 0-d tensor).
  int64_t numel() const { return dezero::numel(shape_); }
  /// Size of dimension i (negative counts from the end).
  int64_t size(int64_t i) const;
  /// Element type.
  DType dtype() const { return dtype_; }
  /// Device the storage lives on.
  Device device() const { return device_; }
  /// Bytes of element data: numel() * dtype_size(dtype()).
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  /// Typed pointer to the first element; T must match dtype() (float or double).
  template <class T>
  T* data() const;
  /// Untyped pointer to the first element.
  void* raw_data() const { return storage_.get(); }
  /// True when both handles share storage.
  bool is_same(const Tensor& other) const { return storage_ == other.storage_; }
  /// True when no other handle (a copy, a reshape) shares this tensor's storage.
  bool storage_unique() const { return storage_.use_count() == 1; }

  /// The single element of a one-element tensor, as double.
  double item() const;
  /// One element by multi-index (negative indices count from the end); for tests and printing.
  double at(const std::vector<int64_t>& index) const;
  /// Writes one element by multi-index.
  void set(const std::vector<int64_t>& index, double value);
  /// All elements, row-major, as doubles (copied to the host).
  std::vector<double> to_vector() const;

  /// A copy on another device (this tensor itself when already there).
  Tensor to(Device device) const;
  /// A copy with another dtype (this tensor itself when already that dtype).
  Tensor to(DType dtype) const;
  /// A deep copy.
  Tensor clone() const;
  /// Same storage, new shape; one dimension may be -1.
  Tensor reshape(const Shape& shape) const;

  /// Fills every element with value, in place.
  void fill_(double value);
  /// Copies src (same shape, dtype and device) into this tensor's storage.
  void copy_(const Tensor& src);

 private:
  std::shared_ptr<void> storage_;
  Shape shape_;
  DType dtype_ = Float32;
  Device device_ = Device::CPU;
};

/// NumPy-like printing: "tensor([[1., 2.], [3., 4.]], dtype=float32)".
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// The printed form as a string.
std::string to_string(const Tensor& t);

/// Seeds the global generator behind rand/randn/uniform (and dropout, initializers).
void manual_seed(uint64_t seed);
/// The global generator's full state as text (saved in checkpoints).
std::string random_state();
/// Restores a state from random_state(); throws on text it did not write.
void set_random_state(const std::string& state);

/// Sets the number of threads for every CPU kernel (one OpenMP pool, shared with GEMM).
void set_num_threads(int n);
/// The number of threads CPU kernels use.
int get_num_threads();

}  // namespace dezero
