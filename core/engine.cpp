// The backward engine: Functions run in decreasing generation order (a priority queue), each
// once, with every output's gradient complete by the time its creator runs.

#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "dezero/core/anomaly.h"
#include "dezero/core/arithmetic.h"
#include "dezero/core/config.h"
#include "dezero/core/function.h"

namespace dezero {
namespace {

struct QueueItem {
  int generation;
  uint64_t order;  // FIFO among equal generations, so runs are reproducible
  std::shared_ptr<Function> f;
  bool operator<(const QueueItem& o) const {
    return generation != o.generation ? generation < o.generation : order > o.order;
  }
};

class Engine {
 public:
  Engine(bool retain_grad, bool create_graph)
      : retain_grad_(retain_grad), create_graph_(create_graph), detect_anomaly_(Config::detect_anomaly()) {}

  // Nodes whose gradients are collected (dezero::grad) instead of written to .grad.
  void want(const Variable& v) { wanted_[v.node()] = Variable(); }

  void run(const std::vector<Variable>& roots, const std::vector<Variable>& seeds) {
    GradModeGuard mode(create_graph_);
    // The Functions that backward steps and gradient sums run are checked through their results:
    // a non-finite value is reported once, as the gradient of the step that made it.
    DetectAnomalyGuard checked_per_step(false);
    for (size_t i = 0; i < roots.size(); ++i) accumulate(roots[i], seeds[i]);
    while (!queue_.empty()) {
      std::shared_ptr<Function> f = queue_.top().f;
      queue_.pop();
      step(*f);
    }
    // What remains pending belongs to leaves (or roots without a creator).
    for (auto& [node, p] : pending_) release(p, /*leaf=*/true);
  }

  Variable collected(const Variable& v) const { return wanted_.at(v.node()); }

 private:
  void step(Function& f) {
    std::vector<Variable> gys;
    for (size_t i = 0; i < f.num_outputs(); ++i) {
      Variable y = f.output_if_alive(i);
      auto it = y.defined() ? pending_.find(y.node()) : pending_.end();
      if (it != pending_.end()) {
        gys.push_back(it->second.grad);
      } else {  // an output nobody used: its gradient is zero
        const TensorMeta& m = f.output_meta(i);
        gys.push_back(Variable::constant(Tensor::zeros(m.shape, m.dtype, m.device)));
      }
    }
    if (detect_anomaly_) detail::check_incoming_gradient_anomaly(f, gys);
    std::vector<Variable> gxs = f.backward(gys);
    if (detect_anomaly_) detail::check_backward_anomaly(f, gxs);
    DZ_CHECK(gxs.size() == f.inputs().size(),
             "{}: backward returned {} gradients for {} inputs (one per input, in order; an undefined Variable "
             "for an input without a gradient)",
             f.name(), gxs.size(), f.inputs().size());
    for (size_t i = 0; i < gxs.size(); ++i) {
      const Variable& x = f.input(i);
      if (!gxs[i].defined() || !x.requires_grad()) continue;
      DZ_CHECK(gxs[i].shape() == x.shape() && gxs[i].dtype() == x.dtype(),
               "{}: backward returned a {} {} gradient for input {} of {} {}", f.name(),
               to_string(gxs[i].dtype()), to_string(gxs[i].shape()), i, to_string(x.dtype()),
               to_string(x.shape()));
      accumulate(x, gxs[i]);
    }
    // Outputs are done: keep their gradients only if asked to.
    for (size_t i = 0; i < f.num_outputs(); ++i) {
      Variable y = f.output_if_alive(i);
      if (!y.defined()) continue;
      auto it = pending_.find(y.node());
      if (it == pending_.end()) continue;
      release(it->second, /*leaf=*/false);
      pending_.erase(it);
    }
  }

  // A Variable reached by backward and the sum of the gradients it has received so far.
  struct Pending {
    Variable x;
    Variable grad;
  };

  void accumulate(const Variable& x, const Variable& gx) {
    auto [it, inserted] = pending_.try_emplace(x.node(), Pending{x, gx});
    if (!inserted) {
      it->second.grad = it->second.grad + gx;  // never in place: gx may be part of a graph
    } else if (x.creator() && seen_.insert(x.creator().get()).second) {
      queue_.push({x.creator()->generation(), order_++, x.creator()});
    }
  }

  void release(const Pending& p, bool leaf) {
    if (auto w = wanted_.find(p.x.node()); w != wanted_.end()) {
      w->second = p.grad;
      return;
    }
    if (!wanted_.empty()) return;  // dezero::grad never writes .grad
    if (!leaf && !retain_grad_) return;
    const Variable old = p.x.grad();
    Variable(p.x).set_grad(old.defined() ? old + p.grad : p.grad);
  }

  bool retain_grad_, create_graph_, detect_anomaly_;
  std::unordered_map<detail::Node*, Pending> pending_;
  std::unordered_map<detail::Node*, Variable> wanted_;
  std::priority_queue<QueueItem> queue_;
  std::unordered_set<Function*> seen_;
  uint64_t order_ = 0;
};

Variable ones_like(const Variable& v) {
  return Variable::constant(Tensor::ones(v.shape(), v.dtype(), v.device()));
}

}  // namespace

void Variable::backward(bool retain_grad, bool create_graph) const {
  DZ_CHECK(defined(), "backward: the Variable is undefined");
  DZ_CHECK(requires_grad(),
           "backward: this {} Variable does not require grad (it was computed under NoGradGuard, from constants "
           "only, or is a constant): there is no graph to differentiate",
           to_string(shape()));
  Engine engine(retain_grad, create_graph);
  engine.run({*this}, {ones_like(*this)});
}

std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           bool create_graph, bool allow_unused) {
  std::vector<Variable> seeds;
  for (const Variable& y : outputs) {
    DZ_CHECK(y.defined(), "grad: an output is undefined");
    seeds.push_back(ones_like(y));
  }
  return grad(outputs, inputs, seeds, create_graph, allow_unused);
}

std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           const std::vector<Variable>& grad_outputs, bool create_graph,
                           bool allow_unused) {
  DZ_CHECK(outputs.size() == grad_outputs.size(), "grad: {} outputs but {} grad_outputs",
           outputs.size(), grad_outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i)
    DZ_CHECK(outputs[i].defined() && grad_outputs[i].defined() &&
                 outputs[i].shape() == grad_outputs[i].shape(),
             "grad: grad_output {} does not match output {}", i,
             outputs[i].defined() ? to_string(outputs[i].shape()) : "(undefined)");
  Engine engine(/*retain_grad=*/false, create_graph);
  for (const Variable& x : inputs) {
    DZ_CHECK(x.defined(), "grad: an input is undefined");
    engine.want(x);
  }
  engine.run(outputs, grad_outputs);
  std::vector<Variable> result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Variable g = engine.collected(inputs[i]);
    for (size_t j = 0; j < outputs.size() && !g.defined() && !allow_unused; ++j)
      DZ_CHECK(outputs[j].requires_grad(),
               "grad: output {} {} does not require grad, so input {} {} is not reachable: it is a gradient "
               "computed without create_graph = true (pass it to the first grad/backward), or was computed under "
               "NoGradGuard or from constants only",
               j, to_string(outputs[j].shape()), i, to_string(inputs[i].shape()));
    DZ_CHECK(g.defined() || allow_unused,
             "grad: input {} {} is not reachable from the outputs (pass allow_unused = true)", i,
             to_string(inputs[i].shape()));
    result.push_back(g);
  }
  return result;
}

}  // namespace dezero
