// Pooling: max_pool2d (a gather at the windows' maxima, so differentiable at any order),
// avg_pool2d (im2col then mean) and global_avg_pool2d.

#include <memory>

#include "core/function.h"
#include "functions/functions.h"
#include "functions/internal.h"

namespace dezero::functions {

Variable max_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& o) {
  const Pair stride = o.stride.value_or(kernel);
  const Conv2dGeometry g = conv2d_geometry(x.shape(), kernel, stride, o.pad, o.dilation, "max_pool2d");
  DZ_CHECK(o.pad.h <= (g.DH * (g.KH - 1) + 1) / 2 && o.pad.w <= (g.DW * (g.KW - 1) + 1) / 2,
           "max_pool2d: pad ({}, {}) must be at most half the effective kernel ({}, {}) for x {}", o.pad.h,
           o.pad.w, g.DH * (g.KH - 1) + 1, g.DW * (g.KW - 1) + 1, to_string(x.shape()));
  // The maxima's positions are found once; y = x[positions] is a GetItem, whose backward is a
  // scatter-add whose backward is again a GetItem: every order of derivative exists.
  auto index = std::make_shared<ResolvedIndex>();
  index->x_shape = x.shape();
  index->out_shape = {g.N, g.C, g.OH, g.OW};
  index->offsets = ops::max_pool2d_argmax(x.data(), g);
  // Windows that cannot overlap select each input at most once: the backward may run in parallel.
  index->unique = g.SH >= g.DH * (g.KH - 1) + 1 && g.SW >= g.DW * (g.KW - 1) + 1;
  return detail::gather(x, std::move(index));
}

Variable avg_pool2d(const Variable& x, Pair kernel, const Pool2dOptions& o) {
  DZ_CHECK(o.dilation == Pair(1), "avg_pool2d: dilation is not supported (PyTorch has none); got ({}, {})",
           o.dilation.h, o.dilation.w);
  const Pair stride = o.stride.value_or(kernel);
  const Conv2dGeometry g = conv2d_geometry(x.shape(), kernel, stride, o.pad, 1, "avg_pool2d");
  DZ_CHECK(o.pad.h <= g.KH / 2 && o.pad.w <= g.KW / 2,
           "avg_pool2d: pad ({}, {}) must be at most half the kernel ({}, {}) for x {}", o.pad.h, o.pad.w,
           g.KH, g.KW, to_string(x.shape()));
  const Variable col = im2col(x, kernel, {stride, o.pad, 1});
  return reshape(mean(reshape(col, {g.N, g.C, g.KH * g.KW, g.OH, g.OW}), {2}), {g.N, g.C, g.OH, g.OW});
}

Variable global_avg_pool2d(const Variable& x) {
  DZ_CHECK(x.ndim() == 4, "global_avg_pool2d: x must be (N, C, H, W); got {}", to_string(x.shape()));
  return mean(x, {2, 3}, true);
}

}  // namespace dezero::functions
