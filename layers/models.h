#pragma once
// Ready-made models: DeZero's MLP, a LeNet-style CNN, and a grouped/depthwise CNN built from
// MobileNet-style separable blocks.

#include <cstdint>
#include <functional>
#include <vector>

#include "dezero/layers/basic.h"

namespace dezero::layers {

/// Linear layers of the given output sizes with an activation between them (DeZero's MLP).
class MLP : public Layer {
 public:
  /// Linear(sizes[i]) for each i (input sizes found on the first call), activation after every
  /// one but the last; sizes must not be empty.
  explicit MLP(std::vector<int64_t> sizes,
               std::function<Variable(const Variable&)> activation = functions::relu);
  Variable forward(const Variable& x) override;
  std::string name() const override;

 private:
  std::vector<std::shared_ptr<Linear>> linears_;
  std::function<Variable(const Variable&)> activation_;
};

/// conv 1->32 3x3 pad 1, relu, maxpool 2, conv 32->64 3x3 pad 1, relu, maxpool 2, linear
/// 3136->128, relu, linear 128->10.  (N, 1, 28, 28) -> logits (N, 10)
class LeNet : public Layer {
 public:
  /// The last linear layer has num_classes outputs.
  explicit LeNet(int64_t num_classes = 10);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "LeNet"; }

 private:
  std::shared_ptr<Sequential> net_;
};

/// conv 1->32 3x3 + batch norm + relu, maxpool 2, then two MobileNet-style separable blocks
/// (depthwise 3x3, then a 1x1 conv with `groups`) 32->64 and 64->64 with batch norm and relu,
/// maxpool 2 between them, linear 3136->10: about a twelfth of LeNet's parameters.
class GroupedCNN : public Layer {
 public:
  /// `groups` for the 1x1 convolutions (it must divide 32); num_classes outputs.
  explicit GroupedCNN(int64_t groups = 1, int64_t num_classes = 10);
  Variable forward(const Variable& x) override;
  std::string name() const override { return "GroupedCNN"; }

 private:
  std::shared_ptr<Sequential> net_;
};

}  // namespace dezero::layers
