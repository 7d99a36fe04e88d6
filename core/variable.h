#pragma once
// Variable: a cheap handle on a graph node holding data (a Tensor), grad (a Variable, so
// gradients are differentiable), creator, generation and name. Parameter marks trainable leaves.

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dezero/core/tensor.h"

namespace dezero {

class Function;

namespace detail {
/// The shared state behind Variable handles.
struct Node {
  Tensor data;
  std::shared_ptr<Node> grad;
  std::shared_ptr<Function> creator;
  int generation = 0;
  std::string name;
  bool requires_grad = true;
  bool is_parameter = false;
  Node();
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
};
/// Number of live graph nodes in the process (for leak tests).
int64_t live_nodes();
}  // namespace detail

/// A cheap handle on a graph node: data (a Tensor), grad (itself a Variable, so gradients are
/// differentiable), creator, generation and name. Copies share the node.
class Variable {
 public:
  /// An undefined Variable (defined() is false): "no gradient" in backward results.
  Variable() = default;
  /// A leaf holding data; it receives a gradient in backward().
  explicit Variable(Tensor data, std::string name = "");
  /// A leaf that never receives a gradient (masks, labels, scalars in expressions).
  static Variable constant(Tensor data);

  /// False for a default-constructed Variable.
  bool defined() const { return node_ != nullptr; }
  /// The value held.
  const Tensor& data() const;
  /// Replaces the data (optimizer updates); the shape may change only on a leaf.
  void set_data(const Tensor& data);
  /// The gradient, undefined until backward() reaches this Variable.
  Variable grad() const;
  /// Sets the gradient (undefined clears it); its shape must match the data's.
  void set_grad(const Variable& grad);
  /// Drops the gradient (DeZero's cleargrad).
  void clear_grad();
  /// The Function that produced this Variable (null for a leaf).
  std::shared_ptr<Function> creator() const;
  /// Depth in the graph: 0 for a leaf, one more than its creator's generation otherwise.
  int generation() const;
  /// Name shown in printing and graphs ("" when unnamed).
  const std::string& name() const;
  /// Renames this Variable.
  void set_name(std::string name);
  /// False for a constant(), which never receives a gradient.
  bool requires_grad() const;
  /// True for a Parameter.
  bool is_parameter() const;

  /// Shape of the data.
  const Shape& shape() const { return data().shape(); }
  /// Number of dimensions of the data.
  int64_t ndim() const { return data().ndim(); }
  /// Number of elements of the data.
  int64_t numel() const { return data().numel(); }
  /// Size of dimension i (negative counts from the end).
  int64_t size(int64_t i) const { return data().size(i); }
  /// Element type of the data.
  DType dtype() const { return data().dtype(); }
  /// Device of the data.
  Device device() const { return data().device(); }
  /// The value of a one-element Variable.
  double item() const { return data().item(); }

  /// Backpropagates d(this)/d(leaf) into every reachable leaf's grad (accumulating).
  /// retain_grad keeps intermediate gradients; create_graph records the backward pass so the
  /// gradients can be differentiated again (such a grad references its leaf through its graph,
  /// as in PyTorch: clear_grad() when done, or use dezero::grad, which never writes .grad).
  void backward(bool retain_grad = false, bool create_graph = false) const;
  /// Cuts the link to the creator (this becomes a leaf).
  void unchain() const;
  /// Cuts every link upstream of this Variable (truncated backpropagation).
  void unchain_backward() const;
  /// A new leaf sharing this data, outside the graph.
  Variable detach() const;
  /// True when both handles refer to the same node.
  bool is_same(const Variable& other) const { return node_ == other.node_; }

  /// The node (for the engine and graph tools).
  detail::Node* node() const { return node_.get(); }
  /// The node's owning pointer (for the engine and graph tools).
  const std::shared_ptr<detail::Node>& node_ptr() const { return node_; }
  /// A handle on an existing node (for the engine).
  explicit Variable(std::shared_ptr<detail::Node> node) : node_(std::move(node)) {}

 protected:
  /// The shared node; null when undefined.
  std::shared_ptr<detail::Node> node_;
};

/// A trainable leaf (layers register these; optimizers update them).
class Parameter : public Variable {
 public:
  Parameter() = default;
  /// A trainable leaf holding data.
  explicit Parameter(Tensor data, std::string name = "");
  /// A parameter whose data is set later (lazy input sizes: Linear(out), Conv2d(out, k)).
  static Parameter uninitialized(std::string name);
  /// False until an uninitialized parameter receives its data.
  bool initialized() const { return defined() && data().defined(); }
};

/// "variable([[1., 2.]], dtype=float32)", as DeZero prints.
std::ostream& operator<<(std::ostream& os, const Variable& v);

/// d(sum of outputs)/d(inputs) without touching any .grad, like torch.autograd.grad.
/// With create_graph the results are differentiable again. An input the outputs do not depend
/// on is an error unless allow_unused, which returns an undefined Variable for it.
std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           bool create_graph = false, bool allow_unused = false);
/// As above, seeding each output's gradient with grad_outputs[i] instead of ones.
std::vector<Variable> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                           const std::vector<Variable>& grad_outputs, bool create_graph = false,
                           bool allow_unused = false);

}  // namespace dezero
