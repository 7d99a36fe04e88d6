#include "dezero/core/tensor.h"

#include <cmath>
#include <ostream>
#include <sstream>

#include "dezero/core/backend.h"
#include "dezero/core/error.h"
#include "dezero/core/random.h"

namespace dezero {
namespace {

// Host buffer of values converted to dtype, then copied into a new tensor.
Tensor tensor_from_doubles(const std::vector<double>& values, const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  if (dtype == DType::Float32) {
    float* p = t.data<float>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<float>(values[i]);
  } else {
    double* p = t.data<double>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  }
  return t;
}

// A tensor of gen()'s draws, taken in one run from the global generator: concurrent fills on
// other threads get whole runs before or after this one.
template <class Gen>
Tensor random_tensor(const Shape& shape, DType dtype, Gen gen) {
  std::vector<double> values(static_cast<size_t>(numel(shape)));
  {
    const auto lock = random::hold();
    for (double& v : values) v = gen();
  }
  return tensor_from_doubles(values, shape, dtype);
}

int64_t flat_index(const Shape& shape, const std::vector<int64_t>& index, const char* op) {
  DZ_CHECK(index.size() == shape.size(), "{}: index of {} values for a tensor of shape {}", op,
           index.size(), to_string(shape));
  int64_t flat = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t k = index[i] < 0 ? index[i] + shape[i] : index[i];
    DZ_CHECK(k >= 0 && k < shape[i], "{}: index {} is out of bounds for axis {} of shape {}", op,
             index[i], i, to_string(shape));
    flat = flat * shape[i] + k;
  }
  return flat;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  // Strides and byte offsets must fit in int64 even when a zero dimension makes the tensor empty.
  int64_t span = static_cast<int64_t>(dtype_size(dtype));
  for (int64_t d : shape) {
    DZ_CHECK(d >= 0, "empty: negative dimension in shape {}", to_string(shape));
    DZ_CHECK(!__builtin_mul_overflow(span, std::max<int64_t>(d, 1), &span),
             "empty: shape {} is too large to address", to_string(shape));
  }
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = backend_for(device).allocate(t.nbytes());
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::full_like(const Tensor& like, double value) {
  return full(like.shape(), value, like.dtype(), like.device());
}

Tensor Tensor::arange(double start, double stop, double step, DType dtype) {
  DZ_CHECK(step != 0 && std::isfinite(step), "arange: step must be finite and non-zero; got {}",
           step);
  const double span = std::ceil((stop - start) / step);
  const int64_t n = span > 0 ? static_cast<int64_t>(span) : 0;
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
  return tensor_from_doubles(values, {n}, dtype);
}

Tensor Tensor::rand(const Shape& shape, DType dtype) {
  return random_tensor(shape, dtype, [] { return random::uniform01(); });
}

Tensor Tensor::randn(const Shape& shape, DType dtype) {
  return random_tensor(shape, dtype, [] { return random::normal(); });
}

Tensor Tensor::uniform(const Shape& shape, double low, double high, DType dtype) {
  DZ_CHECK(low <= high, "uniform: low {} is greater than high {}", low, high);
  return random_tensor(shape, dtype, [&] { return low + (high - low) * random::uniform01(); });
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  DZ_CHECK(static_cast<int64_t>(values.size()) == dezero::numel(shape),
           "from_vector: {} values cannot fill shape {}", values.size(), to_string(shape));
  return tensor_from_doubles(values, shape, dtype);
}

Tensor Tensor::from_vector(const std::vector<double>& values, DType dtype) {
  return tensor_from_doubles(values, {static_cast<int64_t>(values.size())}, dtype);
}

Tensor Tensor::scalar(double value, DType dtype) { return tensor_from_doubles({value}, {}, dtype); }

int64_t Tensor::size(int64_t i) const {
  return shape_[normalize_axis(i, ndim(), "size")];
}

template <class T>
T* Tensor::data() const {
  constexpr DType want = std::is_same_v<T, float> ? DType::Float32 : DType::Float64;
  DZ_CHECK(defined(), "data: the tensor is undefined");
  DZ_CHECK(dtype_ == want, "data: requested {} elements from a {} tensor of shape {}",
           to_string(want), to_string(dtype_), to_string(shape_));
  return static_cast<T*>(storage_.get());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;

double Tensor::item() const {
  DZ_CHECK(numel() == 1, "item: only a one-element tensor converts to a scalar; got shape {}",
           to_string(shape_));
  return to_vector()[0];
}

double Tensor::at(const std::vector<int64_t>& index) const {
  const int64_t i = flat_index(shape_, index, "at");
  if (device_ != Device::CPU) return to(Device::CPU).at(index);
  return dtype_ == DType::Float32 ? data<float>()[i] : data<double>()[i];
}

void Tensor::set(const std::vector<int64_t>& index, double value) {
  const int64_t i = flat_index(shape_, index, "set");
  DZ_CHECK(device_ == Device::CPU, "set: element writes need a cpu tensor; got {}",
           dezero::to_string(device_));
  if (dtype_ == DType::Float32)
    data<float>()[i] = static_cast<float>(value);
  else
    data<double>()[i] = value;
}

std::vector<double> Tensor::to_vector() const {
  DZ_CHECK(defined(), "to_vector: the tensor is undefined");
  const Tensor host = to(Device::CPU).to(Float64);
  const double* p = host.data<double>();
  return std::vector<double>(p, p + numel());
}

Tensor Tensor::to(Device device) const {
  if (device == device_) return *this;
  Tensor out = empty(shape_, dtype_, device);
  if (device_ == Device::CPU)
    backend_for(device).copy_from_host(raw_data(), out);
  else
    backend_for(device_).copy_to_host(*this, out.raw_data());
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device_);
  backend_for(device_).cast(*this, out);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device_);
  backend_for(device_).cast(*this, out);
  return out;
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      DZ_CHECK(infer < 0, "reshape: only one dimension can be -1; got {}", to_string(shape));
      infer = static_cast<int64_t>(i);
    } else {
      DZ_CHECK(s[i] >= 0, "reshape: invalid dimension in {}", to_string(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    DZ_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape {} into {}",
             to_string(shape_), to_string(shape));
    s[infer] = numel() / known;
  }
  DZ_CHECK(dezero::numel(s) == numel(), "reshape: cannot reshape {} into {}", to_string(shape_),
           to_string(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

void Tensor::fill_(double value) { backend_for(device_).fill(*this, value); }

void Tensor::copy_(const Tensor& src) {
  DZ_CHECK(src.shape() == shape_ && src.device() == device_,
           "copy_: source {} on {} does not match destination {} on {}", to_string(src.shape()),
           dezero::to_string(src.device()), to_string(shape_), dezero::to_string(device_));
  backend_for(device_).cast(src, *this);
}

// ---- Printing (NumPy's layout, summarized past 1000 elements) ----

namespace {

struct Printer {
  std::vector<double> values;
  Shape shape;
  std::vector<int64_t> strides;
  bool summarize;
  bool integral = true, scientific = false;
  size_t width = 0;

  std::string format(double v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (integral) return fmt::format("{:.0f}.", v);
    if (scientific) return fmt::format("{:.4e}", v);
    std::string s = fmt::format("{:.4f}", v);
    while (s.back() == '0') s.pop_back();
    return s;
  }

  bool shown(int64_t i, int64_t n) const { return !summarize || n <= 6 || i < 3 || i >= n - 3; }

  void prepare() {
    double max_abs = 0, min_abs = INFINITY;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      if (v != std::floor(v)) integral = false;
      max_abs = std::max(max_abs, std::fabs(v));
      if (v != 0) min_abs = std::min(min_abs, std::fabs(v));
    }
    scientific = !integral && (max_abs >= 1e8 || min_abs < 1e-4);
    for (double v : values) width = std::max(width, format(v).size());
  }

  void print(std::ostream& os, size_t dim, int64_t offset, size_t indent) const {
    if (dim == shape.size()) {
      std::string s = format(values[offset]);
      os << std::string(width - s.size(), ' ') << s;
      return;
    }
    os << '[';
    const int64_t n = shape[dim];
    bool skipped = false;
    for (int64_t i = 0; i < n; ++i) {
      if (!shown(i, n)) {
        if (!skipped) os << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
        skipped = true;
        continue;
      }
      print(os, dim + 1, offset + i * strides[dim], indent + 1);
      if (i + 1 < n) {
        if (dim + 1 == shape.size())
          os << ", ";
        else
          os << ',' << std::string(shape.size() - dim - 1, '\n') << std::string(indent + 1, ' ');
      }
    }
    os << ']';
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  Printer p{t.to_vector(), t.shape(), contiguous_strides(t.shape()), t.numel() > 1000};
  p.prepare();
  os << "tensor(";
  if (t.numel() == 0)
    os << "[]";
  else
    p.print(os, 0, 0, 7);
  if (t.numel() == 0 && t.ndim() != 1) os << ", shape=" << to_string(t.shape());
  os << ", dtype=" << to_string(t.dtype());
  if (t.device() != Device::CPU) os << ", device=" << to_string(t.device());
  return os << ')';
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace dezero
