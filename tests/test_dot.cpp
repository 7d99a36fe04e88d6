// Graph export to DOT and, when Graphviz is installed, to an image.

#include "test_helpers.h"

#include <cstdlib>
#include <filesystem>

#include <unistd.h>

namespace F = dezero::functions;
using namespace dezero;

namespace {

TEST(DotTest, DescribesVariablesFunctionsAndEdges) {
  Variable x(Tensor::ones({2, 3}), "x");
  Variable y = F::tanh(x) + 1.0;
  y.set_name("y");
  const std::string dot = to_dot(y);
  EXPECT_EQ(dot.rfind("digraph g {", 0), 0u);
  EXPECT_NE(dot.find("label=\"x: (2, 3) float32\", color=orange"), std::string::npos);
  EXPECT_NE(dot.find("label=\"y: (2, 3) float32\""), std::string::npos);
  EXPECT_NE(dot.find("label=\"tanh\", color=lightblue, style=filled, shape=box"), std::string::npos);
  EXPECT_NE(dot.find("label=\"add\""), std::string::npos);
  // 2 functions, 4 variables (x, tanh output, the scalar 1, y), 5 edges.
  EXPECT_EQ(std::count(dot.begin(), dot.end(), '>'), 5);
  EXPECT_EQ(to_dot(y, false).find("float32"), std::string::npos);
}

TEST(DotTest, PlotsAnImageWhenGraphvizIsInstalled) {
  Variable x(Tensor::ones({2}), "x");
  Variable y = F::exp(x);
  const auto path = std::filesystem::temp_directory_path() / ("dezero_test_graph_" + std::to_string(::getpid()) + ".png");
  std::filesystem::remove(path);
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    EXPECT_DZ_ERROR(plot_dot_graph(y, path.string()), ::testing::HasSubstr("graphviz"));
    return;
  }
  plot_dot_graph(y, path.string());
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_GT(std::filesystem::file_size(path), 100u);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".dot"));
  std::filesystem::remove(path);
}

}  // namespace
