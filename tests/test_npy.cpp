// .npy files: round trips, the layouts numpy writes, and malformed files that must fail cleanly.

#include "test_helpers.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace dezero;
using ::testing::HasSubstr;
using dezero::testing::T64;

namespace {

class NpyTest : public ::testing::Test {
 protected:
  // One directory per test and process: ctest runs tests in parallel processes.
  std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                               ("dezero_npy_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                                "_" + std::to_string(::getpid()));
  void SetUp() override { std::filesystem::create_directories(dir_); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A hand-made .npy file: header dict text and raw data bytes.
  std::string write_raw(const std::string& name, const std::string& dict, const std::string& data,
                        const std::string& magic = std::string("\x93NUMPY\x01\x00", 8)) {
    std::string header = dict + "\n";
    std::ofstream f(path(name), std::ios::binary);
    f << magic;
    f.put(static_cast<char>(header.size() & 0xFF));
    f.put(static_cast<char>(header.size() >> 8));
    f << header << data;
    return path(name);
  }
};

template <class T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST_F(NpyTest, RoundTripsFloat32AndFloat64OfAnyRank) {
  manual_seed(0);
  for (const Shape& s : {Shape{}, Shape{5}, Shape{2, 3, 4}, Shape{0, 3}}) {
    for (DType dt : {Float32, Float64}) {
      const Tensor t = Tensor::randn(s, dt);
      io::save_npy(path("t.npy"), t);
      const Tensor u = io::load_npy(path("t.npy"));
      EXPECT_EQ(u.dtype(), dt);
      EXPECT_TENSOR_NEAR(u, t, 0);
    }
  }
  // The header is padded to 64 bytes, as numpy writes it.
  EXPECT_EQ(std::filesystem::file_size(path("t.npy")) % 64, 0u);
}

TEST_F(NpyTest, ReadsFortranOrderBigEndianIntegersAndBool) {
  const std::vector<double> col_major = {1, 4, 2, 5, 3, 6};  // [[1, 2, 3], [4, 5, 6]]
  EXPECT_TENSOR_NEAR(io::load_npy(write_raw("f.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
                                            bytes_of(col_major))),
                     T64({1, 2, 3, 4, 5, 6}, {2, 3}), 0);
  std::string be = bytes_of(std::vector<double>{1.5, -2});
  for (size_t i = 0; i < be.size(); i += 8) std::reverse(be.begin() + i, be.begin() + i + 8);
  EXPECT_TENSOR_NEAR(io::load_npy(write_raw("be.npy", "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", be)),
                     T64({1.5, -2}, {2}), 0);
  EXPECT_TENSOR_NEAR(io::load_npy(write_raw("i.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                            bytes_of(std::vector<int64_t>{7, -1, 3}))),
                     T64({7, -1, 3}, {3}), 0);
  EXPECT_TENSOR_NEAR(io::load_npy(write_raw("b.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                                            std::string("\x01\x00", 2))),
                     T64({1, 0}, {2}), 0);
}

TEST_F(NpyTest, MalformedFilesAreErrorsNamingTheFileAndField) {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string two_floats = bytes_of(std::vector<float>{1, 2});
  EXPECT_DZ_ERROR(io::load_npy(path("missing.npy")), HasSubstr("cannot open"), HasSubstr("missing.npy"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("m.npy", ok, two_floats, std::string("PK\x03\x04xx\x01\x00", 8))), HasSubstr("bad magic"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("v.npy", ok, two_floats, std::string("\x93NUMPY\x07\x00", 8))), HasSubstr("version 7"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("t.npy", ok, two_floats.substr(0, 5))), HasSubstr("5 data bytes"),
                  HasSubstr("(2,)"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("s.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': "
                                                  "(999999999999, 999999999999, 999999999), }", two_floats)),
                  HasSubstr("too large"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("d.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                                         std::string(8, '\0'))),
                  HasSubstr("unsupported dtype '<c8'"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("n.npy", "{'fortran_order': False, 'shape': (2,), }", two_floats)),
                  HasSubstr("'descr'"));
  EXPECT_DZ_ERROR(io::load_npy(write_raw("x.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }",
                                         two_floats)),
                  HasSubstr("bad dimension"));
  // A header length pointing past the end of the file.
  {
    std::ofstream f(path("h.npy"), std::ios::binary);
    f << std::string("\x93NUMPY\x01\x00\xff\xff", 10) << "{'descr'";
  }
  EXPECT_DZ_ERROR(io::load_npy(path("h.npy")), HasSubstr("runs past the end"));
}

TEST_F(NpyTest, FailedWritesLeaveNoFileBehind) {
  const std::string target = path("no_such_dir/t.npy");
  EXPECT_DZ_ERROR(io::save_npy(target, Tensor::ones({2})), HasSubstr("cannot write"));
  EXPECT_FALSE(std::filesystem::exists(target));
  // Overwriting keeps the old file until the new one is complete, then replaces it.
  io::save_npy(path("a.npy"), Tensor::ones({2}));
  io::save_npy(path("a.npy"), Tensor::zeros({3}));
  EXPECT_EQ(io::load_npy(path("a.npy")).shape(), (Shape{3}));
  for (const auto& entry : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

}  // namespace
