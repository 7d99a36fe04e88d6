#pragma once
// The abstract Backend: the primitives every device implements. ops.cpp validates, infers
// shapes and allocates outputs; a backend only computes into preallocated, validated tensors.

#include <cstdint>
#include <memory>
#include <vector>

#include "dezero/core/conv.h"
#include "dezero/core/elementwise.h"
#include "dezero/core/tensor.h"

namespace dezero {

/// A batch of GEMMs C = alpha * op(A) op(B) + beta * C, row-major, op(A) (M, K), op(B) (K, N).
/// Each batch entry starts at the given element offsets into a, b and c. Entries that write the
/// same C block (equal c offsets) are applied in their order (so beta = 1 accumulates
/// deterministically); entries writing different blocks may run concurrently.
struct GemmSpec {
  int64_t M = 0, N = 0, K = 0;
  bool trans_a = false, trans_b = false;
  double alpha = 1, beta = 0;
  std::vector<int64_t> a_offsets, b_offsets, c_offsets;
};

/// A row-block copy: rows x cols elements from src (leading dimension src_ld, starting at
/// src_offset) into dst (leading dimension dst_ld, starting at dst_offset).
struct Copy2dSpec {
  int64_t rows = 0, cols = 0;
  int64_t src_offset = 0, src_ld = 0, dst_offset = 0, dst_ld = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  /// Storage of `bytes` bytes on this device, freed when the last handle goes.
  virtual std::shared_ptr<void> allocate(size_t bytes) = 0;
  /// Host memory (dst.nbytes() bytes) -> dst.
  virtual void copy_from_host(const void* src, Tensor& dst) = 0;
  /// src -> host memory (src.nbytes() bytes).
  virtual void copy_to_host(const Tensor& src, void* dst) = 0;

  /// out[i] = value.
  virtual void fill(Tensor& out, double value) = 0;
  /// out[i] = x[i] converted to out's dtype (same shape); a plain copy when dtypes agree.
  virtual void cast(const Tensor& x, Tensor& out) = 0;
  /// out[i] = op(x[i]).
  virtual void unary(UnaryOp op, const Tensor& x, Tensor& out) = 0;
  /// out = op(a, b), a and b broadcast to out's shape (stride 0 on broadcast dimensions).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) = 0;
  /// y = a x + b y elementwise, in place (validated: one shape, dtype and device; x may be y); a
  /// zero coefficient does not read its operand.
  virtual void axpby(double a, const Tensor& x, double b, Tensor& y) = 0;
  /// out (x's ndim, 1 on reduced axes) = op over the axes where out has size 1 and x does not.
  virtual void reduce(ReduceOp op, const Tensor& x, Tensor& out) = 0;
  /// out (x's shape with size 1 at axis) = index of the max (op Max) or min (op Min) along axis.
  virtual void arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out) = 0;
  /// out = x with its axes permuted (out.shape[i] = x.shape[axes[i]]).
  virtual void permute(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) = 0;
  /// Batched GEMM over a, b into c.
  virtual void gemm(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& spec) = 0;
  /// out[i] = x[index's offset i].
  virtual void gather(const Tensor& x, const ResolvedIndex& index, Tensor& out) = 0;
  /// out = 0, then out[index's offset i] += src[i] (repeated offsets accumulate in order; the
  /// index's `unique` and `blocks` are promises a backend may use).
  virtual void scatter_add(const Tensor& src, const ResolvedIndex& index, Tensor& out) = 0;
  /// Strided row-block copy (concat, split, slices).
  virtual void copy2d(const Tensor& src, Tensor& dst, const Copy2dSpec& spec) = 0;
  /// Columns of samples [n0, n1) of x into the start of col ((n1 - n0) x C*KH*KW x OH*OW).
  virtual void im2col(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col) = 0;
  /// Samples [n0, n1) of the image x (overwritten) from the start of col, patches summed.
  virtual void col2im(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x) = 0;
  /// Depthwise conv (groups = C = OC): y (N, C, OH, OW) from x (N, C, H, W), W (C, 1, KH, KW) and
  /// the bias b (C,), which may be undefined (no bias).
  virtual void depthwise_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g,
                                Tensor& y) = 0;
  /// Its input gradient (a depthwise transposed conv): gx (N, C, H, W) from gy and W.
  virtual void depthwise_conv2d_grad_x(const Tensor& gy, const Tensor& W, const Conv2dGeometry& g, Tensor& gx) = 0;
  /// Its weight gradient: gW (C, 1, KH, KW) from x and gy.
  virtual void depthwise_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, Tensor& gW) = 0;
  /// For each (n, c, oh, ow) window, y = its maximum and the index's offset = that maximum's flat
  /// offset in x, kept where this backend's gather and scatter_add read it (host or device).
  virtual void max_pool2d(const Tensor& x, const Conv2dGeometry& g, ResolvedIndex& index, Tensor& y) = 0;

  // Optional convolution paths of a backend's own (the CPU's direct kernels and sample-at-a-time
  // products, CUDA's batch-wide columns). Each returns false where this backend has no such
  // path for these arguments; the caller then runs im2col/col2im and gemm over batch chunks.
  /// y (N, OC, OH, OW) with y[n, g] = W_g . columns(x[n])_g + b (b may be undefined).
  virtual bool try_conv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
    return false;
  }
  /// y (N, C, H, W) = col2im(W_g^T . x[n, g]) + b from x (N, OC, OH, OW): conv2d's input gradient.
  virtual bool try_deconv2d(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
    return false;
  }
  /// gW (OC, C/G, KH, KW) = sum over n of gy[n, g] . columns(x[n])_g^T.
  virtual bool try_conv2d_grad_w(const Tensor&, const Tensor&, const Conv2dGeometry&, int64_t, Tensor&) {
    return false;
  }
};

/// The backend of a device; throws when that device's backend is not built.
Backend& backend_for(Device device);

/// Serves `device` from `backend` while the guard lives (not thread-safe; for tests): a
/// CPU-backed stand-in behind Device::CUDA lets GPU-less machines run the device checks,
/// transfers and device propagation for real.
class BackendOverrideGuard {
 public:
  BackendOverrideGuard(Device device, Backend& backend);
  ~BackendOverrideGuard();
  BackendOverrideGuard(const BackendOverrideGuard&) = delete;
  BackendOverrideGuard& operator=(const BackendOverrideGuard&) = delete;

 private:
  Device device_;
  Backend* previous_;
};

/// The CPU backend (Eigen + OpenMP).
Backend& cpu_backend();
/// The CUDA backend, loaded from libdezero_cuda.so on first use; throws, with the reason, when
/// it cannot be loaded or no GPU is present.
Backend& cuda_backend();

}  // namespace dezero
