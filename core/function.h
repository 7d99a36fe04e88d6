#pragma once
// Function: forward on Tensors, backward on Variables (so backward is itself differentiable).
// A Function holds its inputs strongly and its outputs weakly: no reference cycles.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dezero/core/error.h"
#include "dezero/core/variable.h"

namespace dezero {

/// What the engine needs to know of an output that may be gone: enough to make its zeros.
struct TensorMeta {
  Shape shape;    ///< The output's shape.
  DType dtype;    ///< The output's element type.
  Device device;  ///< The output's device.
};

/// A differentiable operation: forward computes Tensors from Tensors, backward computes the
/// inputs' gradients from the outputs' with Variable operations. Apply one with call<F>(...).
class Function : public std::enable_shared_from_this<Function> {
 public:
  virtual ~Function() = default;
  /// Name shown in errors and graphs ("tanh", "matmul").
  virtual std::string name() const = 0;
  /// Computes the outputs from the inputs' data.
  virtual std::vector<Tensor> forward(const std::vector<Tensor>& xs) = 0;
  /// Gradients of the inputs from the outputs' gradients, with Variable operations; an
  /// undefined Variable means "no gradient" for that input.
  virtual std::vector<Variable> backward(const std::vector<Variable>& gys) = 0;

  /// Runs forward on the inputs and, when Config::enable_backprop, links the graph.
  std::vector<Variable> apply(std::vector<Variable> inputs);

  /// The inputs recorded for backward (empty when no graph was recorded).
  const std::vector<Variable>& inputs() const { return inputs_; }
  /// Input i.
  const Variable& input(size_t i) const;
  /// Output i (throws when it no longer exists).
  Variable output(size_t i) const;
  /// Output i, or an undefined Variable when it no longer exists.
  Variable output_if_alive(size_t i) const;
  /// Number of outputs recorded for backward (0 when no graph was recorded).
  size_t num_outputs() const { return outputs_.size(); }
  /// Shape, dtype and device of output i (known even after the output is gone).
  const TensorMeta& output_meta(size_t i) const { return output_meta_[i]; }
  /// The newest of its inputs' generations (its outputs' is one more); backward runs Functions
  /// in decreasing generation order.
  int generation() const { return generation_; }

 private:
  friend struct detail::Node;
  std::vector<Variable> inputs_;
  std::vector<std::weak_ptr<detail::Node>> outputs_;
  std::vector<TensorMeta> output_meta_;
  int generation_ = 0;
};

/// Creates F(args...) and applies it to inputs; returns every output.
template <class F, class... Args>
std::vector<Variable> call_n(std::vector<Variable> inputs, Args&&... args) {
  return std::make_shared<F>(std::forward<Args>(args)...)->apply(std::move(inputs));
}

/// Creates F(args...) and applies it to inputs; returns the single output.
template <class F, class... Args>
Variable call(std::vector<Variable> inputs, Args&&... args) {
  std::vector<Variable> ys = call_n<F>(std::move(inputs), std::forward<Args>(args)...);
  DZ_ASSERT(ys.size() == 1, "call: function returned {} outputs; use call_n", ys.size());
  return ys[0];
}

/// Single-input form: call<Tanh>(x), call<SumTo>(x, shape).
template <class F, class... Args>
Variable call(const Variable& x, Args&&... args) {
  return call<F>(std::vector<Variable>{x}, std::forward<Args>(args)...);
}

}  // namespace dezero
