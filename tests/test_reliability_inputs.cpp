// Regression tests for malformed inputs found by the fuzzers (fuzz/) or by reviewing the readers
// for them: each bad file is a dezero::Error naming the file and what is wrong, never a crash,
// an over-read, an allocation bomb or undefined behaviour. docs/RELIABILITY.md lists them.

#include "test_helpers.h"

#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace D = dezero::datasets;
namespace L = dezero::layers;
namespace O = dezero::optimizers;
using namespace dezero;
using ::testing::HasSubstr;

namespace {

std::string npy(const std::string& header_dict, const std::string& data) {
  std::string header = header_dict;
  header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

std::string safetensors(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xFF);
  return out + json + data;
}

std::string idx(uint32_t ndims, std::vector<uint32_t> dims, size_t data_bytes) {
  std::string out;
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xFF);
  };
  be32(0x0800 + ndims);
  for (uint32_t d : dims) be32(d);
  return out + std::string(data_bytes, '\x07');
}

std::string gzip(const std::string& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, raw.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

const std::string f32x2(8, '\0');

}  // namespace

// ---- .npy ----

TEST(NpyInputTest, EmptyFortranOrderArrayLoads) {
  // Fuzzer finding: transposing an empty Fortran-order array divided by zero in permute.
  const Tensor t = io::parse_npy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (0, 3), }", ""), "e.npy");
  EXPECT_EQ(t.shape(), (Shape{0, 3}));
}

TEST(NpyInputTest, MalformedHeaderDictIsAnError) {
  // Fuzzer finding: "(0 ,, )" and text after the dict were accepted.
  const std::string d = "'descr': '<f4', 'fortran_order': False";
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + ", 'shape': (0 ,, ), }", ""), "a.npy"), HasSubstr("a.npy"),
                  HasSubstr("malformed header"), HasSubstr("bad dimension"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + ", 'shape': (2,), } 'shape': (9,)", f32x2), "b.npy"),
                  HasSubstr("text after the closing brace"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + ", 'shape': (2,), 'shape': (2,)}", f32x2), "c.npy"),
                  HasSubstr("'shape' appears twice"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + ", 'shape': (2,), 'extra': 1}", f32x2), "d.npy"),
                  HasSubstr("unexpected key 'extra'"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + "}", f32x2), "e.npy"), HasSubstr("needs the keys"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", f32x2), "f.npy"),
                  HasSubstr("malformed header"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + ", 'shape': (-2,)}", f32x2), "g.npy"), HasSubstr("bad dimension"));
  EXPECT_DZ_ERROR(io::parse_npy(npy("{" + d + ", 'shape': (1234567890123456789,)}", f32x2), "h.npy"),
                  HasSubstr("bad dimension"));
}

TEST(NpyInputTest, BadDtypeStringsAreErrors) {
  for (const std::string descr : {"<f99999999999999999", "<f", "<f4x", "<f0", "<c8", "<f-4"})
    EXPECT_DZ_ERROR(io::parse_npy(npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }", f32x2),
                                  "d.npy"),
                    HasSubstr("d.npy"), HasSubstr("dtype"));
}

TEST(NpyInputTest, EmptyArrayWithHugeDimensionsIsAnError) {
  // Zero elements, but strides of 10^36 elements would overflow.
  EXPECT_DZ_ERROR(io::parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 999999999999999999, "
                                    "999999999999999999), }", ""), "z.npy"),
                  HasSubstr("too large"));
  // Fuzzer finding: in Fortran order the reversed shape's element count overflowed (signed
  // overflow in numel) before the zero dimension was reached.
  EXPECT_DZ_ERROR(io::parse_npy(npy("{'descr': '=i8', 'fortran_order': True, 'shape': (0, 21, 3, 555555555555121, "
                                    "555555)}", ""), "f.npy"),
                  HasSubstr("too large"));
}

TEST(ShapeInputTest, NumelOfAnOverflowingShapeThrowsAndZeroWins) {
  EXPECT_EQ(numel({0, int64_t{1} << 62, int64_t{1} << 62}), 0);
  EXPECT_EQ(numel({int64_t{1} << 62, int64_t{1} << 62, 0}), 0);
  EXPECT_DZ_ERROR(numel({int64_t{1} << 62, 4}), HasSubstr("more than 2^63 elements"));
}

// ---- safetensors ----

TEST(SafetensorsInputTest, OverlappingOrHolesAreErrors) {
  const std::string overlap = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
  EXPECT_DZ_ERROR(io::parse_safetensors(safetensors(overlap, f32x2), "o.st"), HasSubstr("o.st"), HasSubstr("'b'"),
                  HasSubstr("must not overlap"));
  const std::string hole = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
  EXPECT_DZ_ERROR(io::parse_safetensors(safetensors(hole, f32x2), "h.st"), HasSubstr("starts at data byte 4"));
  const std::string tail = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
  EXPECT_DZ_ERROR(io::parse_safetensors(safetensors(tail, f32x2), "t.st"), HasSubstr("cover 4 of 8 data bytes"));
}

