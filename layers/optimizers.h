#pragma once
// Optimizers (namespace O = dezero::optimizers): DeZero's update rules plus AdamW, hooks that
// edit gradients before an update (weight decay, global-norm clipping, freezing), and LR
// schedulers. Parameters are read from the model at every update, so lazily created ones count.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dezero/layers/layer.h"

/// Optimizers, gradient hooks, LR schedulers and checkpoints (namespace O = dezero::optimizers).
namespace dezero::optimizers {

/// Base of the optimizers: holds the learning rate, the hooks and the per-parameter state, and
/// applies update_one() to every parameter with a gradient at each update().
class Optimizer {
 public:
  /// Optimizes model.params() (read at every update; the model must outlive the optimizer).
  Optimizer(const layers::Layer& model, double lr);
  /// A temporary model would be gone before the first update: refused at compile time.
  Optimizer(const layers::Layer&& model, double lr) = delete;
  /// Optimizes a fixed list of parameters.
  Optimizer(std::vector<Parameter> params, double lr);
  virtual ~Optimizer() = default;

  /// Runs the hooks, then updates every parameter that has a gradient (no graph is recorded).
  void update();
  /// The per-parameter state, named "<parameter name>.<slot>" after model's parameter names.
  std::vector<std::pair<std::string, Tensor>> state_dict(const layers::Layer& model) const;
  /// Restores state_dict(model) from "<prefix><name>" tensors of content (missing ones start
  /// fresh).
  void load_state_dict(const layers::Layer& model, const io::SafeTensors& content,
                       const std::string& prefix);
  /// Adds a hook, run on the parameters with gradients before each update, in order.
  void add_hook(std::function<void(std::vector<Parameter>&)> hook);
  /// The learning rate (schedulers change it).
  double lr;

 protected:
  /// The update of one parameter from its gradient.
  virtual void update_one(Parameter& p, const Tensor& grad) = 0;
  /// Per-parameter state slot i (zeros like p the first time); references stay valid.
  Tensor& state(const Parameter& p, size_t i);
  /// y = a x + b y in one pass, in place unless another handle shares y's storage (then y becomes
  /// a new tensor and that handle keeps the old values).
  static void axpby_owned(double a, const Tensor& x, double b, Tensor& y);
  /// p = a x + b p, the same rule for a parameter's data.
  static void axpby_param(Parameter& p, double a, const Tensor& x, double b);

 private:
  std::vector<Parameter> current_params() const;
  const layers::Layer* model_ = nullptr;
  std::vector<Parameter> params_;
  std::vector<std::function<void(std::vector<Parameter>&)>> hooks_;
  std::unordered_map<const void*, std::deque<Tensor>> state_;  // deque: growing keeps references
};

/// Options of SGD (DeZero's default lr).
struct SGDOptions {
  /// Learning rate.
  double lr = 0.01;
};
/// p -= lr * g.
class SGD : public Optimizer {
 public:
  using Optimizer::Optimizer;
  /// SGD(model, {.lr = 0.1}), like the other optimizers.
  SGD(const layers::Layer& model, SGDOptions options = {});
  SGD(const layers::Layer&& model, SGDOptions options = {}) = delete;  ///< no temporary model
  /// Optimizes a fixed list of parameters.
  SGD(std::vector<Parameter> params, SGDOptions options = {});

 protected:
  void update_one(Parameter& p, const Tensor& g) override;
};

/// Options of MomentumSGD.
struct MomentumOptions {
  /// Learning rate.
  double lr = 0.01;
  /// Fraction of the velocity kept at each step.
  double momentum = 0.9;
  /// Nesterov's variant of the update.
  bool nesterov = false;
};
/// v = momentum v - lr g;  p += v  (Nesterov: p += momentum v - lr g).
class MomentumSGD : public Optimizer {
 public:
  /// Optimizes model.params(), as Optimizer(model, lr).
  MomentumSGD(const layers::Layer& model, MomentumOptions options = {});
  MomentumSGD(const layers::Layer&& model,
              MomentumOptions options = {}) = delete;  ///< no temporary model
  /// Optimizes a fixed list of parameters.
  MomentumSGD(std::vector<Parameter> params, MomentumOptions options = {});

 protected:
  void update_one(Parameter& p, const Tensor& g) override;

 private:
  MomentumOptions opt_;
};

/// Options of AdaGrad.
struct AdaGradOptions {
  /// Learning rate.
  double lr = 0.001;
  /// Added to sqrt(h) so that the step stays finite.
  double eps = 1e-8;
};
/// h += g^2;  p -= lr g / (sqrt(h) + eps).
class AdaGrad : public Optimizer {
 public:
  /// Optimizes model.params(), as Optimizer(model, lr).
  AdaGrad(const layers::Layer& model, AdaGradOptions options = {});
  AdaGrad(const layers::Layer&& model,
          AdaGradOptions options = {}) = delete;  ///< no temporary model
  /// Optimizes a fixed list of parameters.
  AdaGrad(std::vector<Parameter> params, AdaGradOptions options = {});

 protected:
  void update_one(Parameter& p, const Tensor& g) override;

