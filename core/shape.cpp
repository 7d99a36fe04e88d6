#include "dezero/core/shape.h"

#include <algorithm>

#include "dezero/core/error.h"

namespace dezero {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : shape) overflow |= __builtin_mul_overflow(n, d, &n);
  if (!overflow) return n;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;  // e.g. (0, 2^62, 2^62)
  DZ_THROW("numel: shape {} has more than 2^63 elements", to_string(shape));
}

std::string to_string(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    DZ_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast together",
             op, to_string(a), to_string(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  DZ_CHECK(axis >= -ndim && axis < ndim, "{}: axis {} is out of range for a {}-d tensor", op, axis,
           ndim);
  return axis < 0 ? axis + ndim : axis;
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t ndim,
                                    const char* op) {
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) out.push_back(normalize_axis(a, ndim, op));
  std::sort(out.begin(), out.end());
  DZ_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), "{}: repeated axis in {}", op,
           to_string(axes));
  return out;
}

}  // namespace dezero
