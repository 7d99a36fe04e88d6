// dezero-cpp's side of the GPU comparison with PyTorch (bench/gpu_side_by_side.py runs it and
// PyTorch alternately and writes the table). Float32 on one device; per row it prints
//   <row>\t<ms>,<ms>,...
// one sample per round, each the mean of enough iterations for ~0.2 s, timed between device
// synchronizations. Rows: conv2d fwd+bwd (the six configurations), the LeNet-style CNN training
// step at batch 64 and 256, and a 4096^3 matmul. --breakdown instead times the pieces of each
// conv's fwd+bwd (tensor-level ops: im2col, forward, input and weight gradients, bias gradient),
// to see where a row's time goes.
// --filter TEXT runs only the rows whose name contains TEXT.
//   ./build/bench/gpu_bench [--device cuda|cpu] [--rounds 3] [--smoke] [--breakdown] [--filter TEXT]

#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "bench_common.h"

namespace F = dezero::functions;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using dezero::Device;
using dezero::Tensor;
using dezero::Variable;

namespace {

struct Options {
  Device device = Device::CUDA;
  int rounds = 3;
  bool smoke = false;
  bool breakdown = false;
  std::string filter;
};

void sync(Device device) {
  if (device == Device::CUDA) dezero::cuda::synchronize();
}

double mean_seconds(const std::function<void()>& work, int iterations, Device device) {
  sync(device);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) work();
  sync(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iterations;
}

// Warm-up (allocator caches, cuBLAS heuristics), then one sample per round.
void report(const std::string& row, const std::function<void()>& work, const Options& o) {
  if (row.find(o.filter) == std::string::npos) return;
  for (int i = 0; i < (o.smoke ? 1 : 3); ++i) work();
  const double one = mean_seconds(work, 1, o.device);
  const int iterations = o.smoke ? 1 : std::max(1, static_cast<int>(0.2 / std::max(one, 1e-6)));
  std::cout << row << '\t';
  for (int r = 0; r < o.rounds; ++r)
    std::cout << (r ? "," : "") << fmt::format("{:.4f}", 1e3 * mean_seconds(work, iterations, o.device));
  std::cout << std::endl;
}

Variable randn_on(const dezero::Shape& shape, Device device) { return Variable(Tensor::randn(shape).to(device)); }

void conv_rows(const Options& o) {
  for (const dezero::bench::ConvConfig& c : dezero::bench::kConvConfigs) {
    dezero::manual_seed(0);
    const Variable x = randn_on({c.N, c.C, c.H, c.W}, o.device);
    const Variable W = randn_on({c.OC, c.C / c.groups, c.k, c.k}, o.device), b = randn_on({c.OC}, o.device);
    const F::Conv2dOptions opts{c.stride, c.pad, 1, c.groups};
    const Variable gy = randn_on(F::conv2d(x, W, b, opts).shape(), o.device);
    report(fmt::format("conv2d fwd+bwd {}", dezero::bench::label(c)),
           [&] { dezero::grad({F::conv2d(x, W, b, opts)}, {x, W, b}, {gy}); }, o);
  }
}

// The pieces of conv_rows' fwd+bwd, as the Conv2d Function's forward and backward call them.
void breakdown_rows(const Options& o) {
  namespace ops = dezero::ops;
  for (const dezero::bench::ConvConfig& c : dezero::bench::kConvConfigs) {
    dezero::manual_seed(0);
    const Tensor x = Tensor::randn({c.N, c.C, c.H, c.W}).to(o.device);
    const Tensor W = Tensor::randn({c.OC, c.C / c.groups, c.k, c.k}).to(o.device), b = Tensor::randn({c.OC}).to(o.device);
    const dezero::Conv2dGeometry g = dezero::conv2d_geometry(x.shape(), c.k, c.stride, c.pad, 1, "gpu_bench");
    const Tensor gy = Tensor::randn({c.N, c.OC, g.OH, g.OW}).to(o.device);
    const std::string at = dezero::bench::label(c);
    report(fmt::format("im2col {}", at), [&] { ops::im2col(x, g); }, o);
    report(fmt::format("forward {}", at), [&] { ops::conv2d(x, W, b, g, c.groups); }, o);
    report(fmt::format("input gradient {}", at), [&] { ops::deconv2d(gy, W, Tensor(), g, c.groups); }, o);
    report(fmt::format("weight gradient {}", at), [&] { ops::conv2d_grad_w(x, gy, g, c.groups, c.OC); }, o);
    report(fmt::format("bias gradient {}", at), [&] { ops::sum(gy, {0, 2, 3}); }, o);
  }
}

void lenet_rows(const Options& o) {
  for (int64_t batch : {64, 256}) {
    dezero::manual_seed(0);
    L::LeNet model;
    const Tensor x = Tensor::randn({batch, 1, 28, 28}).to(o.device), t = dezero::bench::labels(batch).to(o.device);
    model(Variable(x));  // materializes the lazy layers on the device
    O::MomentumSGD opt(model, {.lr = 0.01});
    report(fmt::format("LeNet-style CNN step, batch {}", batch), [&] {
      const Variable loss = F::softmax_cross_entropy(model(Variable(x)), t);
      model.clear_grads();
      loss.backward();
      opt.update();
    }, o);
  }
}

void matmul_row(const Options& o) {
  const int64_t n = o.smoke ? 256 : 4096;
  dezero::manual_seed(0);
  const Tensor a = Tensor::randn({n, n}).to(o.device), b = Tensor::randn({n, n}).to(o.device);
  report(fmt::format("matmul {}x{}x{}", n, n, n), [&] { dezero::ops::matmul(a, b); }, o);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--smoke") {
      o.smoke = true;
      o.rounds = 1;
    } else if (arg == "--breakdown") {
      o.breakdown = true;
    } else if (arg == "--filter" && i + 1 < argc) {
      o.filter = argv[++i];
    } else if (arg == "--rounds" && i + 1 < argc) {
      o.rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--device" && i + 1 < argc) {
      const std::string d = argv[++i];
      if (d != "cpu" && d != "cuda") throw std::invalid_argument(fmt::format("gpu_bench: --device must be cpu or cuda; got '{}'", d));
      o.device = d == "cpu" ? Device::CPU : Device::CUDA;
    } else {
      throw std::invalid_argument(fmt::format("gpu_bench: unknown argument '{}' (--device cpu|cuda, --rounds N, --smoke, --breakdown, --filter TEXT)", arg));
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (o.device == Device::CUDA && !dezero::cuda::is_available()) {
      std::cerr << "gpu_bench: no usable CUDA device (build with CUDA and run on a GPU, or pass --device cpu)\n";
      return 2;
    }
    if (o.breakdown) {
      breakdown_rows(o);
      return 0;
    }
    conv_rows(o);
    lenet_rows(o);
    matmul_row(o);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
