// DeZero's spiral classification (step 48): a two-layer MLP trained with SGD on three
// interleaved spirals; prints the loss every 50 epochs and the final accuracy.

#include <spdlog/spdlog.h>

#include <dezero/dezero.h>

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Variable;

int main() {
  dezero::manual_seed(0);
  const D::Spiral train(true);
  D::DataLoader loader(train, 30, {.seed = 0});
  L::MLP model({10, 3}, F::sigmoid);
  O::SGD optimizer(model, 1.0);
  double loss_sum = 0;
  for (int epoch = 1; epoch <= 300; ++epoch) {
    loss_sum = 0;
    for (auto [x, t] : loader) {
      const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
      model.clear_grads();
      loss.backward();
      optimizer.update();
      loss_sum += loss.item() * static_cast<double>(t.numel());
    }
    if (epoch % 50 == 0) spdlog::info("epoch {:3}: loss {:.4f}", epoch, loss_sum / static_cast<double>(train.size()));
  }
  dezero::NoGradGuard no_grad;
  D::DataLoader all(train, train.size(), {.shuffle = false});
  const auto [x, t] = *all.begin();
  const double accuracy = F::accuracy(model(Variable(x)), t).item();
  spdlog::info("training accuracy {:.3f}", accuracy);
  return accuracy > 0.9 ? 0 : 1;
}
