#include "dezero/layers/optimizers.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <unordered_set>

#include "dezero/core/arithmetic.h"
#include "dezero/core/config.h"
#include "dezero/core/error.h"

namespace dezero::optimizers {
namespace {
// A hyperparameter in [lo, hi] (PyTorch refuses the same values); returns it.
double checked(const char* optimizer, const char* name, double value, double lo, double hi) {
  DZ_CHECK(value >= lo && value <= hi, "{}: {} must be in [{}, {}]; got {}", optimizer, name, lo,
           hi, value);
  return value;
}
constexpr double kInf = std::numeric_limits<double>::infinity();
double checked_lr(const char* optimizer, double lr) {
  DZ_CHECK(std::isfinite(lr) && lr >= 0, "{}: lr must be finite and >= 0; got {}", optimizer, lr);
  return lr;
}
}  // namespace

Optimizer::Optimizer(const layers::Layer& model, double lr_)
    : lr(checked_lr("optimizer", lr_)), model_(&model) {}

Optimizer::Optimizer(std::vector<Parameter> params, double lr_)
    : lr(checked_lr("optimizer", lr_)), params_(std::move(params)) {}

std::vector<Parameter> Optimizer::current_params() const {
  if (!model_) return params_;
  DZ_CHECK(!model_->moved_from(),
           "optimizer: the model it was built on was moved from (std::move), so it would update "
           "nothing; build the "
           "optimizer on the model's final object (move the model first)");
  return model_->params();
}

void Optimizer::add_hook(std::function<void(std::vector<Parameter>&)> hook) {
  hooks_.push_back(std::move(hook));
}

void Optimizer::update() {
  NoGradGuard no_grad;
  std::vector<Parameter> with_grad;
  for (Parameter& p : current_params())
    if (p.grad().defined()) with_grad.push_back(p);
  for (auto& hook : hooks_) hook(with_grad);
  for (Parameter& p : with_grad)
    if (p.grad().defined()) update_one(p, p.grad().data());
}

Tensor& Optimizer::state(const Parameter& p, size_t i) {
  std::deque<Tensor>& slots = state_[p.node()];
  if (slots.size() <= i) slots.resize(i + 1);
  if (!slots[i].defined()) slots[i] = Tensor::zeros(p.shape(), p.dtype(), p.device());
  return slots[i];
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict(
    const layers::Layer& model) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, p] : model.named_params()) {
    const auto it = state_.find(p.node());
    if (it == state_.end()) continue;
    for (size_t i = 0; i < it->second.size(); ++i)
      if (it->second[i].defined()) out.emplace_back(fmt::format("{}.{}", name, i), it->second[i]);
  }
  return out;
}

void Optimizer::load_state_dict(const layers::Layer& model, const io::SafeTensors& content,
                                const std::string& prefix) {
  // Everything is checked before the state changes: a bad file leaves the optimizer as it was.
  std::unordered_map<const void*, std::deque<Tensor>> loaded;
  for (const auto& [name, p] : model.named_params()) {
    for (size_t i = 0;; ++i) {
      const std::string key = fmt::format("{}{}.{}", prefix, name, i);
      const auto it = std::find_if(content.tensors.begin(), content.tensors.end(),
                                   [&](const auto& e) { return e.first == key; });
      if (it == content.tensors.end()) break;
      DZ_CHECK(it->second.dtype() == p.dtype(),
               "load_checkpoint: optimizer state '{}' is {} but the parameter is {}", key,
               to_string(it->second.dtype()), to_string(p.dtype()));
      DZ_CHECK(it->second.shape() == p.shape(),
               "load_checkpoint: optimizer state '{}' has shape {} but the parameter {}", key,
               to_string(it->second.shape()), to_string(p.shape()));
      loaded[p.node()].push_back(it->second.to(p.device()));
    }
  }
  state_ = std::move(loaded);
}

