#include "plots.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

FilterGrid filter_grid(const dezero::Tensor& W) {
  const int64_t OC = W.size(0), C = W.size(1), KH = W.size(2), KW = W.size(3);
  FilterGrid grid;
  grid.scale = std::max<int64_t>(8, 64 / std::max(KH, KW));  // tiles of about 64 pixels
  const int64_t scale = grid.scale, gap = FilterGrid::kGap;
  const int64_t cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(OC)))),
                rows = (OC + cols - 1) / cols;
  const int64_t th = KH * scale + gap, tw = KW * scale + gap;
  grid.height = rows * th + gap;
  grid.width = cols * tw + gap;
  grid.rgb.assign(static_cast<size_t>(3 * grid.height * grid.width), FilterGrid::kSeparator);
  const std::vector<double> w = W.to_vector();
  double peak = 0;  // one scale for every filter: full colour at the largest |w| of channel 0
  for (int64_t f = 0; f < OC; ++f)
    for (int64_t i = 0; i < KH * KW; ++i) peak = std::max(peak, std::abs(w[f * C * KH * KW + i]));
  if (peak == 0) peak = 1;
  for (int64_t f = 0; f < OC; ++f) {
    const double* k = w.data() + f * C * KH * KW;  // channel 0
    for (int64_t y = 0; y < KH * scale; ++y)
      for (int64_t x = 0; x < KW * scale; ++x) {
        const double v = std::clamp(k[(y / scale) * KW + x / scale] / peak, -1.0, 1.0);
        const auto fade = static_cast<unsigned char>(std::lround(255 * (1 - std::abs(v))));
        unsigned char* px =
            &grid.rgb[3 * (((f / cols) * th + gap + y) * grid.width + (f % cols) * tw + gap + x)];
        px[0] = v > 0 ? 255 : fade;  // red for positive weights
        px[1] = fade;
        px[2] = v < 0 ? 255 : fade;  // blue for negative ones
      }
  }
  return grid;
}

bool write_filter_grid(const dezero::Tensor& W, const std::string& path, std::string& why) {
  if (W.ndim() != 4) {
    why = "the first layer has no 4-d filters";
    return false;
  }
  const FilterGrid grid = filter_grid(W);
  if (!stbi_write_png(path.c_str(), static_cast<int>(grid.width), static_cast<int>(grid.height), 3,
                      grid.rgb.data(), static_cast<int>(3 * grid.width))) {
    why = "cannot write " + path;
    return false;
  }
  return true;
}

StepLog::StepLog(const std::string& path, bool append, int64_t steps_per_epoch)
    : decay_(1.0 - 1.0 / static_cast<double>(std::clamp<int64_t>(steps_per_epoch / 20, 1, 50))) {
  const bool continuing = append && std::ifstream(path).good();
  file_.open(path, continuing ? std::ios::app : std::ios::trunc);
  file_.precision(8);
  if (!continuing) file_ << "step,epoch,loss,loss_smoothed,accuracy_smoothed\n";
}

void StepLog::add(double epoch, double loss, double accuracy) {
  loss_avg_ = decay_ * loss_avg_ + (1 - decay_) * loss;
  accuracy_avg_ = decay_ * accuracy_avg_ + (1 - decay_) * accuracy;
  weight_ = decay_ * weight_ + (1 - decay_);
  file_ << ++steps_ << ',' << epoch << ',' << loss << ',' << loss_avg_ / weight_ << ','
        << accuracy_avg_ / weight_ << '\n'
        << std::flush;  // complete when the curves are drawn
}

bool plot_training_curves(const std::string& steps_csv, const std::string& epochs_csv,
                          const std::string& title, const std::string& png, std::string& why) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    why =
        "gnuplot is not installed (apt-get install gnuplot-nox); the numbers are in " + epochs_csv;
    return false;
  }
  const std::string script = png + ".gp";
  {
    // Per-step curves (thin: raw; thick: smoothed) against the fractional epoch, per-epoch test
    // points on them; integer epoch ticks; the legend below the plots, off the data.
    std::ofstream f(script);
    f << "set datafile separator ','\n"
      << "set terminal pngcairo size 1200,520 font 'sans,11'\n"
      << "set output '" << png << "'\n"
      << "set multiplot layout 1,2 title '" << title << "' font 'sans,13'\n"
      << "set xlabel 'epoch'\nset grid\nset xtics 1\nset mxtics 4\nset xrange [0:*]\n"
      << "set key outside bottom center horizontal samplen 3 spacing 1.1\nset bmargin 7\n"
      << "set title 'loss'\nset logscale y\n"
      << "plot '" << steps_csv
      << "' every ::1 using 2:3 with lines lc rgb '#b0c4de' title 'train (per step)', "
      << "'' every ::1 using 2:4 with lines lw 2 lc rgb '#1f4e9c' title 'train (smoothed)', "
      << "'" << epochs_csv
      << "' every ::1 using 1:4 with linespoints pt 7 ps 1.5 lw 2 lc rgb '#d62728' "
      << "title 'test (end of epoch)'\n"
      << "set title 'accuracy'\nunset logscale y\nset yrange [*:1]\n"
      << "plot '" << steps_csv
      << "' every ::1 using 2:5 with lines lw 2 lc rgb '#1f4e9c' title 'train (smoothed)', "
      << "'" << epochs_csv
      << "' every ::1 using 1:5 with linespoints pt 7 ps 1.5 lw 2 lc rgb '#d62728' "
      << "title 'test (end of epoch)'\n"
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
