#pragma once
// Graph export in Graphviz DOT, as DeZero's get_dot_graph / plot_dot_graph.

#include <string>

#include "dezero/core/variable.h"

namespace dezero {

/// The computational graph that produced y, in DOT: Variables as orange ellipses (name, and
/// shape and dtype when verbose), Functions as light-blue boxes.
std::string to_dot(const Variable& y, bool verbose = true);

/// Writes the graph to `to_file` (png, svg, pdf... from its extension) by running Graphviz's
/// `dot`; throws a dezero::Error saying how to install it when `dot` is missing.
void plot_dot_graph(const Variable& y, const std::string& to_file = "graph.png", bool verbose = true);

}  // namespace dezero