void Optimizer::axpby_owned(double a, const Tensor& x, double b, Tensor& y) {
  if (!y.storage_unique()) y = y.clone();
  ops::axpby(a, x, b, y);
}

void Optimizer::axpby_param(Parameter& p, double a, const Tensor& x, double b) {
  const bool own = p.data().storage_unique();
  Tensor data = own ? p.data() : p.data().clone();  // a handle to p's own storage writes into p
  ops::axpby(a, x, b, data);
  if (!own) p.set_data(data);
}

// ---- Update rules ----
// Each pass below is one axpby: the state and the parameters are updated in place (the update
// of a 1.8 M-parameter MLP went from four temporaries and passes per tensor to two passes).

SGD::SGD(const layers::Layer& model, SGDOptions o) : Optimizer(model, checked_lr("SGD", o.lr)) {}
SGD::SGD(std::vector<Parameter> params, SGDOptions o)
    : Optimizer(std::move(params), checked_lr("SGD", o.lr)) {}

void SGD::update_one(Parameter& p, const Tensor& g) { axpby_param(p, -lr, g, 1.0); }

namespace {
MomentumOptions checked(MomentumOptions o) {
  checked_lr("MomentumSGD", o.lr);
  checked("MomentumSGD", "momentum", o.momentum, 0, kInf);
  return o;
}
AdaGradOptions checked(AdaGradOptions o) {
  checked_lr("AdaGrad", o.lr);
  checked("AdaGrad", "eps", o.eps, 0, kInf);
  return o;
}
AdaDeltaOptions checked(AdaDeltaOptions o) {
  checked("AdaDelta", "rho", o.rho, 0, 1);
  checked("AdaDelta", "eps", o.eps, 0, kInf);
  return o;
}
AdamOptions checked(AdamOptions o) {
  checked_lr("Adam", o.lr);
  DZ_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
           "Adam: betas must be in [0, 1); got ({}, {})", o.beta1, o.beta2);
  checked("Adam", "eps", o.eps, 0, kInf);
  checked("Adam", "weight_decay", o.weight_decay, 0, kInf);
  return o;
}
}  // namespace

MomentumSGD::MomentumSGD(const layers::Layer& model, MomentumOptions o)
    : Optimizer(model, checked(o).lr), opt_(o) {}
MomentumSGD::MomentumSGD(std::vector<Parameter> params, MomentumOptions o)
    : Optimizer(std::move(params), checked(o).lr), opt_(o) {}

void MomentumSGD::update_one(Parameter& p, const Tensor& g) {
  Tensor& v = state(p, 0);
  axpby_owned(-lr, g, opt_.momentum, v);  // v = momentum v - lr g
  if (opt_.nesterov) {
    axpby_param(p, opt_.momentum, v, 1.0);
    axpby_param(p, -lr, g, 1.0);
  } else {
    axpby_param(p, 1.0, v, 1.0);
  }
}

AdaGrad::AdaGrad(const layers::Layer& model, AdaGradOptions o)
    : Optimizer(model, checked(o).lr), opt_(o) {}
AdaGrad::AdaGrad(std::vector<Parameter> params, AdaGradOptions o)
    : Optimizer(std::move(params), checked(o).lr), opt_(o) {}

void AdaGrad::update_one(Parameter& p, const Tensor& g) {
  Tensor& h = state(p, 0);
  h = h + g * g;
  p.set_data(p.data() - lr * g / (ops::sqrt(h) + opt_.eps));
}

AdaDelta::AdaDelta(const layers::Layer& model, AdaDeltaOptions o)
    : Optimizer(model, 1.0), opt_(checked(o)) {}
AdaDelta::AdaDelta(std::vector<Parameter> params, AdaDeltaOptions o)
    : Optimizer(std::move(params), 1.0), opt_(checked(o)) {}

