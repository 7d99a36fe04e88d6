// pad2d: zeros, reflect, replicate and circular padding of the last two axes. Zero padding is a
// scatter of x into a zero image, the other modes a gather of x's elements, so both are
// differentiable at any order through the get_item pair (gather <-> scatter-add).

#include <memory>

#include "dezero/core/error.h"
#include "dezero/functions/functions.h"
#include "dezero/functions/internal.h"

namespace dezero::functions {
namespace {

const char* mode_name(PaddingMode mode) {
  switch (mode) {
    case PaddingMode::Zeros:
      return "zeros";
    case PaddingMode::Reflect:
      return "reflect";
    case PaddingMode::Replicate:
      return "replicate";
    case PaddingMode::Circular:
      return "circular";
  }
  return "?";
}

// The input index that output index i (of size + before + after) reads along one axis.
int64_t source_index(int64_t i, int64_t size, int64_t before, PaddingMode mode) {
  const int64_t j = i - before;  // in [-before, size + after)
  if (j >= 0 && j < size) return j;
  switch (mode) {
    case PaddingMode::Reflect:
      return j < 0 ? -j : 2 * (size - 1) - j;
    case PaddingMode::Replicate:
      return j < 0 ? 0 : size - 1;
    default:
      return ((j % size) + size) % size;  // circular
  }
}

void check_pad(const Variable& x, Padding2d p, PaddingMode mode) {
  DZ_CHECK(x.ndim() >= 2, "pad2d: x must have at least 2 axes (..., H, W); got {}",
           to_string(x.shape()));
  DZ_CHECK(p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0,
           "pad2d: padding (top {}, bottom {}, left {}, right {}) must be non-negative", p.top,
           p.bottom, p.left, p.right);
  const int64_t H = x.size(x.ndim() - 2), W = x.size(x.ndim() - 1);
  const int64_t rows = std::max(p.top, p.bottom), cols = std::max(p.left, p.right);
  if (mode == PaddingMode::Reflect)
    DZ_CHECK(rows < H && cols < W,
             "pad2d: reflect padding (top {}, bottom {}, left {}, right {}) must be smaller "
             "than the padded axes of x {}",
             p.top, p.bottom, p.left, p.right, to_string(x.shape()));
  if (mode == PaddingMode::Circular)
    DZ_CHECK(rows <= H && cols <= W,
             "pad2d: circular padding (top {}, bottom {}, left {}, right {}) must not "
             "exceed the padded axes of x {}",
             p.top, p.bottom, p.left, p.right, to_string(x.shape()));
  if (mode != PaddingMode::Zeros && (rows > 0 || cols > 0))
    DZ_CHECK(H > 0 && W > 0, "pad2d: {} padding of the empty axes of x {}", mode_name(mode),
             to_string(x.shape()));
}

}  // namespace

Variable pad2d(const Variable& x, Padding2d p, PaddingMode mode) {
  check_pad(x, p, mode);
  if (p.top == 0 && p.bottom == 0 && p.left == 0 && p.right == 0) return x;
  const Shape& s = x.shape();
  const size_t nd = s.size();
  const int64_t H = s[nd - 2], W = s[nd - 1], OH = H + p.top + p.bottom, OW = W + p.left + p.right;
  int64_t planes = 1;
  for (size_t i = 0; i + 2 < nd; ++i) planes *= s[i];
  Shape padded = s;
  padded[nd - 2] = OH;
  padded[nd - 1] = OW;
  auto index = std::make_shared<ResolvedIndex>();
  index->blocks = planes;
  if (mode ==
      PaddingMode::Zeros) {  // x's elements scattered into a zero image: one offset per x element
    index->x_shape = padded;
    index->out_shape = s;
    index->unique = true;
    index->offsets.resize(static_cast<size_t>(planes * H * W));
    int64_t* out = index->offsets.data();
    for (int64_t n = 0; n < planes; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) *out++ = (n * OH + h + p.top) * OW + w + p.left;
    return detail::scatter_add(x, std::move(index));
  }
  index->x_shape = s;  // every output element gathered from x
  index->out_shape = padded;
  index->offsets.resize(static_cast<size_t>(planes * OH * OW));
  std::vector<int64_t> rows(static_cast<size_t>(OH)), cols(static_cast<size_t>(OW));
  for (int64_t i = 0; i < OH; ++i) rows[static_cast<size_t>(i)] = source_index(i, H, p.top, mode);
  for (int64_t j = 0; j < OW; ++j) cols[static_cast<size_t>(j)] = source_index(j, W, p.left, mode);
  int64_t* out = index->offsets.data();
  for (int64_t n = 0; n < planes; ++n)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j)
        *out++ = (n * H + rows[static_cast<size_t>(i)]) * W + cols[static_cast<size_t>(j)];
  return detail::gather(x, std::move(index));
}

}  // namespace dezero::functions
