// Checkpoints: training 2 epochs equals training 1, checkpointing, and resuming for 1 in a
// fresh model and optimizer — bit for bit on the CPU, dropout included (the random generator's
// state travels in the checkpoint).

#include "test_helpers.h"

#include <filesystem>
#include <unistd.h>

namespace D = dezero::datasets;
namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using namespace dezero;

namespace {

std::unique_ptr<L::Sequential> small_cnn() {
  return std::make_unique<L::Sequential>(L::Sequential{
      L::Conv2d(8, 3, {.pad = 1}), L::BatchNorm(), L::ReLU(), L::MaxPool2d(2), L::Flatten(), L::Dropout(0.3),
      L::Linear(10)});
}

void train_epoch(L::Layer& model, O::Optimizer& opt, D::DataLoader& loader) {
  for (auto [x, t] : loader) {
    const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
    model.clear_grads();
    loss.backward();
    opt.update();
  }
}

TEST(CheckpointTest, ResumingEqualsTrainingStraightThrough) {
  const D::MNIST data(DEZERO_MNIST_DIR, true, 320);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("dezero_ckpt_" + std::to_string(::getpid()) + ".safetensors")).string();
  // Straight through: 2 epochs with a cosine schedule.
  manual_seed(0);
  auto a = small_cnn();
  O::Adam opt_a(*a, {.lr = 3e-3});
  O::CosineAnnealing sched_a(opt_a, 2);
  D::DataLoader loader_a(data, 64, {.seed = 1});
  for (int e = 0; e < 2; ++e) {
    train_epoch(*a, opt_a, loader_a);
    sched_a.step();
  }
  // One epoch, a checkpoint, then a fresh model, optimizer and loader resume for the second.
  manual_seed(0);
  auto b = small_cnn();
  O::Adam opt_b(*b, {.lr = 3e-3});
  O::CosineAnnealing sched_b(opt_b, 2);
  D::DataLoader loader_b(data, 64, {.seed = 1});
  train_epoch(*b, opt_b, loader_b);
  sched_b.step();
  O::save_checkpoint(path, *b, opt_b, {{"epoch", "1"}});
  manual_seed(12345);  // the resumed run must not depend on the generator's state
  auto c = small_cnn();
  O::Adam opt_c(*c, {.lr = 3e-3});
  O::CosineAnnealing sched_c(opt_c, 2);
  D::DataLoader loader_c(data, 64, {.seed = 1});
  const auto meta = O::load_checkpoint(path, *c, opt_c);
  EXPECT_EQ(meta.at("epoch"), "1");
  loader_c.set_epoch(1);
  sched_c.set_epoch(1);
  EXPECT_NEAR(opt_c.lr, 3e-3 * 0.5, 1e-15);  // the cosine schedule half way
  train_epoch(*c, opt_c, loader_c);
  std::filesystem::remove(path);
  const auto pa = a->state_dict(), pc = c->state_dict();
  ASSERT_EQ(pa.size(), pc.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].first, pc[i].first);
    EXPECT_TENSOR_NEAR(pc[i].second, pa[i].second, 0) << pa[i].first;
  }
  EXPECT_DZ_ERROR(O::load_checkpoint(std::string(DEZERO_FIXTURE_DIR) + "/safetensors/reference.safetensors", *c, opt_c),
                  ::testing::HasSubstr("not a dezero checkpoint"));
}

TEST(CheckpointTest, RandomStateRoundTrips) {
  manual_seed(3);
  Tensor::randn({3});  // leaves a spare normal in the generator
  const std::string state = random_state();
  const Tensor a = Tensor::randn({5}, Float64);
  set_random_state(state);
  EXPECT_TENSOR_NEAR(Tensor::randn({5}, Float64), a, 0);
  EXPECT_DZ_ERROR(set_random_state("not a state"), ::testing::HasSubstr("set_random_state"));
}

}  // namespace
