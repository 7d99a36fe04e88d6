#pragma once
// NumPy-style indexing for get_item: integers, slices and index arrays, resolved once into flat
// element offsets that the gather/scatter-add primitives use on any device.

#include <cstdint>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dezero/core/shape.h"
#include "dezero/core/tensor.h"

namespace dezero {

/// x[start:stop:step]; missing bounds mean "from the start" / "to the end", as in Python.
struct Slice {
  ///@{
  /// First index and the one past the last, negative counting from the end; unset: the start or
  /// end of the axis in step's direction.
  std::optional<int64_t> start, stop;
  ///@}
  int64_t step = 1;  ///< Stride; negative walks backward, 0 is an error.
};

/// One entry of an index: an integer (drops the axis), a Slice, or an index array.
class Index {
 public:
  /// Which of the three this entry is.
  enum class Kind { Int, Slice, Array };
  /// An integer (negative counts from the end).
  Index(int i) : Index(static_cast<int64_t>(i)) {}
  /// An integer (negative counts from the end).
  Index(int64_t i) : kind_(Kind::Int), int_(i) {}
  /// A slice: Slice{1, 3}, Slice{.step = -1}.
  Index(Slice s) : kind_(Kind::Slice), slice_(s) {}
  /// An index array: the listed positions along the axis, in order.
  Index(std::vector<int64_t> indices) : kind_(Kind::Array), array_(std::move(indices)) {}
  /// A 1-d tensor of integer values (labels, say), read as an index array.
  Index(const Tensor& indices);

  /// Which of the three this entry is.
  Kind kind() const { return kind_; }
  /// The integer of a Kind::Int entry.
  int64_t as_int() const { return int_; }
  /// The slice of a Kind::Slice entry.
  const Slice& as_slice() const { return slice_; }
  /// The positions of a Kind::Array entry.
  const std::vector<int64_t>& as_array() const { return array_; }

 private:
  Kind kind_;
  int64_t int_ = 0;
  Slice slice_;
  std::vector<int64_t> array_;
};

/// A whole index: x[i0, i1, ...]; missing trailing entries select everything.
using IndexList = std::vector<Index>;

/// std::allocator, except that resize() leaves new elements default-initialized (integers not
/// zeroed): for buffers a kernel overwrites right away.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  /// The same allocator for another element type (the allocator requirements).
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;  ///< This allocator for elements of type U.
  };
  DefaultInitAllocator() = default;
  /// Converts from the allocator of another element type (stateless: nothing to copy).
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  /// Default-initializes *p: no zeroing of integers.
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  /// Constructs *p from args, as std::allocator does.
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// Flat element offsets.
using Offsets = std::vector<int64_t, DefaultInitAllocator<int64_t>>;

/// An index resolved against a shape: the result's shape and, per result element, its offset.
struct ResolvedIndex {
  ///@{
  /// Shapes of the indexed tensor x and of the result.
  Shape x_shape, out_shape;
  ///@}
  Offsets offsets;  ///< Per result element (row-major), its flat offset into x.
  /// When set, the offsets (one per element of out_shape) live only in this device buffer and
  /// `offsets` is empty: max pooling on a GPU keeps its argmax there, never copying it to the host.
  std::shared_ptr<void> device_offsets = nullptr;
  bool unique = false;  ///< no offset repeats, so a scatter-add needs no fixed order
  /// The result splits into `blocks` equal runs whose offsets stay inside the matching equal run
  /// of x (max pooling: one per (n, c) plane), so a scatter-add can take whole blocks per thread.
  int64_t blocks = 1;
};

/// Resolves an index for a tensor of x_shape, with NumPy's rules for combined index arrays.
ResolvedIndex resolve_index(const Shape& x_shape, const IndexList& index);

/// "[1, 0:2, [3, 4]]", for messages and graph labels.
std::string to_string(const IndexList& index);

}  // namespace dezero