TEST(SafetensorsInputTest, InvalidUtf8AndDuplicateKeysAreErrors) {
  EXPECT_DZ_ERROR(io::parse_safetensors(safetensors("{\"\xff\xfe\": 1}", ""), "u.st"), HasSubstr("not valid JSON"));
  const std::string dup = R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                              "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
  EXPECT_DZ_ERROR(io::parse_safetensors(safetensors(dup, f32x2), "d.st"), HasSubstr("d.st"));
}

TEST(SafetensorsInputTest, EmptyTensorWithHugeDimensionsIsAnError) {
  const std::string json =
      R"({"z": {"dtype": "F64", "shape": [0, 4611686018427387904, 4611686018427387904], "data_offsets": [0, 0]}})";
  EXPECT_DZ_ERROR(io::parse_safetensors(safetensors(json, ""), "z.st"), HasSubstr("too large"));
}

// ---- IDX ----

TEST(IdxInputTest, ValidRawGzipAndMultiMemberFilesParse) {
  const std::string raw = idx(3, {2, 3, 4}, 24);
  for (const std::string& bytes : {raw, gzip(raw), gzip(raw.substr(0, 10)) + gzip(raw.substr(10))}) {
    const D::IdxArray a = D::parse_idx(bytes, 3, "ok");
    EXPECT_EQ(a.dims, (std::vector<uint32_t>{2, 3, 4}));
    EXPECT_EQ(a.data, std::vector<uint8_t>(24, 7));
  }
}

TEST(IdxInputTest, DecompressionBombStopsAtThePromisedSize) {
  // 10 promised bytes followed by 64 MiB of zeros that compress to ~64 KiB.
  const std::string bomb = gzip(idx(1, {10}, size_t{64} << 20));
  EXPECT_LT(bomb.size(), size_t{1} << 20);
  EXPECT_DZ_ERROR(D::parse_idx(bomb, 1, "bomb.gz"), HasSubstr("bomb.gz"),
                  HasSubstr("more data than its header promises (18 bytes)"));
}

TEST(IdxInputTest, OverflowingDimensionsAreAnError) {
  // 2^32-1 cubed overflows 64 bits; unchecked, the product wraps and could match the file size.
  EXPECT_DZ_ERROR(D::parse_idx(idx(3, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, 3), 3, "o"), HasSubstr("dimensions overflow"));
}

TEST(IdxInputTest, CorruptOrTruncatedGzipIsAnError) {
  std::string gz = gzip(idx(1, {100}, 100));
  EXPECT_DZ_ERROR(D::parse_idx(gz.substr(0, gz.size() / 2), 1, "t.gz"), HasSubstr("t.gz"), HasSubstr("truncated"));
  gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x55);
  gz[gz.size() / 2 + 1] = static_cast<char>(gz[gz.size() / 2 + 1] ^ 0x55);
  EXPECT_DZ_ERROR(D::parse_idx(gz, 1, "c.gz"), HasSubstr("c.gz"));
  EXPECT_DZ_ERROR(D::parse_idx(gzip(idx(1, {4}, 4)) + "garbage", 1, "g.gz"), HasSubstr("g.gz"));
}

// ---- checkpoints ----

TEST(CheckpointInputTest, BadMetadataOrOptimizerStateChangesNothing) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("dezero_badckpt_" + std::to_string(::getpid()) + ".safetensors")).string();
  manual_seed(0);
  L::Linear model(3);
  model(Variable(Tensor::zeros({1, 2})));
  O::Adam opt(model, {.lr = 0.5});
  const Tensor w_before = model.W.data().clone();
  auto save_with = [&](std::vector<std::pair<std::string, Tensor>> tensors, std::map<std::string, std::string> meta) {
    io::save_safetensors(path, {std::move(tensors), std::move(meta)});
  };
  const Tensor w = Tensor::ones({2, 3}), b = Tensor::ones({3});
  save_with({{"model.W", w}, {"model.b", b}}, {{"format", "dezero-checkpoint"}, {"lr", "1e-3x"}});
  EXPECT_DZ_ERROR(O::load_checkpoint(path, model, opt), HasSubstr("bad 'lr' metadata '1e-3x'"));
  save_with({{"model.W", w}, {"model.b", b}}, {{"format", "dezero-checkpoint"}});
  EXPECT_DZ_ERROR(O::load_checkpoint(path, model, opt), HasSubstr("no 'lr' metadata"));
  save_with({{"model.W", w}, {"model.b", b}, {"optimizer.W.0", Tensor::ones({1})}},
            {{"format", "dezero-checkpoint"}, {"lr", "0.1"}});
  EXPECT_DZ_ERROR(O::load_checkpoint(path, model, opt), HasSubstr("optimizer state 'optimizer.W.0'"),
                  HasSubstr("(1,)"), HasSubstr("(2, 3)"));
  save_with({{"model.W", w}, {"model.b", b}},
            {{"format", "dezero-checkpoint"}, {"lr", "0.1"}, {"random_state", "not a state"}});
  EXPECT_DZ_ERROR(O::load_checkpoint(path, model, opt), HasSubstr("set_random_state"));
  EXPECT_TENSOR_NEAR(model.W.data(), w_before, 0.0);
  EXPECT_EQ(opt.lr, 0.5);
  std::filesystem::remove(path);
}
