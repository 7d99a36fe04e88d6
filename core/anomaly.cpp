#include "dezero/core/anomaly.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "dezero/core/function.h"

namespace dezero::detail {
namespace {

struct NonFinite {
  int64_t index;
  double value;
};

template <class T>
std::optional<NonFinite> scan(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return NonFinite{i, static_cast<double>(p[i])};
  return std::nullopt;
}

// The first NaN/Inf of a tensor (copied to the host first when it lives elsewhere).
std::optional<NonFinite> first_non_finite(const Tensor& t) {
  const Tensor host = t.to(Device::CPU);
  return host.dtype() == Float32 ? scan(host.data<float>(), host.numel()) : scan(host.data<double>(), host.numel());
}

// The input whose creator is deepest in the graph: following it walks the longest path back.
const Variable* deepest(const std::vector<Variable>& inputs) {
  const Variable* best = nullptr;
  for (const Variable& x : inputs)
    if (x.defined() && x.creator() && (!best || x.creator()->generation() > best->creator()->generation())) best = &x;
  return best;
}

// "linear -> relu -> sum -> div": the Functions whose outputs led to f, oldest first.
std::string forward_chain(const Function& f, const std::vector<Variable>& inputs) {
  constexpr size_t kMaxLinks = 16;
  std::vector<std::string> names{f.name()};
  for (const Variable* x = deepest(inputs); x; x = deepest(x->creator()->inputs())) {
    if (names.size() == kMaxLinks) {
      names.push_back("...");
      break;
    }
    names.push_back(x->creator()->name());
  }
  std::reverse(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, " -> "));
}

std::string describe(const NonFinite& bad, const Tensor& t) {
  return fmt::format("{} at element {} of {} {}", bad.value, bad.index, to_string(t.dtype()), to_string(t.shape()));
}

}  // namespace

void check_forward_anomaly(const Function& f, const std::vector<Variable>& inputs, const std::vector<Tensor>& outputs) {
  for (size_t i = 0; i < inputs.size(); ++i)
    if (auto bad = first_non_finite(inputs[i].data()))
      DZ_THROW("DetectAnomalyGuard: input {} of {} already holds {}; it comes from {} (forward chain: {})", i, f.name(),
               describe(*bad, inputs[i].data()), inputs[i].creator() ? inputs[i].creator()->name() : "a leaf",
               forward_chain(f, inputs));
  for (size_t i = 0; i < outputs.size(); ++i)
    if (auto bad = first_non_finite(outputs[i]))
      DZ_THROW("DetectAnomalyGuard: {} produced {} in output {} of its forward, from finite inputs (forward chain: {})",
               f.name(), describe(*bad, outputs[i]), i, forward_chain(f, inputs));
}

void check_incoming_gradient_anomaly(const Function& f, const std::vector<Variable>& gys) {
  for (size_t i = 0; i < gys.size(); ++i)
    if (auto bad = first_non_finite(gys[i].data()))
      DZ_THROW("DetectAnomalyGuard: the gradient reaching output {} of {} holds {} (the sum of finite gradients "
               "overflowed, or grad_outputs held it) (forward chain: {})",
               i, f.name(), describe(*bad, gys[i].data()), forward_chain(f, f.inputs()));
}

void check_backward_anomaly(const Function& f, const std::vector<Variable>& gxs) {
  for (size_t i = 0; i < gxs.size(); ++i)
    if (gxs[i].defined())
      if (auto bad = first_non_finite(gxs[i].data()))
        DZ_THROW("DetectAnomalyGuard: the backward of {} produced {} in the gradient of its input {}, from finite "
                 "output gradients (forward chain: {})",
                 f.name(), describe(*bad, gxs[i].data()), i, forward_chain(f, f.inputs()));
}

}  // namespace dezero::detail
