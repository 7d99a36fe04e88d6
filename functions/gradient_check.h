#pragma once
// Numerical gradient checking as a public API: first order (gradient_check) and second order
// (gradgrad_check), float64 central differences on every input.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "dezero/core/variable.h"

namespace dezero {

/// Tolerances and choices of a gradient check (DeZero's defaults).
struct GradCheckOptions {
  double eps = 1e-4;   ///< central-difference step
  double rtol = 1e-4;  ///< |analytic - numeric| <= atol + rtol * |numeric|
  /// Absolute tolerance (see rtol).
  double atol = 1e-5;
  uint64_t seed = 0;                   ///< of the random projection of the output
  std::vector<size_t> constant_inputs;  ///< inputs not differentiated (labels, indices)
  bool allow_zero = false;             ///< accept a check where every gradient is zero
};

/// The outcome; on failure it names the input, the element and both values.
struct GradCheckReport {
  /// False when the check failed.
  bool ok = true;
  int order = 1;               ///< 1: gradient_check, 2: gradgrad_check
  std::string function;        ///< name of the Function that produced the output
  std::string message;         ///< why it failed (empty when ok)
  int64_t input = -1;          ///< worst input
  /// Shape of the worst input.
  Shape input_shape;
  std::vector<int64_t> position;  ///< worst element in that input
  ///@{
  /// The analytic (backward) and numeric (central-difference) gradients at that element.
  double analytic = 0, numeric = 0;
  ///@}
  double worst_ratio = 0;      ///< max over elements of |a - n| / (atol + rtol |n|)
};

/// The function under test: Variables in, one Variable out.
using GradCheckFunction = std::function<Variable(const std::vector<Variable>&)>;

/// Checks d sum(f(x) * r)/dx_i for a fixed random r against central differences, for every
/// input (converted to float64 on the cpu). Fails on all-zero gradients unless allow_zero.
GradCheckReport gradient_check(const GradCheckFunction& f, const std::vector<Variable>& inputs,
                               const GradCheckOptions& options = {});
/// As above, each input Tensor becoming a Variable.
GradCheckReport gradient_check(const GradCheckFunction& f, const std::vector<Tensor>& inputs,
                               const GradCheckOptions& options = {});

/// Checks the second derivatives: gradient_check of x, r -> sum_i <d sum(f(x) r)/dx_i, s_i>
/// (backward recorded with create_graph), so both x and the output gradient r are exercised.
/// Runs gradient_check first: a wrong first derivative is reported as that (order 1), never
/// passed over by a second derivative consistent with it.
GradCheckReport gradgrad_check(const GradCheckFunction& f, const std::vector<Variable>& inputs,
                               const GradCheckOptions& options = {});
/// As above, each input Tensor becoming a Variable.
GradCheckReport gradgrad_check(const GradCheckFunction& f, const std::vector<Tensor>& inputs,
                               const GradCheckOptions& options = {});

/// "gradient_check passed ..." or the failure with input, shapes, element and values.
std::ostream& operator<<(std::ostream& os, const GradCheckReport& report);

}  // namespace dezero
