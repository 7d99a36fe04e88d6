#include "dezero/functions/dot.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "dezero/core/error.h"
#include "dezero/core/function.h"

namespace dezero {
namespace {

// Quotes a path for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string escape(const std::string& s) {
  std::string e;
  for (char c : s) e += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return e;
}

}  // namespace

std::string to_dot(const Variable& y, bool verbose) {
  DZ_CHECK(y.defined(), "to_dot: the Variable is undefined");
  std::unordered_map<const void*, int> ids;  // stable, small ids in discovery order
  auto id = [&](const void* p) { return ids.try_emplace(p, static_cast<int>(ids.size())).first->second; };
  auto var_node = [&](const Variable& v) {
    std::string label = v.name();
    if (verbose) {
      if (!label.empty()) label += ": ";
      label += to_string(v.shape()) + " " + to_string(v.dtype());
    }
    return fmt::format("{} [label=\"{}\", color=orange, style=filled]\n", id(v.node()), escape(label));
  };
  std::string out = "digraph g {\n" + var_node(y);
  std::vector<std::shared_ptr<Function>> stack;
  std::unordered_set<const Function*> seen;
  if (y.creator()) {
    stack.push_back(y.creator());
    seen.insert(y.creator().get());
  }
  while (!stack.empty()) {
    std::shared_ptr<Function> f = stack.back();
    stack.pop_back();
    out += fmt::format("{} [label=\"{}\", color=lightblue, style=filled, shape=box]\n", id(f.get()),
                       escape(f->name()));
    for (const Variable& x : f->inputs()) {
      if (!ids.count(x.node())) out += var_node(x);
      out += fmt::format("{} -> {}\n", id(x.node()), id(f.get()));
      if (x.creator() && seen.insert(x.creator().get()).second) stack.push_back(x.creator());
    }
    for (size_t i = 0; i < f->num_outputs(); ++i) {
      const Variable o = f->output_if_alive(i);
      if (o.defined()) out += fmt::format("{} -> {}\n", id(f.get()), id(o.node()));
    }
  }
  return out + "}\n";
}

void plot_dot_graph(const Variable& y, const std::string& to_file, bool verbose) {
  const std::filesystem::path path(to_file);
  std::string format = path.extension().string();
  format = format.empty() ? "png" : format.substr(1);
  DZ_CHECK(std::system("command -v dot >/dev/null 2>&1") == 0,
           "plot_dot_graph: Graphviz's 'dot' was not found on PATH; install it (apt-get install "
           "graphviz) or write to_dot(y) to a file yourself");
  const std::string dot_file = to_file + ".dot";
  {
    std::ofstream f(dot_file);
    DZ_CHECK(f.good(), "plot_dot_graph: cannot write {}", dot_file);
    f << to_dot(y, verbose);
  }
  const std::string cmd = "dot -T" + shell_quote(format) + " " + shell_quote(dot_file) + " -o " +
                          shell_quote(to_file) + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::remove(dot_file.c_str());
  DZ_CHECK(rc == 0, "plot_dot_graph: dot failed (exit status {}) writing {} as '{}'", rc, to_file,
           format);
}

}  // namespace dezero
