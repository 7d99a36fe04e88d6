#pragma once
// Whole-file reads and crash-safe writes shared by every reader and writer of io/ and datasets/.

#include <cstddef>
#include <functional>
#include <string>

namespace dezero::io {

/// The whole content of a file; `op` names the caller in the error ("load_npy: cannot open ...").
std::string read_file(const std::string& path, const char* op);

/// Appends bytes to the temporary file of atomic_write.
class FileSink {
 public:
  /// Writes all `n` bytes (retrying short writes); throws naming the file on failure.
  void write(const void* data, size_t n);
  /// Writes a string's bytes.
  void write(const std::string& s) { write(s.data(), s.size()); }

 private:
  friend void atomic_write(const std::string&, const char*, const std::function<void(FileSink&)>&);
  FileSink(int fd, const std::string& path, const char* op) : fd_(fd), path_(path), op_(op) {}
  int fd_;
  const std::string& path_;
  const char* op_;
};

/// Writes `path` so that it is never seen half-written, even if the process is killed or the
/// machine loses power: the content goes to `path.tmp.PID` (PID: the writer's process id), is
/// fsync'ed, renamed over `path`, and the directory is fsync'ed. Temporary files left by killed
/// writers are removed.
void atomic_write(const std::string& path, const char* op, const std::function<void(FileSink&)>& fill);

}  // namespace dezero::io
