#pragma once
// Convolution geometry and the tensor-level convolution ops (not differentiable): im2col,
// col2im, the fused grouped conv2d, its weight gradient, transposed convolution and max
// pooling. They process the batch in chunks so that the column buffer stays under the
// device's workspace limit, reusing one workspace.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dezero/core/index.h"
#include "dezero/core/tensor.h"

namespace dezero {

/// A (height, width) pair; a single number means both: `.stride = 2`, `.pad = {1, 0}`.
struct Pair {
  ///@{
  /// Height and width.
  int64_t h = 0, w = 0;
  ///@}
  /// The same number for height and width.
  Pair(int64_t both = 0) : h(both), w(both) {}  // NOLINT: implicit by design
  /// Height h_ and width w_.
  Pair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  /// Equal when both heights and both widths are.
  bool operator==(const Pair&) const = default;
};

/// An image (N, C, H, W) seen through a KH x KW window with stride, padding and dilation,
/// giving an OH x OW grid of patches. im2col's columns are (N, C*KH*KW, OH*OW).
struct Conv2dGeometry {
  ///@{
  /// The image: batch size, channels, height and width.
  int64_t N = 0, C = 0, H = 0, W = 0;
  ///@}
  ///@{
  /// The window: kernel (KH, KW), stride (SH, SW), padding (PH, PW) and dilation (DH, DW).
  int64_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1;
  ///@}
  ///@{
  /// The grid of windows: output height and width.
  int64_t OH = 0, OW = 0;
  ///@}
  /// Rows of an image's im2col columns: C*KH*KW.
  int64_t col_rows() const { return C * KH * KW; }
  /// Columns of an image's im2col columns (one per window): OH*OW.
  int64_t col_cols() const { return OH * OW; }
  /// A 1x1 window with stride 1 and no padding: the columns are the input itself.
  bool pointwise() const { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0; }
  /// Every tap of every window lies inside the image (no padding and, in ceil mode, no window
  /// running past the bottom or right edge): kernels may skip bounds checks.
  bool windows_inside() const {
    return PH == 0 && PW == 0 && (OH - 1) * SH + DH * (KH - 1) < H && (OW - 1) * SW + DW * (KW - 1) < W;
  }
};

/// Output size of a convolution: (size + 2 pad - dilation (kernel - 1) - 1) / stride + 1.
int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation);
/// Output size of a transposed convolution (PyTorch's conv_transpose2d).
int64_t deconv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                           int64_t dilation, int64_t output_padding);

/// Validates x (N, C, H, W), kernel, stride >= 1, pad >= 0, dilation >= 1 and a kernel that
/// fits the padded input; throws naming `op` and the shapes.
Conv2dGeometry conv2d_geometry(const Shape& x_shape, Pair kernel, Pair stride, Pair pad,
                               Pair dilation, const char* op);

/// Output size of a pooling window (PyTorch's rule): as conv_output_size, or rounded up in
/// ceil mode, where a last window starting in the bottom or right padding is dropped.
int64_t pool_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                         bool ceil_mode);

/// conv2d_geometry for a pooling window: the output size in ceil mode as pool_output_size.
Conv2dGeometry pool2d_geometry(const Shape& x_shape, Pair kernel, Pair stride, Pair pad, Pair dilation,
                               bool ceil_mode, const char* op);

/// Throws naming `op`, the first such output row or column and the geometry when a window lies
/// wholly in the padding (possible with dilation): such a window has no element to take a
/// maximum of or to average.
void check_windows_reach_input(const Conv2dGeometry& g, const char* op);

/// Bytes the column buffer of one conv on `device` may take before the batch is processed in chunks.
void set_conv_workspace_limit(size_t bytes, Device device = Device::CPU);
/// The current limit on `device`: by default 2 MiB on the CPU (chunks whose columns stay in
/// cache are fastest) and 256 MiB on CUDA (where one large batched GEMM is).
size_t conv_workspace_limit(Device device = Device::CPU);

namespace ops {

/// x (N, C, H, W) -> columns (N, C*KH*KW, OH*OW).
Tensor im2col(const Tensor& x, const Conv2dGeometry& g);
/// columns (N, C*KH*KW, OH*OW) -> image (N, C, H, W), overlapping patches summed.
Tensor col2im(const Tensor& col, const Conv2dGeometry& g);
/// y = conv(x, W) + b with groups. x (N, C, H, W), W (OC, C/groups, KH, KW), b (OC) or undefined.
Tensor conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups);
/// dL/dW of conv2d: x (N, C, H, W), gy (N, OC, OH, OW) -> (OC, C/groups, KH, KW).
Tensor conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups,
                     int64_t out_channels);
/// Transposed conv: x (N, Cin, OH, OW), W (Cin, OC/groups, KH, KW) -> (N, OC, H, W) of g's image
/// (the geometry is that of the conv mapping the output back to x), + b (OC) if defined.
Tensor deconv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups);
/// Max pooling: y (N, C, OH, OW) = each window's maximum; `index` is set to the index that
/// picks each maximum out of x (the first one; a NaN wins; padding never does): gather(x, index)
/// is y, scatter_add(gy, index) the gradient. Its offsets stay on x's device.
Tensor max_pool2d(const Tensor& x, const Conv2dGeometry& g, ResolvedIndex& index);

}  // namespace ops
}  // namespace dezero
