// Grouped and depthwise convolution: parameter counts and output shapes for groups 1, 2, 8 and
// depthwise, and the time of one forward + backward pass of each on the same input.
// Usage: group_conv [--repeats 5] [--batch 32] (--help for all)

#include <dezero/dezero.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "cli.h"

namespace F = dezero::functions;
using dezero::Tensor;
using dezero::Variable;

namespace {

int compare_groups(int repeats, int64_t N) {
  dezero::manual_seed(0);
  const int64_t C = 64, H = 28, W = 28, OC = 64;
  const Variable x(Tensor::randn({N, C, H, W}));
  fmt::print("input {}, {} filters of 3x3, pad 1, {} thread(s)\n", dezero::to_string(x.shape()), OC,
             dezero::get_num_threads());
  fmt::print("{:>10} {:>18} {:>9} {:>18} {:>14}\n", "groups", "weight", "params", "output",
             "fwd+bwd ms");
  for (int64_t groups : {int64_t{1}, int64_t{2}, int64_t{8}, C}) {
    const Variable Wt(Tensor::randn({OC, C / groups, 3, 3}));
    const F::Conv2dOptions options{.pad = 1, .groups = groups};
    std::vector<double> ms;
    dezero::Shape out;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const Variable y = F::conv2d(x, Wt, {}, options);
      dezero::grad({F::sum(y)}, {Wt});
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      out = y.shape();
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    fmt::print("{:>10} {:>18} {:>9} {:>18} {:>14.2f}\n",
               groups == C ? "depthwise" : std::to_string(groups), dezero::to_string(Wt.shape()),
               Wt.numel(), dezero::to_string(out), ms[ms.size() / 2]);
  }
  spdlog::info(
      "grouped convolutions divide the weights (and the multiply-adds) by the number of groups");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5;
  int64_t batch = 32;
  examples::Cli app{
      "Grouped and depthwise 3x3 convolution: weights, output shapes and forward + backward time"};
  app.add_option("--repeats", repeats, "timed passes per row (the median is printed)")
      ->check(examples::at_least(1));
  app.add_option("--batch", batch, "images in the input batch")->check(examples::at_least(1));
  return app.run(argc, argv, [&] { return compare_groups(repeats, batch); });
}
