#pragma once
// Layer: a differentiable building block with an ordered registry of parameters and sub-layers
// (named "conv1.W"), train/eval mode, and Sequential to chain layers.

#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dezero/core/variable.h"
#include "dezero/io/safetensors.h"

/// Layers and models (namespace L = dezero::layers).
namespace dezero::layers {

/// A differentiable building block: forward() plus an ordered registry of parameters, buffers
/// and sub-layers (named "conv1.W"), train/eval mode, and save/load.
class Layer {
 public:
  Layer() = default;
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;  // a copy would share parameters by accident
  Layer& operator=(const Layer&) = delete;
  /// Moves parameters, buffers and sub-layers; the source is marked moved-from, so that a
  /// forward on it, or an optimizer still holding it, is a clear error instead of a silent no-op.
  Layer(Layer&& other) noexcept;
  /// As the move constructor.
  Layer& operator=(Layer&& other) noexcept;

  /// The computation: one input, one output.
  virtual Variable forward(const Variable& x) = 0;
  /// Short description, e.g. "Conv2d(32, kernel=(3, 3), pad=(1, 1))".
  virtual std::string name() const = 0;
  /// forward(x).
  Variable operator()(const Variable& x);

  /// Every parameter of this layer and its sub-layers, in registration order (initialized only).
  std::vector<Parameter> params() const;
  /// The same with dotted names: "conv1.W", "fc.b".
  std::vector<std::pair<std::string, Parameter>> named_params() const;
  /// Number of scalar parameters (initialized ones).
  int64_t num_params() const;
  /// Drops every parameter's gradient (DeZero's cleargrads).
  void clear_grads();
  /// Persistent non-trainable tensors (batch norm's running statistics), with dotted names.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  /// Parameters and buffers by name (what save writes).
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Takes every "<prefix><name>" tensor of content: names, shapes and dtypes must match (lazy
  /// parameters take the file's shape); all are checked before anything changes. `source`
  /// names the file in messages.
  void load_state_dict(const io::SafeTensors& content, const std::string& prefix,
                       const std::string& source);
  /// Writes parameters and buffers to a safetensors file (atomically), e.g. "net.0.W".
  void save(const std::string& path) const;
  /// Reads parameters and buffers written by save: names, shapes and dtypes must match (lazy,
  /// not yet sized ones take the file's shape); a mismatch names the tensor and both shapes.
  void load(const std::string& path);
  /// Training mode (dropout on, batch_norm with batch statistics) for this layer and sub-layers.
  void train(bool mode = true);
  /// Moves every parameter and buffer to device (gradients are dropped).
  void to(Device device);
  /// Evaluation mode: train(false).
  void eval() { train(false); }
  /// True in training mode (the default), false after eval().
  bool training() const { return training_; }
  /// True after this layer was moved from (std::move): it holds no parameters any more.
  bool moved_from() const { return moved_from_; }
  /// Sizes a lazy model before training: one forward of zeros of input_shape (batch included)
  /// in eval mode without a graph, on device (default: where the parameters are, else the CPU);
  /// returns the output shape. Afterwards num_params() and the optimizers see every parameter.
  Shape build(const Shape& input_shape, DType dtype = Float32,
              std::optional<Device> device = std::nullopt);
  /// Shape of the output of the last call of this layer (none before the first).
  const std::optional<Shape>& output_shape() const { return output_shape_; }
  /// A multi-line tree of the sub-layers: names, descriptions, parameter counts, output shapes.
  std::string summary() const;

 protected:
  /// Registers a parameter under name (in order); returns the same handle.
  Parameter register_parameter(const std::string& name, Parameter p);
  /// Registers a buffer under name; the layer keeps the returned cell (move-safe).
  std::shared_ptr<Tensor> register_buffer(const std::string& name);
  /// Registers a sub-layer under name (in order); returns it.
  template <class L>
  std::shared_ptr<L> register_layer(const std::string& name, std::shared_ptr<L> layer) {
    add_layer(name, layer);
    return layer;
  }

 private:
  void add_layer(const std::string& name, std::shared_ptr<Layer> layer);
  bool contains_name(const std::string& name) const;
  void collect(const std::string& prefix, bool all,
               std::vector<std::pair<std::string, Parameter>>& out) const;
  void collect_buffers(const std::string& prefix,
                       std::vector<std::pair<std::string, std::shared_ptr<Tensor>>>& out) const;

  void summarize(const std::string& label, int depth,
                 std::vector<std::vector<std::string>>& rows) const;

  std::vector<std::pair<std::string, Parameter>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Layer>>> layers_;
  std::optional<Shape> output_shape_;
  bool training_ = true;
  bool moved_from_ = false;
};

/// Puts a layer in eval mode for a scope and restores its previous mode at the end (also when
/// an exception leaves the scope): { EvalModeGuard eval(model); ... }.
class EvalModeGuard {
 public:
  /// Switches layer to eval mode.
  explicit EvalModeGuard(Layer& layer) : layer_(layer), training_(layer.training()) {
    layer.eval();
  }
  ~EvalModeGuard() { layer_.train(training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Layer& layer_;
  bool training_;
};

/// Writes layer.summary().
std::ostream& operator<<(std::ostream& os, const Layer& layer);

/// A type-erased, shared handle to any layer: lets Sequential take layers of different types.
class AnyLayer {
 public:
  /// Takes ownership of a layer given by value (moved).
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, std::decay_t<L>>>>
  AnyLayer(L&& layer)
      : ptr_(std::make_shared<std::decay_t<L>>(std::forward<L>(layer))) {}  // NOLINT
  /// Shares an existing layer.
  template <class L, class = std::enable_if_t<std::is_base_of_v<Layer, L>>>
  AnyLayer(std::shared_ptr<L> layer) : ptr_(std::move(layer)) {}  // NOLINT
  /// The layer held.
  const std::shared_ptr<Layer>& get() const { return ptr_; }

 private:
  std::shared_ptr<Layer> ptr_;
};

/// Layers applied in order: Sequential{Conv2d(32, 3, {.pad = 1}), ReLU(), MaxPool2d(2), ...}.
/// Sub-layers are named by position: "0.W", "3.b".
class Sequential : public Layer {
 public:
  /// The layers, in the order they are applied.
  Sequential(std::initializer_list<AnyLayer> layers);
  /// Appends a layer.
  void push_back(AnyLayer layer);
  Variable forward(const Variable& x) override;
  std::string name() const override;
  /// Number of layers.
  size_t size() const { return layers_.size(); }
  /// Layer i.
  Layer& operator[](size_t i) { return *layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace dezero::layers
