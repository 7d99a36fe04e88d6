#pragma once
// Global switches, per thread: whether Functions record a graph, train vs test mode, and
// anomaly detection.

namespace dezero {

/// DeZero's Config: thread-local flags read by call<F>, dropout and batch_norm.
struct Config {
  /// When false, Functions run forward only and link no graph (inference, optimizer updates).
  static bool& enable_backprop();
  /// True in training mode (dropout active, batch_norm uses batch statistics).
  static bool& train();
  /// When true, every Function's outputs and gradients are checked for NaN/Inf (DetectAnomalyGuard).
  static bool& detect_anomaly();
};

/// Sets enable_backprop to `enabled` for a scope, restoring the previous value on exit.
class GradModeGuard {
 public:
  /// Sets Config::enable_backprop() to `enabled`; the destructor restores the previous value.
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

/// No graph is recorded inside the scope (DeZero's no_grad()).
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

/// Sets Config::train() to `training` for a scope. Layer::operator() uses it, so a layer's
/// train()/eval() mode governs every function its forward calls (F::dropout, F::batch_norm).
class TrainModeGuard {
 public:
  /// Sets Config::train() to `training`; the destructor restores the previous value.
  explicit TrainModeGuard(bool training);
  ~TrainModeGuard();
  TrainModeGuard(const TrainModeGuard&) = delete;
  TrainModeGuard& operator=(const TrainModeGuard&) = delete;

 private:
  bool previous_;
};

/// Test mode inside the scope (DeZero's test_mode()): dropout is the identity, batch_norm uses
/// running statistics. Inside a layer's forward, the layer's own mode (eval()) decides instead.
class TestModeGuard : public TrainModeGuard {
 public:
  TestModeGuard() : TrainModeGuard(false) {}
};

/// Anomaly detection inside the scope (torch.autograd.detect_anomaly): each Function's forward
/// outputs and backward gradients are checked for NaN/Inf, and the first non-finite value throws
/// a dezero::Error naming the Function that produced it and the chain of Functions that led to
/// it. Off by default; leaving it off costs one flag test per Function.
class DetectAnomalyGuard {
 public:
  /// Sets Config::detect_anomaly() to `enabled`; the destructor restores the previous value.
  explicit DetectAnomalyGuard(bool enabled = true);
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace dezero
