#include "dezero/core/index.h"

#include <algorithm>
#include <cmath>

#include "dezero/core/error.h"

namespace dezero {

Index::Index(const Tensor& indices) : kind_(Kind::Array) {
  DZ_CHECK(indices.ndim() == 1, "get_item: an index tensor must be 1-d; got {}",
           to_string(indices.shape()));
  for (double v : indices.to_vector()) {
    DZ_CHECK(v == std::floor(v), "get_item: index tensor holds a non-integer value {}", v);
    array_.push_back(static_cast<int64_t>(v));
  }
}

namespace {

// The positions one slice selects along a dimension of size n (Python's slice.indices).
std::vector<int64_t> slice_positions(const Slice& s, int64_t n) {
  DZ_CHECK(s.step != 0, "get_item: slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t k = *v < 0 ? *v + n : *v;
    return s.step > 0 ? std::clamp<int64_t>(k, 0, n) : std::clamp<int64_t>(k, -1, n - 1);
  };
  const int64_t start = clamp(s.start, s.step > 0 ? 0 : n - 1);
  const int64_t stop = clamp(s.stop, s.step > 0 ? n : -1);
  std::vector<int64_t> pos;
  for (int64_t i = start; s.step > 0 ? i < stop : i > stop; i += s.step) pos.push_back(i);
  return pos;
}

int64_t checked_position(int64_t i, int64_t n, size_t axis, const Shape& shape) {
  DZ_CHECK(i >= -n && i < n, "get_item: index {} is out of bounds for axis {} of shape {}", i,
           axis, to_string(shape));
  return i < 0 ? i + n : i;
}

// One dimension of the result: for each of its positions, the offset it adds.
using OutDim = std::vector<int64_t>;

}  // namespace

ResolvedIndex resolve_index(const Shape& x_shape, const IndexList& index) {
  const size_t ndim = x_shape.size();
  DZ_CHECK(index.size() <= ndim, "get_item: too many indices ({}) for a tensor of shape {}",
           index.size(), to_string(x_shape));
  const auto strides = contiguous_strides(x_shape);
  bool has_array = false;
  for (const Index& ix : index) has_array |= ix.kind() == Index::Kind::Array;

  // Advanced entries (arrays, and integers when an array is present) combine into one dimension.
  std::vector<size_t> advanced;
  int64_t adv_len = 1;
  for (size_t a = 0; a < index.size(); ++a) {
    const Index& ix = index[a];
    if (ix.kind() == Index::Kind::Array || (has_array && ix.kind() == Index::Kind::Int)) {
      advanced.push_back(a);
      const int64_t len = ix.kind() == Index::Kind::Array ? ix.as_array().size() : 1;
      DZ_CHECK(adv_len == 1 || len == 1 || len == adv_len,
               "get_item: index arrays of lengths {} and {} cannot be broadcast together for {}",
               adv_len, len, to_string(x_shape));
      if (len != 1) adv_len = len;
    }
  }
  const bool adjacent = advanced.empty() || advanced.back() - advanced.front() + 1 == advanced.size();

  ResolvedIndex r{x_shape, {}, {}};
  std::vector<OutDim> dims;
  int64_t base = 0;
  OutDim adv_dim;
  if (has_array) {
    adv_dim.assign(adv_len, 0);
    for (size_t a : advanced) {
      const Index& ix = index[a];
      for (int64_t k = 0; k < adv_len; ++k) {
        const int64_t i = ix.kind() == Index::Kind::Int ? ix.as_int()
                          : ix.as_array().size() == 1 ? ix.as_array()[0]
                                                      : ix.as_array()[k];
        adv_dim[k] += checked_position(i, x_shape[a], a, x_shape) * strides[a];
      }
    }
    if (!adjacent) {  // NumPy puts a split advanced dimension first
      dims.push_back(adv_dim);
      r.out_shape.push_back(adv_len);
    }
  }
  for (size_t a = 0; a < ndim; ++a) {
    if (a < index.size() && has_array && std::find(advanced.begin(), advanced.end(), a) != advanced.end()) {
      if (adjacent && a == advanced.front()) {
        dims.push_back(adv_dim);
        r.out_shape.push_back(adv_len);
      }
      continue;
    }
    if (a < index.size() && index[a].kind() == Index::Kind::Int) {
      base += checked_position(index[a].as_int(), x_shape[a], a, x_shape) * strides[a];
      continue;
    }
    const Slice s = a < index.size() ? index[a].as_slice() : Slice{};
    OutDim d;
    for (int64_t p : slice_positions(s, x_shape[a])) d.push_back(p * strides[a]);
    r.out_shape.push_back(static_cast<int64_t>(d.size()));
    dims.push_back(std::move(d));
  }
  // Offsets of the result, row-major: the cartesian sum of each dimension's contributions.
  r.offsets.assign(1, base);
  for (const OutDim& d : dims) {
    Offsets next;
    next.reserve(r.offsets.size() * d.size());
    for (int64_t o : r.offsets)
      for (int64_t c : d) next.push_back(o + c);
    r.offsets = std::move(next);
  }
  r.unique = !has_array;  // slices and integers never select an element twice
  return r;
}

std::string to_string(const IndexList& index) {
  std::vector<std::string> parts;
  for (const Index& ix : index) {
    if (ix.kind() == Index::Kind::Int) {
      parts.push_back(std::to_string(ix.as_int()));
    } else if (ix.kind() == Index::Kind::Slice) {
      const Slice& sl = ix.as_slice();
      auto bound = [](std::optional<int64_t> b) { return b ? std::to_string(*b) : std::string(); };
      parts.push_back(sl.step == 1 ? fmt::format("{}:{}", bound(sl.start), bound(sl.stop))
                                   : fmt::format("{}:{}:{}", bound(sl.start), bound(sl.stop), sl.step));
    } else {
      parts.push_back(fmt::format("[{}]", fmt::join(ix.as_array(), ", ")));
    }
  }
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

}  // namespace dezero
