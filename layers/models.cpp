#include "dezero/layers/models.h"

#include "dezero/core/error.h"

namespace dezero::layers {

MLP::MLP(std::vector<int64_t> sizes, std::function<Variable(const Variable&)> activation)
    : activation_(std::move(activation)) {
  DZ_CHECK(!sizes.empty(), "MLP: needs at least one output size");
  for (size_t i = 0; i < sizes.size(); ++i)
    linears_.push_back(register_layer(fmt::format("l{}", i), std::make_shared<Linear>(sizes[i])));
}

Variable MLP::forward(const Variable& x) {
  Variable h = x;
  for (size_t i = 0; i + 1 < linears_.size(); ++i) h = activation_((*linears_[i])(h));
  return (*linears_.back())(h);
}

std::string MLP::name() const {
  std::string s = "MLP(";
  for (size_t i = 0; i < linears_.size(); ++i) s += (i ? ", " : "") + linears_[i]->name();
  return s + ")";
}

LeNet::LeNet(int64_t num_classes) {
  net_ = register_layer(
      "net", std::make_shared<Sequential>(Sequential{
                 Conv2d(32, 3, {.pad = 1}), ReLU(), MaxPool2d(2), Conv2d(64, 3, {.pad = 1}), ReLU(),
                 MaxPool2d(2), Flatten(), Linear(128), ReLU(), Linear(num_classes)}));
}

Variable LeNet::forward(const Variable& x) { return (*net_)(x); }

GroupedCNN::GroupedCNN(int64_t groups, int64_t num_classes) {
  DZ_CHECK(groups >= 1 && 32 % groups == 0, "GroupedCNN: groups must divide 32; got {}", groups);
  net_ = register_layer(
      "net", std::make_shared<Sequential>(
                 Sequential{Conv2d(32, 3, {.pad = 1, .bias = false}), BatchNorm(), ReLU(),
                            MaxPool2d(2), Conv2d(32, 3, {.pad = 1, .groups = 32, .bias = false}),
                            Conv2d(64, 1, {.groups = groups, .bias = false}), BatchNorm(), ReLU(),
                            MaxPool2d(2), Conv2d(64, 3, {.pad = 1, .groups = 64, .bias = false}),
                            Conv2d(64, 1, {.groups = groups, .bias = false}), BatchNorm(), ReLU(),
                            Flatten(), Linear(num_classes)}));
}

Variable GroupedCNN::forward(const Variable& x) { return (*net_)(x); }

}  // namespace dezero::layers
