// Shape functions: reshape, transpose, get_item, expand_dims, flatten, concat, split, embed_id.

#include <memory>
#include <numeric>

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"
#include "dezero/functions/internal.h"

namespace dezero::functions {
namespace {

// y = x.reshape(shape)    gx = gy.reshape(x.shape)
class Reshape final : public Function {
 public:
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  std::string name() const override { return "reshape"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::reshape(xs[0], shape_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {reshape(gys[0], input(0).shape())};
  }

 private:
  Shape shape_;
};

// y = x.transpose(axes)    gx = gy.transpose(argsort(axes))
class Transpose final : public Function {
 public:
  explicit Transpose(std::vector<int64_t> axes) : axes_(std::move(axes)) {}
  std::string name() const override { return "transpose"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    if (axes_.empty()) {
      axes_.resize(xs[0].ndim());
      std::iota(axes_.rbegin(), axes_.rend(), 0);
    }
    return {ops::transpose(xs[0], axes_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    std::vector<int64_t> inverse(axes_.size());
    for (size_t i = 0; i < axes_.size(); ++i) {
      const int64_t a = axes_[i] < 0 ? axes_[i] + static_cast<int64_t>(axes_.size()) : axes_[i];
      inverse[a] = static_cast<int64_t>(i);
    }
    return {transpose(gys[0], inverse)};
  }

 private:
  std::vector<int64_t> axes_;
};

using SharedIndex = std::shared_ptr<const ResolvedIndex>;

Variable get_item_grad(const Variable& gy, const SharedIndex& index);

// y = x[index]    gx = scatter-add of gy into zeros(x.shape)
class GetItem final : public Function {
 public:
  explicit GetItem(SharedIndex index) : index_(std::move(index)) {}
  std::string name() const override { return "get_item"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::gather(xs[0], *index_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {get_item_grad(gys[0], index_)};
  }

 private:
  SharedIndex index_;
};

// y = scatter_add(gy, index)    ggy = ggx[index]  (so get_item is differentiable at any order)
class GetItemGrad final : public Function {
 public:
  explicit GetItemGrad(SharedIndex index) : index_(std::move(index)) {}
  std::string name() const override { return "get_item_grad"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::scatter_add(xs[0], *index_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {call<GetItem>(gys[0], index_)};
  }

 private:
  SharedIndex index_;
};

Variable get_item_grad(const Variable& gy, const SharedIndex& index) {
  return call<GetItemGrad>(gy, index);
}

// y = concat(xs, axis)    gxs = split(gy, sizes, axis)
class Concat final : public Function {
 public:
  explicit Concat(int64_t axis) : axis_(axis) {}
  std::string name() const override { return "concat"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::concat(xs, axis_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    std::vector<int64_t> sizes;
    for (const Variable& x : inputs()) sizes.push_back(x.size(axis_));
    return split(gys[0], sizes, axis_);
  }

 private:
  int64_t axis_;
};

// ys = split(x, sizes, axis)    gx = concat(gys, axis)
class Split final : public Function {
 public:
  Split(std::vector<int64_t> sizes, int64_t axis) : sizes_(std::move(sizes)), axis_(axis) {}
  std::string name() const override { return "split"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return ops::split(xs[0], sizes_, axis_);
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    return {concat(gys, axis_)};
  }

 private:
  std::vector<int64_t> sizes_;
  int64_t axis_;
};

}  // namespace

Variable reshape(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return call<Reshape>(x, shape);
}

Variable transpose(const Variable& x, const std::vector<int64_t>& axes) {
  return call<Transpose>(x, axes);
}

Variable get_item(const Variable& x, const IndexList& index) {
  return detail::gather(x, std::make_shared<const ResolvedIndex>(resolve_index(x.shape(), index)));
}

Variable detail::gather(const Variable& x, std::shared_ptr<const ResolvedIndex> index) {
  return call<GetItem>(x, std::move(index));
}

Variable detail::scatter_add(const Variable& gy, std::shared_ptr<const ResolvedIndex> index) {
  return get_item_grad(gy, index);
}

Variable expand_dims(const Variable& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.ndim() + 1, "expand_dims");
  Shape shape = x.shape();
  shape.insert(shape.begin() + a, 1);
  return reshape(x, shape);
}

Variable flatten(const Variable& x) {
  DZ_CHECK(x.ndim() >= 1, "flatten: needs at least 1 dimension; got {}", to_string(x.shape()));
  return reshape(x, {x.size(0), -1});
}

Variable concat(const std::vector<Variable>& xs, int64_t axis) {
  DZ_CHECK(!xs.empty(), "concat: needs at least one Variable");
  return call<Concat>(xs, normalize_axis(axis, xs[0].ndim(), "concat"));
}

std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t axis) {
  return call_n<Split>({x}, sizes, normalize_axis(axis, x.ndim(), "split"));
}

Variable embed_id(const Tensor& ids, const Variable& W) {
  DZ_CHECK(W.ndim() == 2, "embed_id: W must be (V, D); got {}", to_string(W.shape()));
  Shape out_shape = ids.shape();
  out_shape.push_back(W.size(1));
  return reshape(get_item(W, {Index(ids.reshape({-1}))}), out_shape);
}

}  // namespace dezero::functions
