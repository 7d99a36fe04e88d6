#include "dezero/functions/gradient_check.h"

#include <algorithm>
#include <cmath>
#include <ostream>
#include <random>

#include "dezero/core/arithmetic.h"
#include "dezero/core/config.h"
#include "dezero/core/function.h"
#include "dezero/functions/functions.h"

namespace dezero {
namespace {

bool is_constant(const GradCheckOptions& o, size_t i) {
  return std::find(o.constant_inputs.begin(), o.constant_inputs.end(), i) != o.constant_inputs.end();
}

// A fixed random tensor like `like`, from its own generator (the global one is left alone).
Tensor projection(const Shape& shape, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  std::vector<double> v(static_cast<size_t>(numel(shape)));
  for (double& e : v) e = (gen() & 1 ? 1 : -1) * u(gen);
  return Tensor::from_vector(v, shape, Float64);
}

std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> pos(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    pos[d] = i % shape[d];
    i /= shape[d];
  }
  return pos;
}

double dot(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += x[i] * y[i];
  return s;
}

}  // namespace

GradCheckReport gradient_check(const GradCheckFunction& f, const std::vector<Variable>& inputs,
                               const GradCheckOptions& o) {
  std::vector<Tensor> data;
  for (const Variable& v : inputs) data.push_back(v.data());
  return gradient_check(f, data, o);
}

GradCheckReport gradient_check(const GradCheckFunction& f, const std::vector<Tensor>& inputs,
                               const GradCheckOptions& o) {
  GradCheckReport report;
  std::vector<Tensor> base;
  std::vector<Variable> xs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    base.push_back(inputs[i].to(Device::CPU).to(Float64).clone());
    xs.push_back(is_constant(o, i) ? Variable::constant(base[i]) : Variable(base[i]));
  }
  // Analytic: d <f(x), r> / dx for a fixed random r (a backward that ignores gy fails).
  const Variable y = f(xs);
  DZ_CHECK(y.defined(), "gradient_check: the function returned an undefined Variable");
  DZ_CHECK(y.dtype() == Float64, "gradient_check: the function must keep float64; it returned {}",
           to_string(y.dtype()));
  report.function = y.creator() ? y.creator()->name() : "(leaf)";
  const Tensor r = projection(y.shape(), o.seed);
  std::vector<Variable> wrt;
  for (size_t i = 0; i < xs.size(); ++i)
    if (!is_constant(o, i)) wrt.push_back(xs[i]);
  const Variable loss = functions::sum(y * r);
  const std::vector<Variable> grads = grad({loss}, wrt, /*create_graph=*/false, /*allow_unused=*/true);

  // Numeric: central differences of <f(x), r>, one element at a time. f runs exactly as in
  // the analytic pass (graph mode on), since f may itself use autograd (gradgrad_check does).
  auto objective = [&](const std::vector<Tensor>& point) {
    std::vector<Variable> vs;
    for (size_t i = 0; i < point.size(); ++i)
      vs.push_back(is_constant(o, i) ? Variable::constant(point[i]) : Variable(point[i]));
    return dot(f(vs).data(), r);
  };
  bool any_nonzero = false;
  size_t k = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    if (is_constant(o, i)) continue;
    const Tensor analytic = grads[k].defined() ? grads[k].data().to(Float64) : Tensor::zeros(base[i].shape(), Float64);
    ++k;
    const std::vector<double> a = analytic.to_vector();
    std::vector<Tensor> point = base;
    point[i] = base[i].clone();
    double* p = point[i].data<double>();
    for (int64_t j = 0; j < base[i].numel(); ++j) {
      const double saved = p[j];
      p[j] = saved + o.eps;
      const double plus = objective(point);
      p[j] = saved - o.eps;
      const double minus = objective(point);
      p[j] = saved;
      const double numeric = (plus - minus) / (2 * o.eps);
      any_nonzero |= numeric != 0 || a[j] != 0;
      const double tol = o.atol + o.rtol * std::fabs(numeric);
      const double ratio = std::isfinite(a[j]) && std::isfinite(numeric)
                               ? std::fabs(a[j] - numeric) / tol
                               : INFINITY;
      if (ratio > report.worst_ratio || report.input < 0) {
        report.worst_ratio = ratio;
        report.input = static_cast<int64_t>(i);
        report.input_shape = base[i].shape();
        report.position = unravel(j, base[i].shape());
        report.analytic = a[j];
        report.numeric = numeric;
      }
    }
  }
  if (report.input < 0) {
    report.ok = false;
    report.message = "no input to check (every input is constant or empty)";
  } else if (report.worst_ratio > 1) {
    report.ok = false;
    report.message = "analytic and numeric gradients differ";
  } else if (!any_nonzero && !o.allow_zero) {
    report.ok = false;
    report.message = "every gradient is zero, so the check proves nothing "
                     "(move the inputs off flat regions, or set allow_zero)";
  }
  return report;
}

