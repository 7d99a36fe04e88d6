#pragma once
// Elementwise functors, written once and used by every backend (Eigen on the CPU, one templated
// kernel on CUDA). The X-macro lists generate the op enums and each backend's dispatch, so a new
// primitive is one functor plus one line in a list.

#include <cmath>

#if defined(__CUDACC__)
#define DZ_HOST_DEVICE __host__ __device__
#else
#define DZ_HOST_DEVICE
#endif

namespace dezero {

// ---- Unary ----
struct NegOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return -x; } };
struct ExpOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return exp(x); } };
struct LogOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return log(x); } };
struct SinOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return sin(x); } };
struct CosOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return cos(x); } };
struct TanhOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return tanh(x); } };
struct SqrtOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return sqrt(x); } };
struct AbsOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return fabs(x); } };
struct SquareOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return x * x; } };
struct SignOp {
  template <class T> DZ_HOST_DEVICE T operator()(T x) const { return T(x > T(0)) - T(x < T(0)); }
};
// sigmoid(x) = 1 / (1 + exp(-x)), written with tanh so that it never overflows.
struct SigmoidOp {
  template <class T> DZ_HOST_DEVICE T operator()(T x) const {
    return T(0.5) * tanh(T(0.5) * x) + T(0.5);
  }
};
struct ReluOp { template <class T> DZ_HOST_DEVICE T operator()(T x) const { return x > T(0) ? x : T(0); } };

#define DZ_UNARY_OPS(X) \
  X(Neg, NegOp)         \
  X(Exp, ExpOp)         \
  X(Log, LogOp)         \
  X(Sin, SinOp)         \
  X(Cos, CosOp)         \
  X(Tanh, TanhOp)       \
  X(Sqrt, SqrtOp)       \
  X(Abs, AbsOp)         \
  X(Square, SquareOp)   \
  X(Sign, SignOp)       \
  X(Sigmoid, SigmoidOp) \
  X(Relu, ReluOp)

// ---- Binary (comparisons return 1 or 0 in the operands' dtype) ----
struct AddOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return a + b; } };
struct SubOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return a - b; } };
struct MulOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return a * b; } };
struct DivOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return a / b; } };
struct PowOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return pow(a, b); } };
struct MaximumOp {
  template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return a > b ? a : b; }
};
struct MinimumOp {
  template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return a < b ? a : b; }
};
struct EqOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return T(a == b); } };
struct NeOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return T(a != b); } };
struct LtOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return T(a < b); } };
struct LeOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return T(a <= b); } };
struct GtOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return T(a > b); } };
struct GeOp { template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return T(a >= b); } };
// a where b > 0, else 0: ReLU's backward in one pass (the mask never materialized).
struct PassWherePositiveOp {
  template <class T> DZ_HOST_DEVICE T operator()(T a, T b) const { return b > T(0) ? a : T(0); }
};

#define DZ_BINARY_OPS(X)  \
  X(Add, AddOp)           \
  X(Sub, SubOp)           \
  X(Mul, MulOp)           \
  X(Div, DivOp)           \
  X(Pow, PowOp)           \
  X(Maximum, MaximumOp)   \
  X(Minimum, MinimumOp)   \
  X(Eq, EqOp)             \
  X(Ne, NeOp)             \
  X(Lt, LtOp)             \
  X(Le, LeOp)             \
  X(Gt, GtOp)             \
  X(Ge, GeOp)             \
  X(PassWherePositive, PassWherePositiveOp)

#define DZ_ENUM_ENTRY(name, functor) name,

/// Unary primitives a backend implements.
enum class UnaryOp { DZ_UNARY_OPS(DZ_ENUM_ENTRY) };
/// Binary primitives a backend implements (with broadcasting).
enum class BinaryOp { DZ_BINARY_OPS(DZ_ENUM_ENTRY) };
/// Reductions over axes.
enum class ReduceOp { Sum, Max, Min };

#undef DZ_ENUM_ENTRY

}  // namespace dezero
