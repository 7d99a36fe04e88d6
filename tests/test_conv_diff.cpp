// The PyTorch differential suite (tests/fixtures/conv_diff.safetensors, written by
// gen_conv_diff_fixtures.py): a few hundred conv2d / deconv2d / max_pool2d / avg_pool2d / pad2d
// cases drawn from the whole legal parameter space, each checked for y, the first-order
// gradients of sum(y * R) and the second-order gradients of sum_i sum(g_i * S_i) with respect
// to every input and R. Float64 must match to 1e-12 at every order (also on one thread with a
// one-byte conv workspace, so every chunked path runs); float32 to 1e-4.

#include <map>
#include <sstream>

#include "test_helpers.h"

namespace F = dezero::functions;
using namespace dezero;

namespace {

using Config = std::map<std::string, std::string>;

struct DiffCase {
  std::string name;
  Config cfg;
};

const io::SafeTensors& suite() {
  static const io::SafeTensors s =
      io::load_safetensors(std::string(DEZERO_FIXTURE_DIR) + "/conv_diff.safetensors");
  return s;
}

Config parse_config(const std::string& text) {
  Config cfg;
  std::istringstream ss(text);
  std::string token;
  while (ss >> token) {
    const auto eq = token.find('=');
    cfg[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return cfg;
}

std::vector<int64_t> ints(const std::string& text) {
  std::vector<int64_t> v;
  std::istringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) v.push_back(std::stoll(part));
  return v;
}

Pair pair_of(const Config& c, const std::string& key) {
  const auto v = ints(c.at(key));
  return {v.at(0), v.at(1)};
}

F::PaddingMode mode_of(const std::string& name) {
  if (name == "reflect") return F::PaddingMode::Reflect;
  if (name == "replicate") return F::PaddingMode::Replicate;
  if (name == "circular") return F::PaddingMode::Circular;
  return F::PaddingMode::Zeros;
}

std::vector<DiffCase> load_cases() {
  std::vector<DiffCase> cases;
  for (const auto& [name, text] : suite().metadata) cases.push_back({name, parse_config(text)});
  return cases;
}

// The input names of a case, in the generator's order.
std::vector<std::string> input_names(const DiffCase& c) {
  std::vector<std::string> names = {"x"};
  if (c.cfg.count("w")) names.push_back("W");
  if (c.cfg.count("bias") && c.cfg.at("bias") == "1") names.push_back("b");
  return names;
}

Variable run(const DiffCase& c, const std::vector<Variable>& in) {
  const Config& k = c.cfg;
  const std::string& op = k.at("op");
  if (op == "conv2d") {
    F::Conv2dOptions o{pair_of(k, "stride"),          pair_of(k, "pad"),
                       pair_of(k, "dilation"),        std::stoll(k.at("groups")),
                       mode_of(k.at("padding_mode")), k.at("same") == "1"};
    return F::conv2d(in[0], in[1], in.size() > 2 ? in[2] : Variable(), o);
  }
  if (op == "deconv2d") {
    F::Deconv2dOptions o{pair_of(k, "stride"), pair_of(k, "pad"), pair_of(k, "dilation"),
                         std::stoll(k.at("groups")), pair_of(k, "output_padding")};
    return F::deconv2d(in[0], in[1], in.size() > 2 ? in[2] : Variable(), o);
  }
  if (op == "pad2d") {
    const auto p = ints(k.at("padding"));
    return F::pad2d(in[0], {p.at(0), p.at(1), p.at(2), p.at(3)}, mode_of(k.at("mode")));
  }
  F::Pool2dOptions o;
  o.stride = pair_of(k, "stride");
  o.pad = pair_of(k, "pad");
  o.dilation = pair_of(k, "dilation");
  o.ceil_mode = k.at("ceil_mode") == "1";
  if (op == "max_pool2d") return F::max_pool2d(in[0], pair_of(k, "kernel"), o);
  o.count_include_pad = k.at("count_include_pad") == "1";
  if (const int64_t d = std::stoll(k.at("divisor_override")); d != 0) o.divisor_override = d;
  return F::avg_pool2d(in[0], pair_of(k, "kernel"), o);
}

// max |a - b| / max |b| (max |a - b| when b is all zero).
double relative_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return 1e30;
  const auto x = a.to_vector(), y = b.to_vector();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::fabs(x[i] - y[i]));
    scale = std::max(scale, std::fabs(y[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

Tensor data_of(const Variable& v, const Shape& like, DType dtype) {
  return v.defined() ? v.data().to(dtype) : Tensor::zeros(like, dtype);
}

void check_case(const DiffCase& c, DType dtype, double tolerance, bool second_order) {
  SCOPED_TRACE(c.name + ": " + suite().metadata.at(c.name));
  const auto at = [&](const std::string& what) { return suite().at(c.name + "/" + what); };
  const auto names = input_names(c);
  std::vector<Variable> inputs;
  for (const auto& n : names) inputs.emplace_back(at(n).to(dtype));
  const Variable y = run(c, inputs);
  EXPECT_LT(relative_error(y.data().to(Float64), at("y")), tolerance) << "forward";
  Variable R(at("R").to(dtype));
  auto with_R = inputs;
  with_R.push_back(R);
  const auto first = dezero::grad({F::sum(y * R)}, inputs, second_order, true);
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_LT(relative_error(data_of(first[i], inputs[i].shape(), Float64), at("g_" + names[i])),
              tolerance)
        << "gradient of " << names[i];
  if (!second_order) return;
  Variable L2;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first[i].defined()) continue;
    const Variable term = F::sum(first[i] * Variable(at("S_" + names[i]).to(dtype)));
    L2 = L2.defined() ? L2 + term : term;
  }
  if (!L2.defined()) return;
  const auto second = dezero::grad({L2}, with_R, false, true);
  for (size_t i = 0; i < with_R.size(); ++i) {
    const std::string n = i < names.size() ? names[i] : "R";
    EXPECT_LT(relative_error(data_of(second[i], with_R[i].shape(), Float64), at("gg_" + n)),
              tolerance)
        << "second-order gradient of " << n;
  }
}

TEST(PyTorchDifferentialTest, SuiteCoversTheWholeParameterSpace) {
  const auto cases = load_cases();
  std::map<std::string, int> per_op;
  int deconv_dilated_outpad_pad = 0, pool_ceil = 0, conv_modes = 0, conv_same = 0;
  for (const auto& c : cases) {
    const Config& k = c.cfg;
    ++per_op[k.at("op")];
    if (k.at("op") == "deconv2d") {
      const auto op = ints(k.at("output_padding")), s = ints(k.at("stride")), p = ints(k.at("pad"));
      deconv_dilated_outpad_pad += (op[0] >= s[0] && p[0] > 0) || (op[1] >= s[1] && p[1] > 0);
    }
    if (k.count("ceil_mode")) pool_ceil += k.at("ceil_mode") == "1";
    if (k.at("op") == "conv2d") {
      conv_modes += k.at("padding_mode") != "zeros";
      conv_same += k.at("same") == "1";
    }
  }
  EXPECT_GE(cases.size(), 300u);
  EXPECT_GE(per_op["conv2d"], 100);
  EXPECT_GE(per_op["deconv2d"], 100);
  EXPECT_GE(per_op["max_pool2d"], 50);
  EXPECT_GE(per_op["avg_pool2d"], 40);
  EXPECT_GE(per_op["pad2d"], 20);
  EXPECT_GE(deconv_dilated_outpad_pad, 10);
  EXPECT_GE(pool_ceil, 20);
  EXPECT_GE(conv_modes, 15);
  EXPECT_GE(conv_same, 8);
}

TEST(PyTorchDifferentialTest, Float64MatchesAtEveryOrder) {
  for (const auto& c : load_cases()) check_case(c, Float64, 1e-12, true);
}

TEST(PyTorchDifferentialTest, Float64MatchesOnOneThreadWithATinyWorkspace) {
  const int threads = get_num_threads();
  const size_t limit = conv_workspace_limit();
  set_num_threads(1);
  set_conv_workspace_limit(1);
  for (const auto& c : load_cases()) check_case(c, Float64, 1e-12, true);
  set_conv_workspace_limit(limit);
  set_num_threads(threads);
}

TEST(PyTorchDifferentialTest, Float32MatchesFirstOrder) {
  for (const auto& c : load_cases()) check_case(c, Float32, 1e-4, false);
}

}  // namespace