GradCheckReport gradgrad_check(const GradCheckFunction& f, const std::vector<Variable>& inputs,
                               const GradCheckOptions& o) {
  std::vector<Tensor> data;
  for (const Variable& v : inputs) data.push_back(v.data());
  return gradgrad_check(f, data, o);
}

GradCheckReport gradgrad_check(const GradCheckFunction& f, const std::vector<Tensor>& inputs,
                               const GradCheckOptions& o) {
  // A wrong first derivative can have a consistent second one (2 x^2 for 3 x^2 differentiates
  // "right"): the first order is checked first, and its failure is the report.
  GradCheckReport first = gradient_check(f, inputs, o);
  if (!first.ok) {
    first.message = "the first-order check failed, so the second-order check was not run: " + first.message;
    return first;
  }
  // The output gradient r becomes an extra (last) input, so d/dr checks the backward's
  // dependence on gy; each first-order gradient is projected on its own fixed s_i.
  std::vector<Tensor> extended;
  for (const Tensor& t : inputs) extended.push_back(t.to(Device::CPU).to(Float64));
  Shape y_shape;
  std::string name;
  {
    std::vector<Variable> vs;
    for (const Tensor& t : extended) vs.push_back(Variable(t));
    const Variable y = f(vs);
    DZ_CHECK(y.defined(), "gradgrad_check: the function returned an undefined Variable");
    y_shape = y.shape();
    name = y.creator() ? y.creator()->name() : "(leaf)";
  }
  const size_t n = extended.size();
  extended.push_back(projection(y_shape, o.seed + 1));
  auto second = [&](const std::vector<Variable>& v) {
    std::vector<Variable> xs(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<Variable> wrt;
    for (size_t i = 0; i < n; ++i)
      if (!is_constant(o, i)) wrt.push_back(xs[i]);
    const Variable loss = functions::sum(f(xs) * v[n]);
    const std::vector<Variable> gs = grad({loss}, wrt, /*create_graph=*/true, /*allow_unused=*/true);
    Variable h = functions::sum(v[n]) * 0.0;
    for (size_t i = 0; i < gs.size(); ++i)
      if (gs[i].defined()) h = h + functions::sum(gs[i] * projection(gs[i].shape(), o.seed + 2 + i));
    return h;
  };
  GradCheckReport report = gradient_check(second, extended, o);
  report.order = 2;
  report.function = name;
  return report;
}

std::ostream& operator<<(std::ostream& os, const GradCheckReport& r) {
  const char* what = r.order == 1 ? "gradient_check" : "gradgrad_check";
  os << what << (r.ok ? " passed" : " FAILED") << " for '" << r.function << "'";
  if (!r.ok) os << ": " << r.message;
  if (r.input >= 0)
    os << "; worst element: input " << r.input << " of shape " << to_string(r.input_shape)
       << " at " << to_string(Shape(r.position)) << ", analytic " << r.analytic << " vs numeric "
       << r.numeric << " (error " << r.worst_ratio << "x the tolerance)";
  return os;
}

}  // namespace dezero
