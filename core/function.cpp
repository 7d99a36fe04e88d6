#include "dezero/core/function.h"

#include <algorithm>

#include "dezero/core/anomaly.h"
#include "dezero/core/config.h"

namespace dezero {

std::vector<Variable> Function::apply(std::vector<Variable> inputs) {
  std::vector<Tensor> xs;
  xs.reserve(inputs.size());
  bool any_requires_grad = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    DZ_CHECK(inputs[i].defined(), "{}: input {} is an undefined Variable", name(), i);
    xs.push_back(inputs[i].data());
    any_requires_grad |= inputs[i].requires_grad();
  }
  std::vector<Tensor> ys = forward(xs);
  if (Config::detect_anomaly()) detail::check_forward_anomaly(*this, inputs, ys);
  std::vector<Variable> outputs;
  outputs.reserve(ys.size());
  for (Tensor& y : ys) outputs.emplace_back(std::move(y));
  if (!Config::enable_backprop() || !any_requires_grad) {
    // Nothing to differentiate: the outputs are constants and the inputs are not kept.
    for (Variable& y : outputs) y.node()->requires_grad = false;
    return outputs;
  }
  generation_ = 0;
  for (const Variable& x : inputs) generation_ = std::max(generation_, x.generation());
  for (Variable& y : outputs) {
    y.node()->creator = shared_from_this();
    y.node()->generation = generation_ + 1;
    outputs_.push_back(y.node_ptr());
    output_meta_.push_back({y.shape(), y.dtype(), y.device()});
  }
  inputs_ = std::move(inputs);
  return outputs;
}

const Variable& Function::input(size_t i) const {
  DZ_CHECK(i < inputs_.size(), "{}: input({}) asked for, but the function has {} inputs", name(), i, inputs_.size());
  return inputs_[i];
}

Variable Function::output(size_t i) const {
  Variable y = output_if_alive(i);
  DZ_ASSERT(y.defined(), "{}: output {} is no longer alive", name(), i);
  return y;
}

Variable Function::output_if_alive(size_t i) const {
  DZ_ASSERT(i < outputs_.size(), "{}: output {} of {}", name(), i, outputs_.size());
  return Variable(outputs_[i].lock());
}

}  // namespace dezero
