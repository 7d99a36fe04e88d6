#include "plots.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

bool write_filter_grid(const dezero::Tensor& W, const std::string& path, std::string& why) {
  if (W.ndim() != 4) {
    why = "the first layer has no 4-d filters";
    return false;
  }
  constexpr int kScale = 8;
  const int64_t OC = W.size(0), C = W.size(1), KH = W.size(2), KW = W.size(3);
  const int64_t cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(OC)))),
                rows = (OC + cols - 1) / cols;
  const int64_t th = KH * kScale + 2, tw = KW * kScale + 2, height = rows * th, width = cols * tw;
  std::vector<unsigned char> image(static_cast<size_t>(height * width), 255);
  const std::vector<double> w = W.to_vector();
  for (int64_t f = 0; f < OC; ++f) {
    const double* k = w.data() + f * C * KH * KW;  // channel 0
    const auto [lo, hi] = std::minmax_element(k, k + KH * KW);
    const double range = *hi - *lo > 0 ? *hi - *lo : 1;
    for (int64_t y = 0; y < KH * kScale; ++y)
      for (int64_t x = 0; x < KW * kScale; ++x) {
        const double v = (k[(y / kScale) * KW + x / kScale] - *lo) / range;
        image[((f / cols) * th + 1 + y) * width + (f % cols) * tw + 1 + x] =
            static_cast<unsigned char>(255 * v);
      }
  }
  if (!stbi_write_png(path.c_str(), static_cast<int>(width), static_cast<int>(height), 1,
                      image.data(), static_cast<int>(width))) {
    why = "cannot write " + path;
    return false;
  }
  return true;
}

bool plot_training_curves(const std::string& csv, const std::string& png, std::string& why) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    why = "gnuplot is not installed (apt-get install gnuplot-nox); the numbers are in " + csv;
    return false;
  }
  const std::string script = png + ".gp";
  {
    std::ofstream f(script);
    f << "set datafile separator ','\n"
      << "set terminal png size 1000,400\n"
      << "set output '" << png << "'\n"
      << "set multiplot layout 1,2\n"
      << "set xlabel 'epoch'\nset grid\n"
      << "set title 'loss'\n"
      << "plot '" << csv
      << "' every ::1 using 1:2 with linespoints title 'train', '' every ::1 using 1:4 with "
         "linespoints title 'test'\n"
      << "set title 'accuracy'\n"
      << "plot '" << csv
      << "' every ::1 using 1:3 with linespoints title 'train', '' every ::1 using 1:5 with "
         "linespoints title 'test'\n"
      << "unset multiplot\n";
  }
  const int rc = std::system(("gnuplot '" + script + "' 2>/dev/null").c_str());
  std::remove(script.c_str());
  if (rc != 0) {
    why = "gnuplot failed (exit status " + std::to_string(rc) + ")";
    return false;
  }
  return true;
}
