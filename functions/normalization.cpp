// Dropout and batch normalization.

#include "dezero/core/config.h"
#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero::functions {
namespace {

// Axes reduced by batch_norm and the shape a (C,) parameter takes to broadcast over x.
struct ChannelLayout {
  std::vector<int64_t> axes;
  Shape param_shape;
};

ChannelLayout channel_layout(const Shape& x) {
  if (x.size() == 2) return {{0}, {1, x[1]}};
  return {{0, 2, 3}, {1, x[1], 1, 1}};
}

// Train mode, per channel over the axes:  mu = mean(x), var = mean((x - mu)^2),
// xhat = (x - mu) / sqrt(var + eps), y = gamma xhat + beta.
// Backward, exact (written with Variables, so it differentiates again):
//   gbeta = sum(gy), ggamma = sum(gy xhat),
//   gx = gamma / sqrt(var + eps) * (gy - mean(gy) - xhat mean(gy xhat))
class BatchNorm final : public Function {
 public:
  BatchNorm(Tensor running_mean, Tensor running_var, BatchNormOptions options)
      : running_mean_(std::move(running_mean)), running_var_(std::move(running_var)), opt_(options) {}
  std::string name() const override { return "batch_norm"; }

  std::vector<Tensor> forward(const std::vector<Tensor>& xs) override {
    const Tensor &x = xs[0], &gamma = xs[1], &beta = xs[2];
    const ChannelLayout L = channel_layout(x.shape());
    const Tensor mu = ops::mean(x, L.axes, true);
    const Tensor xc = ops::sub(x, mu);
    const Tensor var = ops::mean(ops::square(xc), L.axes, true);
    const Tensor inv_std = ops::div(ops::scalar_like(x, 1.0), ops::sqrt(ops::add(var, ops::scalar_like(x, opt_.eps))));
    const Tensor y = ops::add(ops::mul(ops::mul(xc, inv_std), gamma.reshape(L.param_shape)),
                              beta.reshape(L.param_shape));
    // Running statistics; the variance is stored unbiased, m / (m - 1).
    const double m = static_cast<double>(x.numel() / x.size(1));
    const double unbias = m > 1 ? m / (m - 1) : 1.0;
    auto blend = [&](Tensor& running, const Tensor& batch, double scale) {
      const Tensor b = ops::mul(batch.reshape({x.size(1)}), ops::scalar_like(x, (1 - opt_.decay) * scale));
      running.copy_(ops::add(ops::mul(running, ops::scalar_like(running, opt_.decay)), b));
    };
    blend(running_mean_, mu, 1.0);
    blend(running_var_, var, unbias);
    return {y};
  }

  std::vector<Variable> backward(const std::vector<Variable>& gys) override {
    const Variable &x = input(0), &gamma = input(1), &gy = gys[0];
    const ChannelLayout L = channel_layout(x.shape());
    const Variable xc = x - mean(x, L.axes, true);
    const Variable inv_std = pow(mean(xc * xc, L.axes, true) + opt_.eps, -0.5);
    const Variable xhat = xc * inv_std;
    const Shape C{x.size(1)};
    const Variable gbeta = reshape(sum(gy, L.axes, true), C);
    const Variable ggamma = reshape(sum(gy * xhat, L.axes, true), C);
    const Variable gxhat = gy * reshape(gamma, L.param_shape);
    const Variable gx =
        inv_std * (gxhat - mean(gxhat, L.axes, true) - xhat * mean(gxhat * xhat, L.axes, true));
    return {gx, ggamma, gbeta};
  }

 private:
  Tensor running_mean_, running_var_;
  BatchNormOptions opt_;
};

}  // namespace

Variable dropout(const Variable& x, double ratio) {
  DZ_CHECK(ratio >= 0 && ratio < 1, "dropout: ratio must be in [0, 1); got {}", ratio);
  if (!Config::train() || ratio == 0) return x;
  const Tensor keep = ops::gt(Tensor::rand(x.shape(), x.dtype()), Tensor::scalar(ratio, x.dtype()));
  const Tensor scale = ops::mul(keep, Tensor::scalar(1.0 / (1.0 - ratio), x.dtype()));
  return x * Variable::constant(scale.to(x.device()));
}

Variable batch_norm(const Variable& x, const Variable& gamma, const Variable& beta,
                    Tensor& running_mean, Tensor& running_var, BatchNormOptions options) {
  DZ_CHECK(x.ndim() == 2 || x.ndim() == 4, "batch_norm: x must be (N, C) or (N, C, H, W); got {}",
           to_string(x.shape()));
  const Shape C{x.size(1)};
  for (const auto& [what, s] : {std::pair{"gamma", gamma.shape()}, std::pair{"beta", beta.shape()},
                                std::pair{"running_mean", running_mean.shape()},
                                std::pair{"running_var", running_var.shape()}})
    DZ_CHECK(s == C, "batch_norm: {} must be {} for x {}; got {}", what, to_string(C),
             to_string(x.shape()), to_string(s));
  DZ_CHECK(options.eps > 0 && options.decay >= 0 && options.decay <= 1,
           "batch_norm: need eps > 0 and decay in [0, 1]; got eps {} decay {}", options.eps,
           options.decay);
  if (Config::train()) {
    DZ_CHECK(x.numel() / x.size(1) > 1, "batch_norm: training needs more than one value per channel; got x {}",
             to_string(x.shape()));
    return call<BatchNorm>({x, gamma, beta}, running_mean, running_var, options);
  }
  const Shape P = channel_layout(x.shape()).param_shape;
  const Tensor inv_std = ops::div(ops::scalar_like(running_var, 1.0),
                                  ops::sqrt(ops::add(running_var, ops::scalar_like(running_var, options.eps))));
  const Variable xhat = (x - running_mean.reshape(P)) * inv_std.reshape(P);
  return xhat * reshape(gamma, P) + reshape(beta, P);
}

}  // namespace dezero::functions
