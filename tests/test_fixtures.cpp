// dezero-cpp against PyTorch: every case of tests/fixtures/conv (written by
// gen_conv_fixtures.py) — forward and the gradients of sum(y * R) for every input — in float32
// (relative error < 1e-5) and float64 (< 1e-10; PyTorch's values are float64 from the same
// float32 inputs).

#include "test_helpers.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace F = dezero::functions;
using namespace dezero;

namespace {

const std::filesystem::path kDir = std::filesystem::path(DEZERO_FIXTURE_DIR) / "conv";

struct FixtureCase {
  std::string name, op;
  int64_t N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, groups, OPH, OPW, bias;
};

std::vector<FixtureCase> load_cases() {
  std::ifstream f(kDir / "cases.txt");
  std::vector<FixtureCase> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    FixtureCase c;
    ss >> c.name >> c.op >> c.N >> c.C >> c.H >> c.W >> c.OC >> c.KH >> c.KW >> c.SH >> c.SW >> c.PH >> c.PW >>
        c.DH >> c.DW >> c.groups >> c.OPH >> c.OPW >> c.bias;
    cases.push_back(c);
  }
  return cases;
}

// max |a - b| / max |b|: a relative error that near-zero elements cannot blow up.
double relative_error(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::fabs(x[i] - y[i]));
    scale = std::max(scale, std::fabs(y[i]));
  }
  return diff / std::max(scale, 1e-30);
}

Variable run_case(const FixtureCase& c, const std::vector<Variable>& in) {
  const Variable b = c.bias ? in[2] : Variable();
  const Pair stride{c.SH, c.SW}, pad{c.PH, c.PW}, dilation{c.DH, c.DW};
  if (c.op == "conv2d") return F::conv2d(in[0], in[1], b, {stride, pad, dilation, c.groups});
  if (c.op == "deconv2d")
    return F::deconv2d(in[0], in[1], b, {stride, pad, dilation, c.groups, {c.OPH, c.OPW}});
  if (c.op == "max_pool2d") return F::max_pool2d(in[0], {c.KH, c.KW}, {stride, pad, dilation});
  return F::avg_pool2d(in[0], {c.KH, c.KW}, {stride, pad});
}

void check_against_pytorch(DType dtype, double tolerance) {
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 24u) << "missing fixtures in " << kDir;
  for (const FixtureCase& c : cases) {
    SCOPED_TRACE(c.name + " in " + to_string(dtype));
    const auto dir = kDir / c.name;
    std::vector<std::string> names = {"x"};
    if (c.op == "conv2d" || c.op == "deconv2d") names.push_back("W");
    if (c.bias) names.push_back("b");
    std::vector<Variable> inputs;
    for (const auto& n : names) inputs.emplace_back(io::load_npy(dir / (n + ".npy")).to(dtype));
    const Variable y = run_case(c, inputs);
    const Tensor want_y = io::load_npy(dir / "y.npy");
    ASSERT_EQ(y.shape(), want_y.shape());
    EXPECT_LT(relative_error(y.data(), want_y), tolerance) << "forward";
    const Tensor R = io::load_npy(dir / "R.npy").to(dtype);
    const auto grads = dezero::grad({F::sum(y * R)}, inputs);
    for (size_t i = 0; i < names.size(); ++i)
      EXPECT_LT(relative_error(grads[i].data(), io::load_npy(dir / ("g" + names[i] + ".npy"))), tolerance)
          << "gradient of " << names[i];
  }
}

TEST(PyTorchFixturesTest, Float32MatchesPyTorch) { check_against_pytorch(Float32, 1e-5); }

TEST(PyTorchFixturesTest, Float64MatchesPyTorch) { check_against_pytorch(Float64, 1e-10); }

}  // namespace
