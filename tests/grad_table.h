#pragma once
// The table of differentiable functions shared by the gradient checks (grad_cases.cpp) and the
// CPU-vs-CUDA parity tests (test_cuda.cpp).

#include <ostream>
#include <string>
#include <vector>

#include "test_helpers.h"

/// Where a row's random inputs come from: uniform in [lo, hi], |x| >= min_abs (off kinks).
struct Domain {
  double lo = -2, hi = 2, min_abs = 0;
};

/// One differentiable function with its input shapes.
struct GradCase {
  std::string name;
  dezero::GradCheckFunction f;
  std::vector<dezero::Shape> shapes;
  Domain domain = {};
  bool second_order = true;
};

/// Test names and failure messages show the row's name, not its bytes.
void PrintTo(const GradCase& c, std::ostream* os);

/// Every row.
const std::vector<GradCase>& grad_cases();

/// The row's inputs: float64 CPU tensors, the same for every call (seeded).
std::vector<dezero::Tensor> inputs_for(const GradCase& c);