 private:
  AdaGradOptions opt_;
};

/// Options of AdaDelta.
struct AdaDeltaOptions {
  /// Decay of the moving averages s and u.
  double rho = 0.95;
  /// Added to u and s inside the square root.
  double eps = 1e-6;
};
/// s = rho s + (1 - rho) g^2;  d = sqrt((u + eps) / (s + eps)) g;  u = rho u + (1 - rho) d^2;  p -=
/// d.
class AdaDelta : public Optimizer {
 public:
  /// Optimizes model.params() with lr = 1 (the rule needs none; a scheduler may scale it).
  AdaDelta(const layers::Layer& model, AdaDeltaOptions options = {});
  AdaDelta(const layers::Layer&& model,
           AdaDeltaOptions options = {}) = delete;  ///< no temporary model
  /// Optimizes a fixed list of parameters.
  AdaDelta(std::vector<Parameter> params, AdaDeltaOptions options = {});

 protected:
  void update_one(Parameter& p, const Tensor& g) override;

 private:
  AdaDeltaOptions opt_;
};

/// Options of Adam and AdamW.
struct AdamOptions {
  /// Learning rate.
  double lr = 0.001;
  /// Decay of the moving average m of g.
  double beta1 = 0.9;
  /// Decay of the moving average v of g^2.
  double beta2 = 0.999;
  /// Added to sqrt(v_hat) so that the step stays finite.
  double eps = 1e-8;
  double weight_decay = 0;  ///< AdamW only (decoupled); 0.01 is PyTorch's AdamW default
};
/// m, v moving averages of g and g^2;  p -= lr m_hat / (sqrt(v_hat) + eps), bias-corrected as
/// PyTorch does.
class Adam : public Optimizer {
 public:
  /// Optimizes model.params(), as Optimizer(model, lr).
  Adam(const layers::Layer& model, AdamOptions options = {});
  Adam(const layers::Layer&& model, AdamOptions options = {}) = delete;  ///< no temporary model
  /// Optimizes a fixed list of parameters.
  Adam(std::vector<Parameter> params, AdamOptions options = {});

 protected:
  void update_one(Parameter& p, const Tensor& g) override;
  /// The hyperparameters (AdamW reads weight_decay).
  AdamOptions opt_;
};

/// Adam with decoupled weight decay: p -= lr weight_decay p before the Adam step.
class AdamW : public Adam {
 public:
  /// Optimizes model.params(); weight_decay defaults to 0.01, as in PyTorch.
  AdamW(const layers::Layer& model, AdamOptions options = {.weight_decay = 0.01});
  AdamW(const layers::Layer&& model, AdamOptions options = {}) = delete;  ///< no temporary model
  /// Optimizes a fixed list of parameters; weight_decay defaults to 0.01.
  AdamW(std::vector<Parameter> params, AdamOptions options = {.weight_decay = 0.01});

 protected:
  void update_one(Parameter& p, const Tensor& g) override;
};

// ---- Hooks (optimizer.add_hook(WeightDecay(1e-4))) ----

/// g += rate p (L2 regularization through the gradient, DeZero's WeightDecay).
std::function<void(std::vector<Parameter>&)> WeightDecay(double rate);
/// Scales every gradient by max_norm / norm when the global L2 norm exceeds max_norm.
std::function<void(std::vector<Parameter>&)> ClipGrad(double max_norm);
/// Drops the gradients of the layer's parameters, so they are not updated.
std::function<void(std::vector<Parameter>&)> FreezeParam(const layers::Layer& layer);
/// The hook keeps a reference to the layer: a temporary one is refused at compile time.
std::function<void(std::vector<Parameter>&)> FreezeParam(const layers::Layer&& layer) = delete;

// ---- Learning-rate schedulers (call step() once per epoch) ----

/// lr = base_lr * gamma^(floor(epoch / step_size)).
class StepLR {
 public:
  /// Schedules optimizer's lr, taking its current value as base_lr; step_size >= 1.
  StepLR(Optimizer& optimizer, int step_size, double gamma = 0.1);
  /// Ends an epoch: advances the epoch and sets the learning rate for it.
  void step();
  /// Epochs completed (step() calls, or as set by set_epoch).
  int epoch() const { return epoch_; }
  /// Jumps to an epoch (resuming) and sets the learning rate for it.
  void set_epoch(int epoch);

 private:
  Optimizer& opt_;
  int step_size_;
  double gamma_, base_lr_;
  int epoch_ = 0;
};

/// lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / t_max)) / 2.
class CosineAnnealing {
 public:
  /// Schedules optimizer's lr, taking its current value as base_lr; t_max >= 1 (after t_max
  /// epochs lr stays at eta_min).
  CosineAnnealing(Optimizer& optimizer, int t_max, double eta_min = 0);
  /// Ends an epoch: advances the epoch and sets the learning rate for it.
  void step();
  /// Epochs completed (step() calls, or as set by set_epoch).
  int epoch() const { return epoch_; }
  /// Jumps to an epoch (resuming) and sets the learning rate for it.
  void set_epoch(int epoch);

 private:
  Optimizer& opt_;
  int t_max_;
  double eta_min_, base_lr_;
  int epoch_ = 0;
};

// ---- Checkpoints ----

/// Writes model parameters and buffers ("model.*"), the optimizer's state ("optimizer.*"), its
/// learning rate, the global random generator's state and the given metadata (epoch, ...) to
/// one safetensors file, atomically.
void save_checkpoint(const std::string& path, const layers::Layer& model,
                     const Optimizer& optimizer, std::map<std::string, std::string> metadata = {});
/// Restores what save_checkpoint wrote into model and optimizer (and the random generator);
/// returns the metadata.
std::map<std::string, std::string> load_checkpoint(const std::string& path, layers::Layer& model,
                                                   Optimizer& optimizer);

}  // namespace dezero::optimizers
