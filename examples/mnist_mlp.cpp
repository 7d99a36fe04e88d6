// DeZero's MNIST MLP (steps 51-52): 784-1000-1000-10 with ReLU, Adam and weight decay, on the
// bundled MNIST. Usage: mnist_mlp [epochs]

#include <spdlog/spdlog.h>

#include <cstdlib>

#include <dezero/dezero.h>

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Variable;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  dezero::manual_seed(0);
  const D::MNIST train(DEZERO_MNIST_DIR, true), test(DEZERO_MNIST_DIR, false);
  const D::Transform flat_normalized = [](const dezero::Tensor& x) {
    return D::Normalize(0.1307, 0.3081)(x).reshape({x.size(0), -1});
  };
  D::DataLoader loader(train, 100, {.seed = 0, .transform = flat_normalized});
  D::DataLoader test_loader(test, 1000, {.shuffle = false, .transform = flat_normalized});
  L::MLP model({1000, 1000, 10}, F::relu);
  O::Adam optimizer(model, {.lr = 1e-3});
  optimizer.add_hook(O::WeightDecay(1e-4));
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    for (auto [x, t] : loader) {
      const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
      model.clear_grads();
      loss.backward();
      optimizer.update();
      loss_sum += loss.item() * static_cast<double>(t.numel());
    }
    dezero::NoGradGuard no_grad;
    double correct = 0;
    for (auto [x, t] : test_loader) correct += F::accuracy(model(Variable(x)), t).item() * static_cast<double>(t.numel());
    spdlog::info("epoch {}: train loss {:.4f}, test accuracy {:.4f}", epoch, loss_sum / static_cast<double>(train.size()),
                 correct / static_cast<double>(test.size()));
  }
  return 0;
}
