// Command lines of the examples: every example answers --help (with each option's default),
// rejects out-of-range numbers with a short message ("--batch-size: must be >= 1; got 0") and
// prints errors, its own or the library's, to stderr with exit status 1.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace examples {

/// A CLI11 check that a number is at least lo: "must be >= 1; got 0".
CLI::Validator at_least(double lo);

/// A CLI11 check that a number is greater than lo: "must be > 0; got -1".
CLI::Validator greater_than(double lo);

/// An argument parser whose --help shows every option's default.
class Cli : public CLI::App {
 public:
  /// The parser of an example described by one line.
  explicit Cli(std::string description);

  /// Parses argv, then runs body; --help prints and returns 0, a bad argument or an exception
  /// prints "<program>: <message>" to stderr and returns 1 (2 for a bad argument).
  int run(int argc, char** argv, const std::function<int()>& body);
};

}  // namespace examples
