#pragma once
// The checks behind DetectAnomalyGuard, called by Function::apply and the backward engine when
// Config::detect_anomaly() is on.

#include <vector>

#include "dezero/core/variable.h"

namespace dezero {
class Function;
}

namespace dezero::detail {

/// Throws when an output of f's forward (or one of its inputs) holds NaN/Inf.
void check_forward_anomaly(const Function& f, const std::vector<Variable>& inputs, const std::vector<Tensor>& outputs);

/// Throws when the output gradients given to f's backward hold NaN/Inf (an overflowing sum).
void check_incoming_gradient_anomaly(const Function& f, const std::vector<Variable>& gys);

/// Throws when a gradient returned by f's backward holds NaN/Inf.
void check_backward_anomaly(const Function& f, const std::vector<Variable>& gxs);

}  // namespace dezero::detail
