// The CUDA backend: every Backend primitive on the one stream, float32 and float64. This file
// checks and prepares (shapes to strides, host offsets to device), the kernels are in
// elementwise.cu and cuda_conv.cu, the GEMMs in cuda_gemm.cpp (cuBLAS).

#include <algorithm>

#include "dezero/core/backend.h"
#include "dezero/core/shape.h"
#include "dezero/cuda/cuda_check.h"
#include "dezero/cuda/kernels.h"
#include "dezero/cuda/runtime.h"

namespace dezero {
namespace cuda {
namespace {

using kernels::Indexer;

// Strides of `in` read as `out`'s shape (right-aligned; 0 on broadcast dimensions).
void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides) {
  const auto cs = contiguous_strides(in);
  const size_t off = out.size() - in.size();
  for (size_t d = 0; d < out.size(); ++d) strides[d] = d < off || in[d - off] == 1 ? 0 : cs[d - off];
}

void check_dims(const Shape& s, const char* op) {
  DZ_CHECK(s.size() <= static_cast<size_t>(kernels::kMaxDims), "cuda {}: at most {} dimensions; got {}", op,
           kernels::kMaxDims, to_string(s));
}

// The index's offsets on the device: its own buffer when it has one (max pooling's argmax), else
// its host offsets copied there for this call.
std::shared_ptr<void> offsets_on_device(const ResolvedIndex& index, int64_t count) {
  if (index.device_offsets) return index.device_offsets;
  DZ_CHECK(static_cast<int64_t>(index.offsets.size()) == count, "cuda get_item: {} offsets for {} elements",
           index.offsets.size(), count);
  return to_device(index.offsets.data(), index.offsets.size() * sizeof(int64_t));
}

class CudaBackend final : public Backend {
 public:
  std::shared_ptr<void> allocate(size_t bytes) override { return cuda::allocate(bytes); }

  void copy_from_host(const void* src, Tensor& dst) override {
    if (dst.nbytes() == 0) return;
    DZ_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src, dst.nbytes(), cudaMemcpyHostToDevice, stream()));
    DZ_CUDA_CHECK(cudaStreamSynchronize(stream()));  // src is pageable memory the caller may free
  }
  void copy_to_host(const Tensor& src, void* dst) override {
    if (src.nbytes() == 0) return;
    DZ_CUDA_CHECK(cudaMemcpyAsync(dst, src.raw_data(), src.nbytes(), cudaMemcpyDeviceToHost, stream()));
    DZ_CUDA_CHECK(cudaStreamSynchronize(stream()));
  }

  void fill(Tensor& out, double value) override {
    DZ_CUDA_CHECK(kernels::fill(out.dtype(), out.raw_data(), out.numel(), value, stream()));
  }

  void cast(const Tensor& x, Tensor& out) override {
    if (x.dtype() == out.dtype()) {
      if (x.nbytes() > 0)
        DZ_CUDA_CHECK(cudaMemcpyAsync(out.raw_data(), x.raw_data(), x.nbytes(), cudaMemcpyDeviceToDevice, stream()));
      return;
    }
    DZ_CUDA_CHECK(kernels::cast(x.dtype(), out.dtype(), x.raw_data(), out.raw_data(), x.numel(), stream()));
  }

  void unary(UnaryOp op, const Tensor& x, Tensor& out) override {
    DZ_CUDA_CHECK(kernels::unary(op, x.dtype(), x.raw_data(), out.raw_data(), x.numel(), stream()));
  }

  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override {
    check_dims(out.shape(), "binary");
    const bool same = a.shape() == out.shape() && b.shape() == out.shape();
    Indexer ix;
    ix.ndim = static_cast<int>(out.ndim());
    for (int d = 0; d < ix.ndim; ++d) ix.shape[d] = out.shape()[d];
    broadcast_strides(a.shape(), out.shape(), ix.sa);
    broadcast_strides(b.shape(), out.shape(), ix.sb);
    DZ_CUDA_CHECK(kernels::binary(op, out.dtype(), a.raw_data(), b.raw_data(), out.raw_data(), out.numel(), same, ix,
                                  stream()));
  }

  void axpby(double a, const Tensor& x, double b, Tensor& y) override {
    DZ_CUDA_CHECK(kernels::axpby(y.dtype(), a, x.raw_data(), b, y.raw_data(), y.numel(), stream()));
  }

  void reduce(ReduceOp op, const Tensor& x, Tensor& out) override {
    check_dims(x.shape(), "reduce");
    const auto xs = contiguous_strides(x.shape());
    Indexer kept, reduced;
    int64_t n_red = x.numel() == 0 ? 0 : 1;
    for (size_t d = 0; d < x.shape().size(); ++d) {
      const bool is_reduced = out.shape()[d] == 1 && x.shape()[d] != 1;
      Indexer& which = is_reduced ? reduced : kept;
      which.shape[which.ndim] = x.shape()[d];
      which.sa[which.ndim] = xs[d];
      ++which.ndim;
      if (is_reduced) n_red *= x.shape()[d];
    }
    // Few outputs over many elements reduce in parts (all blocks busy), then over the parts.
    const int64_t parts = kernels::reduce_parts(out.numel(), n_red);
    const auto partials = parts > 1 ? cuda::allocate(static_cast<size_t>(out.numel() * parts) * dtype_size(x.dtype()))
                                    : std::shared_ptr<void>();
    DZ_CUDA_CHECK(kernels::reduce(op, x.dtype(), x.raw_data(), out.raw_data(), out.numel(), n_red, kept, reduced,
                                  partials.get(), stream()));
  }

