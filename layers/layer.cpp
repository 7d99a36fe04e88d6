#include "dezero/layers/layer.h"

#include <algorithm>
#include <ostream>

#include "dezero/core/config.h"
#include "dezero/core/error.h"
#include "dezero/io/safetensors.h"

namespace dezero::layers {

Parameter Layer::register_parameter(const std::string& name, Parameter p) {
  for (const auto& [n, q] : params_)
    DZ_CHECK(n != name, "register_parameter: '{}' is registered twice", name);
  if (p.name().empty()) p.set_name(name);
  params_.emplace_back(name, p);
  return p;
}

void Layer::add_layer(const std::string& name, std::shared_ptr<Layer> layer) {
  DZ_CHECK(layer != nullptr, "register_layer: '{}' is null", name);
  for (const auto& [n, l] : layers_)
    DZ_CHECK(n != name, "register_layer: '{}' is registered twice", name);
  layers_.emplace_back(name, std::move(layer));
}

std::shared_ptr<Tensor> Layer::register_buffer(const std::string& name) {
  for (const auto& [n, b] : buffers_)
    DZ_CHECK(n != name, "register_buffer: '{}' is registered twice", name);
  buffers_.emplace_back(name, std::make_shared<Tensor>());
  return buffers_.back().second;
}

void Layer::collect(const std::string& prefix, bool all,
                    std::vector<std::pair<std::string, Parameter>>& out) const {
  for (const auto& [n, p] : params_)
    if (all || p.initialized()) out.emplace_back(prefix + n, p);
  for (const auto& [n, l] : layers_) l->collect(prefix + n + ".", all, out);
}

void Layer::collect_buffers(
    const std::string& prefix,
    std::vector<std::pair<std::string, std::shared_ptr<Tensor>>>& out) const {
  for (const auto& [n, b] : buffers_) out.emplace_back(prefix + n, b);
  for (const auto& [n, l] : layers_) l->collect_buffers(prefix + n + ".", out);
}

Layer::Layer(Layer&& other) noexcept
    : params_(std::move(other.params_)),
      buffers_(std::move(other.buffers_)),
      layers_(std::move(other.layers_)),
      output_shape_(std::move(other.output_shape_)),
      training_(other.training_),
      moved_from_(other.moved_from_) {
  other.params_.clear();
  other.buffers_.clear();
  other.layers_.clear();
  other.moved_from_ = true;
}

Layer& Layer::operator=(Layer&& other) noexcept {
  if (this == &other) return *this;
  params_ = std::move(other.params_);
  buffers_ = std::move(other.buffers_);
  layers_ = std::move(other.layers_);
  output_shape_ = std::move(other.output_shape_);
  training_ = other.training_;
  moved_from_ = other.moved_from_;
  other.params_.clear();
  other.buffers_.clear();
  other.layers_.clear();
  other.moved_from_ = true;
  return *this;
}

Variable Layer::operator()(const Variable& x) {
  DZ_CHECK(!moved_from_,
           "Layer: forward of a layer that was moved from (std::move took its parameters); use the "
           "object it was moved into");
  TrainModeGuard mode(training_);  // train()/eval() governs F::dropout and F::batch_norm inside
  Variable y = forward(x);
  output_shape_ = y.shape();
  return y;
}

Shape Layer::build(const Shape& input_shape, DType dtype, std::optional<Device> device) {
  if (!device) {
    const std::vector<Parameter> ps = params();
    device = ps.empty() ? Device::CPU : ps.front().data().device();
  }
  const EvalModeGuard eval(*this);  // no running statistics updated, no dropout mask drawn
  const NoGradGuard no_grad;
  try {
    return (*this)(Variable(Tensor::zeros(input_shape, dtype, *device))).shape();
  } catch (const Error& e) {
    throw Error(fmt::format("build({}): {}", to_string(input_shape), e.what()));
  }
}

namespace {

// 1234567 -> "1,234,567".
std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

void Layer::summarize(const std::string& label, int depth,
                      std::vector<std::vector<std::string>>& rows) const {
  std::string description = name();
  if (!layers_.empty())
    description = description.substr(0, description.find('('));  // a container: its type
  std::vector<std::pair<std::string, Parameter>> all;
  collect("", true, all);
  int64_t count = 0;
  bool lazy = false;
  for (const auto& [n, p] : all) {
    if (p.initialized())
      count += p.data().numel();
    else
      lazy = true;
  }
  std::string params =
      lazy ? (count ? with_thousands(count) + " + lazy" : "lazy") : with_thousands(count);
  rows.push_back({std::string(2 * static_cast<size_t>(depth), ' ') +
                      (label.empty() ? "" : label + ": ") + description,
                  params, output_shape_ ? to_string(*output_shape_) : "-"});
  for (const auto& [n, l] : layers_) l->summarize(n, depth + 1, rows);
}

std::string Layer::summary() const {
  std::vector<std::vector<std::string>> rows{{"layer", "parameters", "output"}};
  summarize("", 0, rows);
  size_t w0 = 0, w1 = 0;
  for (const auto& r : rows) {
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
  }
  std::string out;
  for (const auto& r : rows) out += fmt::format("{:<{}}  {:>{}}  {}\n", r[0], w0, r[1], w1, r[2]);
  const std::string& total = rows[1][1];
  if (total == "lazy")
    out +=
        "parameter count unknown: lazy layers are sized by build(input_shape) or the first "
        "forward\n";
  else if (total.find("lazy") != std::string::npos)
    out += fmt::format(
        "{} parameters + lazy ones (sized by build(input_shape) or the first forward)\n",
        total.substr(0, total.find(' ')));
  else
    out += fmt::format("{} parameters\n", total);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Layer& layer) { return os << layer.summary(); }

std::vector<std::pair<std::string, Parameter>> Layer::named_params() const {
  std::vector<std::pair<std::string, Parameter>> out;
  collect("", false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Layer::named_buffers() const {
  std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> cells;
  collect_buffers("", cells);
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [n, b] : cells)
    if (b->defined()) out.emplace_back(n, *b);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Layer::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [n, p] : named_params()) out.emplace_back(n, p.data());
  for (const auto& [n, b] : named_buffers()) out.emplace_back(n, b);
  return out;
}

void Layer::save(const std::string& path) const {
  std::vector<std::pair<std::string, Parameter>> all;
  collect("", true, all);
  for (const auto& [n, p] : all)
    DZ_CHECK(p.initialized(),
             "save: {}: parameter '{}' has no value yet (a lazy layer learns its input size at the "
             "first forward): "
             "run a forward pass before saving; nothing was written",
             path, n);
  io::SafeTensors content;
  content.tensors = state_dict();
  content.metadata["format"] = "dezero";
  io::save_safetensors(path, content);
}

void Layer::load(const std::string& path) {
  const io::SafeTensors content = io::load_safetensors(path);
  load_state_dict(content, "", path);
  for (const auto& [n, t] : content.tensors)
    DZ_CHECK(n.rfind("__", 0) == 0 || contains_name(n),
             "load: {} has tensor '{}' that the model does not have", path, n);
}

bool Layer::contains_name(const std::string& name) const {
  std::vector<std::pair<std::string, Parameter>> params;
  collect("", true, params);
  for (const auto& [n, p] : params)
    if (n == name) return true;
  std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> buffers;
  collect_buffers("", buffers);
  for (const auto& [n, b] : buffers)
    if (n == name) return true;
  return false;
}

void Layer::load_state_dict(const io::SafeTensors& content, const std::string& prefix,
                            const std::string& source) {
  // Checks a file tensor against a model slot (undefined: a lazy size, take the file's).
  auto take = [&](const std::string& name, const Tensor& current) -> Tensor {
    const auto it = std::find_if(content.tensors.begin(), content.tensors.end(),
                                 [&](const auto& e) { return e.first == prefix + name; });
    DZ_CHECK(it != content.tensors.end(), "load: {} has no tensor '{}' (model and file differ)",
             source, prefix + name);
    const Tensor& t = it->second;
    if (current.defined()) {
      DZ_CHECK(t.shape() == current.shape(), "load: '{}' has shape {} in {} but {} in the model",
               name, to_string(t.shape()), source, to_string(current.shape()));
      DZ_CHECK(t.dtype() == current.dtype(), "load: '{}' is {} in {} but {} in the model", name,
               to_string(t.dtype()), source, to_string(current.dtype()));
      return t.to(current.device());
    }
    return t;
  };
  std::vector<std::pair<std::string, Parameter>> params;
  collect("", true, params);
  std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> buffers;
  collect_buffers("", buffers);
  // Validate everything before changing anything: a bad file leaves the model as it was.
  std::vector<Tensor> new_params, new_buffers;
  for (auto& [n, p] : params) new_params.push_back(take(n, p.data()));
  for (auto& [n, b] : buffers) new_buffers.push_back(take(n, *b));
  for (size_t i = 0; i < params.size(); ++i) params[i].second.set_data(new_params[i]);
  for (size_t i = 0; i < buffers.size(); ++i) *buffers[i].second = new_buffers[i];
}

std::vector<Parameter> Layer::params() const {
  std::vector<Parameter> out;
  for (auto& [n, p] : named_params()) out.push_back(p);
  return out;
}

int64_t Layer::num_params() const {
  int64_t n = 0;
  for (const Parameter& p : params()) n += p.numel();
  return n;
}

void Layer::clear_grads() {
  for (Parameter& p : params()) p.clear_grad();
}

void Layer::to(Device device) {
  std::vector<std::pair<std::string, Parameter>> params;
  collect("", false, params);
  for (auto& [n, p] : params) {
    p.clear_grad();
    p.set_data(p.data().to(device));
  }
  std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> buffers;
  collect_buffers("", buffers);
  for (auto& [n, b] : buffers)
    if (b->defined()) *b = b->to(device);
}

void Layer::train(bool mode) {
  training_ = mode;
  for (auto& [n, l] : layers_) l->train(mode);
}

Sequential::Sequential(std::initializer_list<AnyLayer> layers) {
  for (const AnyLayer& l : layers) push_back(l);
}

void Sequential::push_back(AnyLayer layer) {
  layers_.push_back(register_layer(std::to_string(layers_.size()), layer.get()));
}

Variable Sequential::forward(const Variable& x) {
  Variable h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    try {
      h = layer(h);
    } catch (const Error& e) {
      // "layer 10 Linear(1568 -> 64) on x (64, 1600): ..."; a nested Sequential's "layer 3 ..."
      // becomes "layer 1.3 ...".
      const std::string what = e.what();
      if (dynamic_cast<const Sequential*>(&layer) != nullptr && what.rfind("layer ", 0) == 0)
        throw Error(fmt::format("layer {}.{}", i, what.substr(6)));
      throw Error(
          fmt::format("layer {} {} on x {}: {}", i, layer.name(), to_string(h.shape()), what));
    }
  }
  return h;
}

std::string Sequential::name() const {
  std::string s = "Sequential(";
  for (size_t i = 0; i < layers_.size(); ++i) s += (i ? ", " : "") + layers_[i]->name();
  return s + ")";
}

}  // namespace dezero::layers
