#pragma once
// Shape: the dimensions of a tensor, row-major, with NumPy-style printing and broadcasting.

#include <cstdint>
#include <string>
#include <vector>

namespace dezero {

/// Dimensions of a tensor; () is a scalar.
using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for a scalar); throws when it does not fit in int64.
int64_t numel(const Shape& shape);

/// NumPy's spelling: "(2, 3)", "(3,)", "()".
std::string to_string(const Shape& shape);

/// Row-major strides in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);

/// NumPy broadcasting of two shapes; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);

/// Normalizes a possibly negative axis against ndim; throws naming `op` when out of range.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

/// Normalizes, sorts and de-duplicates axes; an empty list means every axis.
std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim, const char* op);

}  // namespace dezero
