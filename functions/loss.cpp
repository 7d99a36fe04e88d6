// Losses: mean_squared_error, softmax_cross_entropy, sigmoid_cross_entropy,
// binary_cross_entropy; and accuracy (not differentiable).

#include <cmath>

#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero::functions {
namespace {

// DeZero's len(x): the first dimension (1 for a scalar).
int64_t batch_size(const Shape& s) { return s.empty() ? 1 : s[0]; }

// Integer labels in [0, C), validated, from a (N,) tensor of any dtype.
std::vector<int64_t> checked_labels(const Tensor& t, int64_t N, int64_t C, const char* op,
                                    const Shape& x_shape) {
  DZ_CHECK(t.defined() && t.ndim() == 1 && t.size(0) == N,
           "{}: t must be (N,) labels for x {}; got {}", op, to_string(x_shape),
           t.defined() ? to_string(t.shape()) : "undefined");
  std::vector<int64_t> labels;
  for (double v : t.to_vector()) {
    DZ_CHECK(v == std::floor(v) && v >= 0 && v < static_cast<double>(C),
             "{}: label {} is not an integer class in [0, {}) for x {}", op, v, C, to_string(x_shape));
    labels.push_back(static_cast<int64_t>(v));
  }
  return labels;
}

// y = sum((x0 - x1)^2) / N    gx0 = gy (x0 - x1) 2 / N,  gx1 = -gx0
class MeanSquaredError final : public Function {
 public:
  std::string name() const override { return "mean_squared_error"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    const Tensor diff = ops::sub(xs[0], xs[1]);
    const double n = static_cast<double>(batch_size(diff.shape()));
    return {ops::mul(ops::sum(ops::square(diff)), ops::scalar_like(diff, 1.0 / n))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable diff = input(0) - input(1);
    const Variable g = gys[0] * diff * (2.0 / static_cast<double>(batch_size(diff.shape())));
    return {sum_to(g, input(0).shape()), sum_to(-g, input(1).shape())};
  }
};

// y = -1/N sum_n log softmax(x)[n, t_n]    gx = (softmax(x) - onehot(t)) gy / N
class SoftmaxCrossEntropy final : public Function {
 public:
  explicit SoftmaxCrossEntropy(std::vector<int64_t> labels) : labels_(std::move(labels)) {}
  std::string name() const override { return "softmax_cross_entropy"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    const Tensor& x = xs[0];
    const int64_t N = x.size(0), C = x.size(1);
    ResolvedIndex picked{x.shape(), {N}, {}};
    for (int64_t n = 0; n < N; ++n) picked.offsets.push_back(n * C + labels_[n]);
    const Tensor logp = ops::gather(ops::log_softmax(x, 1), picked);
    return {ops::mul(ops::sum(logp), ops::scalar_like(x, -1.0 / static_cast<double>(N)))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable& x = input(0);
    const int64_t N = x.size(0);
    Tensor onehot = Tensor::zeros(x.shape(), x.dtype());
    for (int64_t n = 0; n < N; ++n) onehot.set({n, labels_[n]}, 1.0);
    const Variable gx = (softmax(x, 1) - onehot.to(x.device())) * (gys[0] * (1.0 / static_cast<double>(N)));
    return {gx, Variable()};
  }

 private:
  std::vector<int64_t> labels_;
};

// y = 1/N sum(max(x, 0) - x t + log(1 + exp(-|x|)))    gx = (sigmoid(x) - t) gy / N,  gt = -x gy / N
class SigmoidCrossEntropy final : public Function {
 public:
  std::string name() const override { return "sigmoid_cross_entropy"; }
  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    const Tensor &x = xs[0], &t = xs[1];
    const Tensor softplus = ops::log(ops::add(ops::exp(ops::neg(ops::abs(x))), ops::scalar_like(x, 1.0)));
    const Tensor loss = ops::add(ops::sub(ops::relu(x), ops::mul(x, t)), softplus);
    const double n = static_cast<double>(batch_size(x.shape()));
    return {ops::mul(ops::sum(loss), ops::scalar_like(x, 1.0 / n))};
  }
  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &x = input(0), &t = input(1);
    const Variable g = gys[0] * (1.0 / static_cast<double>(batch_size(x.shape())));
    return {(sigmoid(x) - t) * g, t.requires_grad() ? -x * g : Variable()};
  }
};

}  // namespace

Variable mean_squared_error(const Variable& x0, const Variable& x1) {
  return call<MeanSquaredError>({x0, x1});
}

Variable softmax_cross_entropy(const Variable& x, const Tensor& t) {
  DZ_CHECK(x.ndim() == 2, "softmax_cross_entropy: x must be (N, C); got {}", to_string(x.shape()));
  auto labels = checked_labels(t, x.size(0), x.size(1), "softmax_cross_entropy", x.shape());
  return call<SoftmaxCrossEntropy>({x, Variable::constant(t)}, std::move(labels));
}

Variable sigmoid_cross_entropy(const Variable& x, const Variable& t) {
  DZ_CHECK(x.numel() == t.numel(), "sigmoid_cross_entropy: t {} does not match x {}",
           to_string(t.shape()), to_string(x.shape()));
  return call<SigmoidCrossEntropy>({x, reshape(t, x.shape())});
}

Variable binary_cross_entropy(const Variable& p, const Variable& t) {
  DZ_CHECK(p.numel() == t.numel(), "binary_cross_entropy: t {} does not match p {}",
           to_string(t.shape()), to_string(p.shape()));
  const Variable tt = reshape(t, p.shape());
  const double eps = p.dtype() == Float32 ? 1e-7 : 1e-15;  // 1 - 1e-15 rounds to 1 in float32
  const Variable pc = clip(p, eps, 1.0 - eps);
  const double n = static_cast<double>(batch_size(p.shape()));
  return -sum(tt * log(pc) + (1.0 - tt) * log(1.0 - pc)) * (1.0 / n);
}

Variable accuracy(const Variable& y, const Tensor& t) {
  DZ_CHECK(y.ndim() == 2, "accuracy: y must be (N, C); got {}", to_string(y.shape()));
  DZ_CHECK(t.defined() && t.ndim() == 1 && t.size(0) == y.size(0),
           "accuracy: t must be (N,) labels for y {}; got {}", to_string(y.shape()),
           t.defined() ? to_string(t.shape()) : "undefined");
  const Tensor pred = ops::argmax(y.data(), 1);
  const Tensor labels = t.to(y.dtype()).to(y.device());
  return Variable::constant(ops::mean(ops::eq(pred, labels)));
}

}  // namespace dezero::functions