void AdaDelta::update_one(Parameter& p, const Tensor& g) {
  Tensor &msg = state(p, 0), &msdx = state(p, 1);
  const double rho = opt_.rho, eps = opt_.eps;
  msg = rho * msg + (1 - rho) * g * g;
  const Tensor dx = ops::sqrt((msdx + eps) / (msg + eps)) * g;
  msdx = rho * msdx + (1 - rho) * dx * dx;
  p.set_data(p.data() - lr * dx);
}

Adam::Adam(const layers::Layer& model, AdamOptions o) : Optimizer(model, checked(o).lr), opt_(o) {}
Adam::Adam(std::vector<Parameter> params, AdamOptions o)
    : Optimizer(std::move(params), checked(o).lr), opt_(o) {}

void Adam::update_one(Parameter& p, const Tensor& g) {
  Tensor &m = state(p, 0), &v = state(p, 1), &t = state(p, 2);
  t = t + 1.0;
  const double step = t.to_vector()[0];
  axpby_owned(1 - opt_.beta1, g, opt_.beta1, m);  // m = beta1 m + (1 - beta1) g
  axpby_owned(1 - opt_.beta2, g * g, opt_.beta2, v);
  const double fix1 = 1 - std::pow(opt_.beta1, step), fix2 = 1 - std::pow(opt_.beta2, step);
  // p -= lr * (m / fix1) / (sqrt(v / fix2) + eps)
  axpby_param(p, -lr / fix1, m / (ops::sqrt(v * (1.0 / fix2)) + opt_.eps), 1.0);
}

AdamW::AdamW(const layers::Layer& model, AdamOptions o) : Adam(model, o) {}
AdamW::AdamW(std::vector<Parameter> params, AdamOptions o) : Adam(std::move(params), o) {}

void AdamW::update_one(Parameter& p, const Tensor& g) {
  if (opt_.weight_decay != 0) axpby_param(p, 0.0, p.data(), 1.0 - lr * opt_.weight_decay);
  Adam::update_one(p, g);
}

// ---- Hooks ----

std::function<void(std::vector<Parameter>&)> WeightDecay(double rate) {
  return [rate](std::vector<Parameter>& params) {
    for (Parameter& p : params) p.set_grad(Variable(p.grad().data() + rate * p.data()));
  };
}

std::function<void(std::vector<Parameter>&)> ClipGrad(double max_norm) {
  DZ_CHECK(max_norm > 0, "ClipGrad: max_norm must be positive; got {}", max_norm);
  return [max_norm](std::vector<Parameter>& params) {
    double total = 0;
    for (const Parameter& p : params)
      total += ops::sum(ops::square(p.grad().data().to(Float64))).item();
    const double rate = max_norm / (std::sqrt(total) + 1e-6);
    if (rate >= 1) return;
    for (Parameter& p : params) p.set_grad(Variable(p.grad().data() * rate));
  };
}

std::function<void(std::vector<Parameter>&)> FreezeParam(const layers::Layer& layer) {
  return [&layer](std::vector<Parameter>& params) {
    std::unordered_set<const void*> frozen;
    for (const Parameter& p : layer.params()) frozen.insert(p.node());
    for (Parameter& p : params)
      if (frozen.count(p.node())) p.clear_grad();
  };
}

// ---- Checkpoints ----

void save_checkpoint(const std::string& path, const layers::Layer& model,
                     const Optimizer& optimizer, std::map<std::string, std::string> metadata) {
  io::SafeTensors content;
  for (auto& [n, t] : model.state_dict()) content.tensors.emplace_back("model." + n, t);
  for (auto& [n, t] : optimizer.state_dict(model))
    content.tensors.emplace_back("optimizer." + n, t);
  metadata["format"] = "dezero-checkpoint";
  metadata["lr"] = fmt::format("{:.17g}", optimizer.lr);
  metadata["random_state"] = random_state();  // dropout masks continue as in an uninterrupted run
  content.metadata = std::move(metadata);
  io::save_safetensors(path, content);
}

