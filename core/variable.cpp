#include "dezero/core/variable.h"

#include <atomic>
#include <ostream>
#include <sstream>

#include "dezero/core/config.h"
#include "dezero/core/error.h"
#include "dezero/core/function.h"

namespace dezero {
namespace detail {
namespace {
std::atomic<int64_t> g_live_nodes{0};
}  // namespace

Node::Node() { ++g_live_nodes; }

Node::~Node() {
  --g_live_nodes;
  // Tear long chains down iteratively: recursive destruction of a 100k-deep graph would
  // overflow the stack. Creators whose last owner is going away are dismantled here.
  std::vector<std::shared_ptr<Function>> stack;
  if (creator && creator.use_count() == 1) stack.push_back(std::move(creator));
  while (!stack.empty()) {
    std::shared_ptr<Function> f = std::move(stack.back());
    stack.pop_back();
    std::vector<Variable> inputs = std::move(f->inputs_);
    for (Variable& x : inputs) {
      const std::shared_ptr<Node>& n = x.node_ptr();
      if (n.use_count() == 1 && n->creator && n->creator.use_count() == 1)
        stack.push_back(std::move(n->creator));
    }
  }
}

int64_t live_nodes() { return g_live_nodes.load(); }

}  // namespace detail

Variable::Variable(Tensor data, std::string name) : node_(std::make_shared<detail::Node>()) {
  DZ_CHECK(data.defined(), "Variable: cannot wrap an undefined tensor");
  node_->data = std::move(data);
  node_->name = std::move(name);
}

Variable Variable::constant(Tensor data) {
  Variable v(std::move(data));
  v.node_->requires_grad = false;
  return v;
}

Parameter::Parameter(Tensor data, std::string name) : Variable(std::move(data), std::move(name)) {
  node_->is_parameter = true;
}

Parameter Parameter::uninitialized(std::string name) {
  Parameter p;
  p.node_ = std::make_shared<detail::Node>();
  p.node_->name = std::move(name);
  p.node_->is_parameter = true;
  return p;
}

namespace {
detail::Node& checked(const std::shared_ptr<detail::Node>& n, const char* what) {
  DZ_CHECK(n != nullptr, "{}: the Variable is undefined", what);
  return *n;
}
}  // namespace

const Tensor& Variable::data() const { return checked(node_, "data").data; }

void Variable::set_data(const Tensor& data) {
  detail::Node& n = checked(node_, "set_data");
  DZ_CHECK(data.defined(), "set_data: cannot assign an undefined tensor");
  DZ_CHECK(!n.creator || !n.data.defined() || data.shape() == n.data.shape(),
           "set_data: shape {} differs from {} on a non-leaf Variable", to_string(data.shape()),
           to_string(n.data.shape()));
  n.data = data;
}

Variable Variable::grad() const { return Variable(checked(node_, "grad").grad); }

void Variable::set_grad(const Variable& grad) {
  detail::Node& n = checked(node_, "set_grad");
  if (grad.defined())
    DZ_CHECK(grad.shape() == n.data.shape(), "set_grad: gradient {} for a Variable of shape {}",
             to_string(grad.shape()), to_string(n.data.shape()));
  n.grad = grad.node_;
}

void Variable::clear_grad() { checked(node_, "clear_grad").grad.reset(); }
std::shared_ptr<Function> Variable::creator() const { return checked(node_, "creator").creator; }
int Variable::generation() const { return checked(node_, "generation").generation; }
const std::string& Variable::name() const { return checked(node_, "name").name; }
void Variable::set_name(std::string name) { checked(node_, "set_name").name = std::move(name); }
bool Variable::requires_grad() const { return checked(node_, "requires_grad").requires_grad; }
bool Variable::is_parameter() const { return checked(node_, "is_parameter").is_parameter; }

void Variable::unchain() const { checked(node_, "unchain").creator.reset(); }

void Variable::unchain_backward() const {
  std::vector<std::shared_ptr<Function>> funcs;
  if (checked(node_, "unchain_backward").creator) funcs.push_back(node_->creator);
  while (!funcs.empty()) {
    std::shared_ptr<Function> f = std::move(funcs.back());
    funcs.pop_back();
    for (const Variable& x : f->inputs()) {
      if (x.creator()) {
        funcs.push_back(x.creator());
        x.unchain();
      }
    }
  }
}

Variable Variable::detach() const {
  Variable v(data(), name());
  v.node_->requires_grad = requires_grad();
  return v;
}

std::ostream& operator<<(std::ostream& os, const Variable& v) {
  if (!v.defined()) return os << "variable(undefined)";
  std::string s = to_string(v.data());
  // "tensor(" -> "variable(", re-indenting continuation lines by the extra two characters.
  s = "variable(" + s.substr(7);
  std::string out;
  for (char c : s) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return os << out;
}

}  // namespace dezero
