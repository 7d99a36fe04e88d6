// The pictures of mnist_cnn: filters on one colour scale with dark separators, large enough to
// read; per-step curves that a short run can still plot.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plots.h"

namespace {

// The colour of weight (i, j) of filter f in a grid of 3x3 filters.
std::array<int, 3> pixel(const FilterGrid& g, int64_t f, int64_t i, int64_t j, int64_t cols) {
  const int64_t tile = 3 * g.scale + FilterGrid::kGap;
  const int64_t y = (f / cols) * tile + FilterGrid::kGap + i * g.scale + g.scale / 2;
  const int64_t x = (f % cols) * tile + FilterGrid::kGap + j * g.scale + g.scale / 2;
  const unsigned char* p = &g.rgb[static_cast<size_t>(3 * (y * g.width + x))];
  return {p[0], p[1], p[2]};
}

TEST(PlotsTest, FiltersShareOneColourScaleBetweenDarkSeparators) {
  // Filter 0 holds the largest weight (1) and the smallest (-1); filter 1 only 0.5 and 0: with
  // one scale, 0.5 is half-faded red, not full red as a per-filter scale would draw it.
  std::vector<double> w(2 * 9, 0.0);
  w[0] = 1;
  w[1] = -1;
  w[9] = 0.5;
  const FilterGrid g = filter_grid(dezero::Tensor::from_vector(w, {2, 1, 3, 3}, dezero::Float64));
  EXPECT_GE(g.scale, 16);  // a 3x3 tile is at least 48 pixels wide
  EXPECT_EQ(g.width, 2 * (3 * g.scale + FilterGrid::kGap) + FilterGrid::kGap);
  EXPECT_EQ(pixel(g, 0, 0, 0, 2), (std::array<int, 3>{255, 0, 0}));      // +max: red
  EXPECT_EQ(pixel(g, 0, 0, 1, 2), (std::array<int, 3>{0, 0, 255}));      // -max: blue
  EXPECT_EQ(pixel(g, 0, 2, 2, 2), (std::array<int, 3>{255, 255, 255}));  // 0: white
  EXPECT_EQ(pixel(g, 1, 0, 0, 2), (std::array<int, 3>{255, 128, 128}));  // 0.5: half red
  for (int c = 0; c < 3; ++c)
    EXPECT_EQ(g.rgb[static_cast<size_t>(c)], FilterGrid::kSeparator);  // the corner
}

TEST(PlotsTest, StepLogSmoothsFromTheFirstStep) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "dezero_plots_steps.csv").string();
  {
    StepLog log(path, false, 200);  // averages over 10 steps
    log.add(0.5, 2.0, 0.25);
    log.add(1.0, 1.0, 0.75);
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  std::istringstream lines(text.str());
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(header, "step,epoch,loss,loss_smoothed,accuracy_smoothed");
  EXPECT_EQ(first, "1,0.5,2,2,0.25");  // bias-corrected: the first average is the first value
  // (0.9 * 0.1 * 2 + 0.1 * 1) / (1 - 0.81) = 0.28 / 0.19
  double loss = 0, smoothed = 0;
  ASSERT_EQ(std::sscanf(second.c_str(), "2,1,%lf,%lf", &loss, &smoothed), 2);
  EXPECT_NEAR(smoothed, 0.28 / 0.19, 1e-7);  // written with 8 digits
}

TEST(PlotsTest, CurvesOfAOneEpochRunAreDrawn) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  const auto dir = std::filesystem::temp_directory_path() / "dezero_plots_curves";
  std::filesystem::create_directories(dir);
  {
    StepLog log((dir / "steps.csv").string(), false, 40);
    for (int s = 1; s <= 40; ++s) log.add(s / 40.0, 2.0 / s, 1 - 1.0 / s);
  }
  std::ofstream((dir / "metrics.csv").string())
      << "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second\n"
      << "1,0.5,0.8,0.4,0.9,1.0,1000\n";
  std::string why;
  const auto png = dir / "curves.png";
  ASSERT_TRUE(plot_training_curves((dir / "steps.csv").string(), (dir / "metrics.csv").string(),
                                   "a title", png.string(), why))
      << why;
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
  std::filesystem::remove_all(dir);
}

}  // namespace