  void arg_reduce(ReduceOp op, const Tensor& x, int64_t axis, Tensor& out) override {
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.shape()[i];
    for (int64_t i = axis + 1; i < x.ndim(); ++i) inner *= x.shape()[i];
    DZ_CUDA_CHECK(kernels::arg_reduce(op, x.dtype(), x.raw_data(), out.raw_data(), outer, x.shape()[axis], inner,
                                      stream()));
  }

  void permute(const Tensor& x, const std::vector<int64_t>& axes, Tensor& out) override {
    check_dims(x.shape(), "permute");
    const auto xs = contiguous_strides(x.shape());
    Indexer ix;
    ix.ndim = static_cast<int>(axes.size());
    for (int d = 0; d < ix.ndim; ++d) {
      ix.shape[d] = out.shape()[d];
      ix.sa[d] = xs[axes[d]];
    }
    DZ_CUDA_CHECK(kernels::permute(x.dtype(), x.raw_data(), out.raw_data(), out.numel(), ix, stream()));
  }

  void gemm(const Tensor& a, const Tensor& b, Tensor& c, const GemmSpec& spec) override { cuda::gemm(a, b, c, spec); }

  void gather(const Tensor& x, const ResolvedIndex& index, Tensor& out) override {
    if (out.numel() == 0) return;
    const auto d = offsets_on_device(index, out.numel());
    DZ_CUDA_CHECK(kernels::gather(x.dtype(), x.raw_data(), static_cast<const int64_t*>(d.get()), out.raw_data(),
                                  out.numel(), stream()));
  }

  void scatter_add(const Tensor& src, const ResolvedIndex& index, Tensor& out) override {
    fill(out, 0.0);
    if (src.numel() == 0) return;
    const auto d = offsets_on_device(index, src.numel());
    DZ_CUDA_CHECK(kernels::scatter_add(src.dtype(), src.raw_data(), static_cast<const int64_t*>(d.get()),
                                       out.raw_data(), src.numel(), stream()));
  }

  void copy2d(const Tensor& src, Tensor& dst, const Copy2dSpec& s) override {
    if (s.rows == 0 || s.cols == 0) return;
    const size_t es = dtype_size(src.dtype());
    DZ_CUDA_CHECK(cudaMemcpy2DAsync(static_cast<char*>(dst.raw_data()) + s.dst_offset * es, s.dst_ld * es,
                                    static_cast<const char*>(src.raw_data()) + s.src_offset * es, s.src_ld * es,
                                    s.cols * es, s.rows, cudaMemcpyDeviceToDevice, stream()));
  }

  void im2col(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& col) override {
    DZ_CUDA_CHECK(kernels::im2col(x.dtype(), x.raw_data(), col.raw_data(), n0, n1, geo(g), false, stream()));
  }
  void col2im(const Tensor& col, const Conv2dGeometry& g, int64_t n0, int64_t n1, Tensor& x) override {
    DZ_CUDA_CHECK(kernels::col2im(col.dtype(), col.raw_data(), x.raw_data(), nullptr, n0, n1, geo(g), false, stream()));
  }
  void depthwise_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g,
                        Tensor& y) override {
    DZ_CUDA_CHECK(kernels::depthwise_conv2d(x.dtype(), x.raw_data(), W.raw_data(), b.defined() ? b.raw_data() : nullptr,
                                            y.raw_data(), geo(g), stream()));
  }
  void depthwise_conv2d_grad_x(const Tensor& gy, const Tensor& W, const Conv2dGeometry& g, Tensor& gx) override {
    DZ_CUDA_CHECK(
        kernels::depthwise_conv2d_grad_x(gy.dtype(), gy.raw_data(), W.raw_data(), gx.raw_data(), geo(g), stream()));
  }
  void depthwise_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, Tensor& gW) override {
    DZ_CUDA_CHECK(
        kernels::depthwise_conv2d_grad_w(x.dtype(), x.raw_data(), gy.raw_data(), gW.raw_data(), geo(g), stream()));
  }
  // Convolutions (not depthwise: those have their own kernels) through batch-wide columns.
  bool try_conv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                  Tensor& y) override {
    return conv2d_batch_wide(x, W, b, g, groups, y);
  }
  bool try_deconv2d(const Tensor& x, const Tensor& W, const Tensor& b, const Conv2dGeometry& g, int64_t groups,
                    Tensor& y) override {
    return deconv2d_batch_wide(x, W, b, g, groups, y);
  }
  bool try_conv2d_grad_w(const Tensor& x, const Tensor& gy, const Conv2dGeometry& g, int64_t groups,
                         Tensor& gW) override {
    return conv2d_grad_w_batch_wide(x, gy, g, groups, gW);
  }

  // The argmax stays on the device (index.device_offsets), where the backward's scatter-add
  // reads it: no copy to the host and no synchronization.
  void max_pool2d(const Tensor& x, const Conv2dGeometry& g, ResolvedIndex& index, Tensor& y) override {
    index.device_offsets = cuda::allocate(static_cast<size_t>(y.numel()) * sizeof(int64_t));
    DZ_CUDA_CHECK(kernels::max_pool2d(x.dtype(), x.raw_data(), static_cast<int64_t*>(index.device_offsets.get()),
                                      y.raw_data(), geo(g), stream()));
  }
};

}  // namespace

Backend& backend() {
  static CudaBackend b;
  return b;
}

}  // namespace cuda

}  // namespace dezero
