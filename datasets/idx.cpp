#include "dezero/datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "dezero/core/error.h"
#include "dezero/io/file.h"

namespace dezero::datasets {
namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

size_t header_size(uint32_t ndims) { return 4 + 4 * size_t{ndims}; }

// Validates the header at the start of `d` (whose full size may not be known yet) and returns
// the total file size it promises.
uint64_t promised_size(const uint8_t* d, size_t size, uint32_t ndims, const std::string& name,
                       std::vector<uint32_t>* dims) {
  DZ_CHECK(size >= header_size(ndims), "IDX: {}: truncated header ({} bytes, need {})", name, size,
           header_size(ndims));
  const uint32_t magic = be32(d), want = 0x0800 + ndims;
  DZ_CHECK(magic == want,
           "IDX: {}: magic number is 0x{:08x}, expected 0x{:08x} (unsigned bytes, {} dims)", name,
           magic, want, ndims);
  uint64_t count = 1;
  for (uint32_t i = 0; i < ndims; ++i) {
    const uint32_t n = be32(d + 4 + 4 * i);
    if (dims) dims->push_back(n);
    DZ_CHECK(!__builtin_mul_overflow(count, uint64_t{n}, &count), "IDX: {}: dimensions overflow",
             name);
  }
  uint64_t total = 0;
  DZ_CHECK(!__builtin_add_overflow(count, uint64_t{header_size(ndims)}, &total),
           "IDX: {}: dimensions overflow", name);
  return total;
}

// Inflates a gzip stream (one or more members), stopping with an error as soon as the output
// grows past what the IDX header at its start promises: no decompression bombs.
std::vector<uint8_t> gunzip_idx(std::string_view in, uint32_t ndims, const std::string& name) {
  z_stream zs{};
  DZ_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "IDX: {}: cannot start zlib", name);
  std::vector<uint8_t> out;
  uint64_t limit = header_size(ndims);  // until the header is known
  bool header_known = false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  std::string error;
  uint8_t buf[1 << 16];
  while (true) {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      error = "truncated gzip stream";
      break;
    }
    if (rc != Z_OK && rc != Z_STREAM_END) {
      error = fmt::format("corrupt gzip stream ({})", zs.msg ? zs.msg : zError(rc));
      break;
    }
    const size_t produced = sizeof(buf) - zs.avail_out;
    if (out.size() + produced > limit + (header_known ? 0 : sizeof(buf))) {
      error = fmt::format("holds more data than its header promises ({} bytes)", limit);
      break;
    }
    out.insert(out.end(), buf, buf + produced);
    if (!header_known && out.size() >= header_size(ndims)) {
      try {
        limit = promised_size(out.data(), out.size(), ndims, name, nullptr);
      } catch (...) {
        inflateEnd(&zs);
        throw;
      }
      header_known = true;
      // The promised size at once (no doubling and its transient copies), but never more than
      // deflate can produce from this input (at most 1032:1), so a lying header allocates nothing.
      out.reserve(static_cast<size_t>(
          std::min<uint64_t>(limit, uint64_t{in.size()} * 1032 + header_size(ndims))));
      if (out.size() > limit) {
        error = fmt::format("holds more data than its header promises ({} bytes)", limit);
        break;
      }
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member may follow (as `cat a.gz b.gz` makes).
      if (inflateReset(&zs) != Z_OK) {
        error = "cannot restart zlib";
        break;
      }
      continue;
    }
    if (zs.avail_in == 0 && produced == 0) {
      error = "truncated gzip stream";
      break;
    }
  }
  inflateEnd(&zs);
  DZ_CHECK(error.empty(), "IDX: {}: {}", name, error);
  return out;
}

}  // namespace

IdxArray parse_idx(std::string_view file_bytes, uint32_t ndims, const std::string& name) {
  DZ_CHECK(ndims >= 1 && ndims <= 255, "IDX: {}: cannot read {} dimensions", name, ndims);
  const bool gzip = file_bytes.size() >= 2 && static_cast<uint8_t>(file_bytes[0]) == 0x1f &&
                    static_cast<uint8_t>(file_bytes[1]) == 0x8b;
  // One copy of the data at a time: the inflated bytes lose their header in place and move out.
  std::vector<uint8_t> inflated;
  if (gzip) {
    inflated = gunzip_idx(file_bytes, ndims, name);
    file_bytes = {reinterpret_cast<const char*>(inflated.data()), inflated.size()};
  }
  const auto* d = reinterpret_cast<const uint8_t*>(file_bytes.data());
  IdxArray out;
  const uint64_t want = promised_size(d, file_bytes.size(), ndims, name, &out.dims);
  DZ_CHECK(file_bytes.size() == want, "IDX: {}: header promises {} data bytes, file has {}", name,
           want - header_size(ndims), file_bytes.size() - header_size(ndims));
  const auto header = static_cast<std::ptrdiff_t>(header_size(ndims));
  if (gzip) {
    inflated.erase(inflated.begin(), inflated.begin() + header);
    out.data = std::move(inflated);
  } else {
    out.data.assign(d + header, d + file_bytes.size());
  }
  return out;
}

IdxArray load_idx(const std::string& path, uint32_t ndims) {
  return parse_idx(io::read_file(path, "IDX"), ndims, path);
}

}  // namespace dezero::datasets