namespace {

// The learning rate written by save_checkpoint: a finite, non-negative number, all of the text.
double parse_lr(const std::map<std::string, std::string>& metadata, const std::string& path) {
  const auto it = metadata.find("lr");
  DZ_CHECK(it != metadata.end(), "load_checkpoint: {} has no 'lr' metadata", path);
  const char* text = it->second.c_str();
  char* end = nullptr;
  errno = 0;
  const double lr = std::strtod(text, &end);
  DZ_CHECK(end != text && *end == '\0' && errno == 0 && std::isfinite(lr) && lr >= 0,
           "load_checkpoint: {}: bad 'lr' metadata '{}'", path, it->second);
  return lr;
}

// Each optimizer state "optimizer.<param>.<i>" must match "model.<param>" in shape and dtype, so
// that once the model has loaded, loading the optimizer cannot fail half-way.
void check_optimizer_entries(const io::SafeTensors& content, const std::string& path) {
  for (const auto& [key, t] : content.tensors) {
    if (key.rfind("optimizer.", 0) != 0) continue;
    const size_t dot = key.rfind('.');
    const std::string param = "model." + key.substr(10, dot - 10);
    const auto it = std::find_if(content.tensors.begin(), content.tensors.end(),
                                 [&](const auto& e) { return e.first == param; });
    DZ_CHECK(it != content.tensors.end(),
             "load_checkpoint: {}: optimizer state '{}' has no parameter '{}'", path, key, param);
    DZ_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(),
             "load_checkpoint: {}: optimizer state '{}' is {} {} but '{}' is {} {}", path, key,
             to_string(t.dtype()), to_string(t.shape()), param, to_string(it->second.dtype()),
             to_string(it->second.shape()));
  }
}

}  // namespace

std::map<std::string, std::string> load_checkpoint(const std::string& path, layers::Layer& model,
                                                   Optimizer& optimizer) {
  const io::SafeTensors content = io::load_safetensors(path);
  DZ_CHECK(content.metadata.count("format") && content.metadata.at("format") == "dezero-checkpoint",
           "load_checkpoint: {} is not a dezero checkpoint (no format metadata)", path);
  // Everything that can fail is checked first: a bad file changes nothing.
  const double lr = parse_lr(content.metadata, path);
  check_optimizer_entries(content, path);
  const std::string previous_random_state = random_state();
  if (content.metadata.count("random_state")) set_random_state(content.metadata.at("random_state"));
  try {
    model.load_state_dict(content, "model.", path);
  } catch (...) {
    set_random_state(previous_random_state);
    throw;
  }
  optimizer.load_state_dict(model, content, "optimizer.");
  optimizer.lr = lr;
  return content.metadata;
}

// ---- Schedulers ----

StepLR::StepLR(Optimizer& optimizer, int step_size, double gamma)
    : opt_(optimizer), step_size_(step_size), gamma_(gamma), base_lr_(optimizer.lr) {
  DZ_CHECK(step_size >= 1, "StepLR: step_size must be positive; got {}", step_size);
}

void StepLR::step() { set_epoch(epoch_ + 1); }

void StepLR::set_epoch(int epoch) {
  epoch_ = epoch;
  opt_.lr = base_lr_ * std::pow(gamma_, epoch_ / step_size_);
}

CosineAnnealing::CosineAnnealing(Optimizer& optimizer, int t_max, double eta_min)
    : opt_(optimizer), t_max_(t_max), eta_min_(eta_min), base_lr_(optimizer.lr) {
  DZ_CHECK(t_max >= 1, "CosineAnnealing: t_max must be positive; got {}", t_max);
}

void CosineAnnealing::step() { set_epoch(epoch_ + 1); }

void CosineAnnealing::set_epoch(int epoch) {
  epoch_ = epoch;
  const double t = std::min(epoch_, t_max_);
  opt_.lr = eta_min_ + (base_lr_ - eta_min_) * (1 + std::cos(std::numbers::pi * t / t_max_)) / 2;
}

}  // namespace dezero::optimizers
