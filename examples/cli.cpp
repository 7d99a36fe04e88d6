#include "cli.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>

namespace examples {

namespace {

// A check on the number in an argument; message(value) is empty when the value is acceptable.
CLI::Validator number_check(std::string description, std::function<std::string(double)> message) {
  return CLI::Validator(
      [message](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value))
          return "not a number: " + text;
        const std::string why = message(value);
        return why.empty() ? why : why + "; got " + text;
      },
      std::move(description));
}

// Shows an option as "--epochs INT >= 1 (default 3)" rather than CLI11's "INT:NUMBER >= 1=3".
class DefaultsFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (!opt->get_option_text().empty() || opt->get_type_size() == 0)
      return CLI::Formatter::make_option_opts(opt);
    std::string type = opt->get_type_name();
    if (const auto colon = type.find(':'); colon != std::string::npos) type[colon] = ' ';
    std::string out = " " + type;
    if (!opt->get_default_str().empty()) out += " (default " + opt->get_default_str() + ")";
    return out;
  }
};

}  // namespace

CLI::Validator at_least(double lo) {
  return number_check(fmt::format(">= {}", lo), [lo](double v) {
    return v >= lo ? std::string() : fmt::format("must be >= {}", lo);
  });
}

CLI::Validator greater_than(double lo) {
  return number_check(fmt::format("> {}", lo), [lo](double v) {
    return v > lo ? std::string() : fmt::format("must be > {}", lo);
  });
}

Cli::Cli(std::string description) : CLI::App(std::move(description)) {
  option_defaults()->always_capture_default();
  formatter(std::make_shared<DefaultsFormatter>());
}

int Cli::run(int argc, char** argv, const std::function<int()>& body) {
  try {
    parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit(e) == 0 ? 0 : 2;  // --help to stdout; a bad argument to stderr
  }
  try {
    return body();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    const std::string program =
        std::filesystem::path(argc > 0 ? argv[0] : "example").filename().string();
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return 1;
  }
}

}  // namespace examples
