// Reductions: sum, mean, max, min over axes.

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero::functions {
namespace {

// The reduced shape with keepdims, so gy broadcasts back over x.
Shape kept_shape(const Shape& x_shape, const std::vector<int64_t>& axes) {
  Shape s = x_shape;
  for (int64_t a : normalize_axes(axes, static_cast<int64_t>(x_shape.size()), "sum")) s[a] = 1;
  return s;
}

// y = sum(x, axes)    gx = broadcast_to(gy, x.shape)
class Sum final : public Function {
 public:
  Sum(std::vector<int64_t> axes, bool keepdims) : axes_(std::move(axes)), keepdims_(keepdims) {}
  std::string name() const override { return "sum"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {ops::sum(xs[0], axes_, keepdims_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Shape& x_shape = input(0).shape();
    return {broadcast_to(reshape(gys[0], kept_shape(x_shape, axes_)), x_shape)};
  }

 private:
  std::vector<int64_t> axes_;
  bool keepdims_;
};

// y = max(x, axes)    gx = gy where x equals the max, 0 elsewhere (likewise min)
class Extremum final : public Function {
 public:
  Extremum(bool is_max, std::vector<int64_t> axes, bool keepdims)
      : is_max_(is_max), axes_(std::move(axes)), keepdims_(keepdims) {}
  std::string name() const override { return is_max_ ? "max" : "min"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    return {is_max_ ? ops::max(xs[0], axes_, keepdims_) : ops::min(xs[0], axes_, keepdims_)};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Shape kept = kept_shape(input(0).shape(), axes_);
    const Tensor y =
        output_meta(0).shape == kept ? output(0).data() : output(0).data().reshape(kept);
    const Variable mask = Variable::constant(ops::eq(input(0).data(), y));
    return {broadcast_to(reshape(gys[0], kept), input(0).shape()) * mask};
  }

 private:
  bool is_max_;
  std::vector<int64_t> axes_;
  bool keepdims_;
};

}  // namespace

Variable sum(const Variable& x, const std::vector<int64_t>& axes, bool keepdims) {
  return call<Sum>(x, axes, keepdims);
}

Variable mean(const Variable& x, const std::vector<int64_t>& axes, bool keepdims) {
  int64_t count = 1;
  for (int64_t a : normalize_axes(axes, x.ndim(), "mean")) count *= x.size(a);
  DZ_CHECK(count > 0, "mean: mean over zero elements of {}", to_string(x.shape()));
  return sum(x, axes, keepdims) * (1.0 / static_cast<double>(count));
}

Variable max(const Variable& x, const std::vector<int64_t>& axes, bool keepdims) {
  return call<Extremum>(x, true, axes, keepdims);
}

Variable min(const Variable& x, const std::vector<int64_t>& axes, bool keepdims) {
  return call<Extremum>(x, false, axes, keepdims);
}

Variable argmax(const Variable& x, int64_t axis, bool keepdims) {
  return Variable::constant(ops::argmax(x.data(), axis, keepdims));
}

Variable argmin(const Variable& x, int64_t axis, bool keepdims) {
  return Variable::constant(ops::argmin(x.data(), axis, keepdims));
}

}  // namespace dezero::functions
