#include "layers/layer.h"

#include "core/error.h"

namespace dezero::layers {

Parameter Layer::register_parameter(const std::string& name, Parameter p) {
  for (const auto& [n, q] : params_) DZ_CHECK(n != name, "register_parameter: '{}' is registered twice", name);
  if (p.name().empty()) p.set_name(name);
  params_.emplace_back(name, p);
  return p;
}

void Layer::add_layer(const std::string& name, std::shared_ptr<Layer> layer) {
  DZ_CHECK(layer != nullptr, "register_layer: '{}' is null", name);
  for (const auto& [n, l] : layers_) DZ_CHECK(n != name, "register_layer: '{}' is registered twice", name);
  layers_.emplace_back(name, std::move(layer));
}

void Layer::collect(const std::string& prefix, std::vector<std::pair<std::string, Parameter>>& out) const {
  for (const auto& [n, p] : params_)
    if (p.initialized()) out.emplace_back(prefix + n, p);
  for (const auto& [n, l] : layers_) l->collect(prefix + n + ".", out);
}

std::vector<std::pair<std::string, Parameter>> Layer::named_params() const {
  std::vector<std::pair<std::string, Parameter>> out;
  collect("", out);
  return out;
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
  for (auto& l : layers_) h = l->forward(h);
  return h;
}

std::string Sequential::name() const {
  std::string s = "Sequential(";
  for (size_t i = 0; i < layers_.size(); ++i) s += (i ? ", " : "") + layers_[i]->name();
  return s + ")";
}

}  // namespace dezero::layers
