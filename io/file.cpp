#include "dezero/io/file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dezero/core/error.h"

namespace dezero::io {
namespace fs = std::filesystem;
namespace {

// Removes `<path>.tmp.<pid>` files whose writer process no longer exists (killed mid-save).
void remove_stale_temporaries(const fs::path& target) {
  std::error_code ec;
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".tmp.";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(it->path(), ec);
  }
}

void fsync_directory(const fs::path& target) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some file systems do not open directories
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string read_file(const std::string& path, const char* op) {
  std::ifstream f(path, std::ios::binary);
  DZ_CHECK(f.good(), "{}: cannot open {}: {}", op, path, std::strerror(errno));
  DZ_CHECK(!fs::is_directory(path), "{}: {} is a directory", op, path);
  std::ostringstream ss;
  ss << f.rdbuf();
  DZ_CHECK(!f.bad(), "{}: reading {} failed: {}", op, path, std::strerror(errno));
  return ss.str();
}

void FileSink::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    DZ_CHECK(w > 0, "{}: writing {} failed: {}", op_, path_, std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void atomic_write(const std::string& path, const char* op, const std::function<void(FileSink&)>& fill) {
  remove_stale_temporaries(path);
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DZ_CHECK(fd >= 0, "{}: cannot write {}: {}", op, tmp, std::strerror(errno));
  bool open = true;
  try {
    FileSink sink(fd, tmp, op);
    fill(sink);
    DZ_CHECK(::fsync(fd) == 0, "{}: flushing {} failed: {}", op, tmp, std::strerror(errno));
    open = false;
    DZ_CHECK(::close(fd) == 0, "{}: closing {} failed: {}", op, tmp, std::strerror(errno));
  } catch (...) {
    if (open) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp);
  DZ_CHECK(!ec, "{}: cannot rename {} to {}: {}", op, tmp, path, ec.message());
  fsync_directory(path);
}

}  // namespace dezero::io
