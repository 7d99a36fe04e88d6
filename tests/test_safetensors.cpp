// safetensors: round trips, a file from an independent writer, model save/load, and every
// kind of broken file.

#include "test_helpers.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace L = dezero::layers;
using namespace dezero;
using ::testing::HasSubstr;

namespace {

class SafetensorsTest : public ::testing::Test {
 protected:
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("dezero_st_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                                "_" + std::to_string(::getpid()));
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A file with the given JSON header text and data bytes.
  std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                        int64_t claimed_length = -1) {
    std::ofstream f(path(name), std::ios::binary);
    const uint64_t n = claimed_length >= 0 ? static_cast<uint64_t>(claimed_length) : header.size();
    for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xFF));
    f << header << data;
    return path(name);
  }
};

TEST_F(SafetensorsTest, RoundTripKeepsNamesOrderDtypesAndMetadata) {
  manual_seed(0);
  io::SafeTensors in;
  in.tensors = {{"b", Tensor::randn({2, 3})}, {"a", Tensor::randn({4}, Float64)}, {"s", Tensor::scalar(2.5)}};
  in.metadata = {{"epoch", "3"}};
  io::save_safetensors(path("t.safetensors"), in);
  const io::SafeTensors out = io::load_safetensors(path("t.safetensors"));
  ASSERT_EQ(out.tensors.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.tensors[i].first, in.tensors[i].first);
    EXPECT_EQ(out.tensors[i].second.dtype(), in.tensors[i].second.dtype());
    EXPECT_TENSOR_NEAR(out.tensors[i].second, in.tensors[i].second, 0);
  }
  EXPECT_EQ(out.metadata.at("epoch"), "3");
  EXPECT_EQ((std::filesystem::file_size(path("t.safetensors")) - 8 - 24 - 32 - 4) % 8, 0u);  // aligned header
}

TEST_F(SafetensorsTest, ReadsAFileFromAnIndependentWriter) {
  const io::SafeTensors f = io::load_safetensors(std::string(DEZERO_FIXTURE_DIR) + "/safetensors/reference.safetensors");
  EXPECT_EQ(f.metadata.at("writer"), "python struct/json/numpy");
  EXPECT_EQ(f.at("conv.W").shape(), (Shape{2, 3, 2, 2}));
  EXPECT_DOUBLE_EQ(f.at("conv.W").at({1, 2, 1, 1}), 23.0 / 8);
  EXPECT_EQ(f.at("fc.b").dtype(), Float64);
  EXPECT_TENSOR_NEAR(f.at("fc.b"), Tensor::from_vector({1.5, -2.25, 1e-3}, Float64), 0);
  EXPECT_EQ(f.at("scalar").ndim(), 0);
  EXPECT_DZ_ERROR(f.at("missing"), HasSubstr("missing"), HasSubstr("conv.W"));
}

TEST_F(SafetensorsTest, BrokenFilesAreErrorsNamingFileAndTensor) {
  const std::string f32x2 = std::string(8, '\0');
  const std::string ok = R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  EXPECT_NO_THROW(io::load_safetensors(write_raw("ok", ok, f32x2)));
  EXPECT_DZ_ERROR(io::load_safetensors(path("none")), HasSubstr("cannot open"));
  { std::ofstream(path("short")) << "abc"; }
  EXPECT_DZ_ERROR(io::load_safetensors(path("short")), HasSubstr("too short"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("len", ok, f32x2, 1 << 20)), HasSubstr("runs past the end"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("json", "{\"x\": [1, 2", "")), HasSubstr("not valid JSON"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("trunc", ok, f32x2.substr(0, 5))), HasSubstr("'x'"),
                  HasSubstr("[0, 8) of 5 data bytes"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("shape", R"({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", f32x2)),
                  HasSubstr("'x' of shape (3,) F32 needs 12 bytes, has 8"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("dtype", R"({"x": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]}})", f32x2)),
                  HasSubstr("dtype 'F16'"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("huge", R"({"x": {"dtype": "F32", "shape": [4611686018427387904, 8], "data_offsets": [0, 8]}})", f32x2)),
                  HasSubstr("too large"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("neg", R"({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", f32x2)),
                  HasSubstr("bad dimension"));
  EXPECT_DZ_ERROR(io::load_safetensors(write_raw("fields", R"({"x": {"dtype": "F32"}})", f32x2)),
                  HasSubstr("needs dtype, shape and data_offsets"));
}

// A lazy model saved before its first forward has no weights to write: an error, and no file
// (it used to write an empty one that load then accepted).
TEST_F(SafetensorsTest, SavingALazyModelBeforeItsFirstForwardIsRefused) {
  L::LeNet lazy;
  EXPECT_DZ_ERROR(lazy.save(path("lazy.safetensors")), HasSubstr("save"), HasSubstr("lazy.safetensors"),
                  HasSubstr("no value yet"), HasSubstr("forward"));
  EXPECT_FALSE(std::filesystem::exists(path("lazy.safetensors")));
  lazy(Variable(Tensor::zeros({1, 1, 28, 28})));
  EXPECT_NO_THROW(lazy.save(path("lazy.safetensors")));
  L::ReLU no_params;  // a model without parameters still saves (an empty state)
  EXPECT_NO_THROW(no_params.save(path("relu.safetensors")));
}

TEST_F(SafetensorsTest, ModelSaveLoadRoundTripsParametersAndBuffers) {
  manual_seed(0);
  L::GroupedCNN a(4);
  const Variable x(Tensor::randn({2, 1, 28, 28}));
  a(x);  // sizes and one batch of running statistics
  a.eval();
  const Tensor y = a(x).data();
  a.save(path("model.safetensors"));
  L::GroupedCNN b(4);  // fresh and lazy: load gives it its sizes
  b.load(path("model.safetensors"));
  b.eval();
  EXPECT_TENSOR_NEAR(b(x).data(), y, 0);
  EXPECT_EQ(b.num_params(), a.num_params());
  EXPECT_EQ(b.named_buffers().size(), 6u);  // three batch norms
  // Mismatches name the tensor and both shapes, and leave the model unchanged.
  L::GroupedCNN c(2);
  c(x);
  const Tensor before = c.params()[0].data().clone();
  EXPECT_DZ_ERROR(c.load(path("model.safetensors")), HasSubstr("net.5.W"), HasSubstr("(64, 8, 1, 1)"),
                  HasSubstr("(64, 16, 1, 1)"));
  EXPECT_TENSOR_NEAR(c.params()[0].data(), before, 0);
  L::LeNet other;
  EXPECT_DZ_ERROR(other.load(path("model.safetensors")), HasSubstr("has no tensor"));
}

}  // namespace
