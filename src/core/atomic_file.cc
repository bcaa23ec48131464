#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/output_paths.h"
#include "qwac/error.h"

namespace qwac {

std::string temp_file_prefix(const std::string& filename) { return "." + filename + ".tmp."; }

void write_file_atomically(const std::string& path, std::string_view bytes) {
  // A hidden name in the target's folder: rename() is atomic only within one file system.
  const std::filesystem::path target(path);
  const std::filesystem::path folder = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  remove_stale_temp_files(path);
  const std::string temp_name =
      temp_file_prefix(target.filename().string()) + std::to_string(::getpid()) + ".XXXXXX";
  std::string tmpl = (folder / temp_name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    throw IoError("cannot create a temp file beside '" + path + "': " + std::strerror(errno) +
                  " (check that the folder exists and is writable)");
  }
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw IoError("cannot write '" + path + "': " + what + ": " + std::strerror(err));
  };
  ::fchmod(fd, 0644);  // mkstemp creates 0600; outputs are meant to be shared
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw IoError("cannot write '" + path + "': close failed: " + std::strerror(err));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw IoError("cannot write '" + path + "': rename failed: " + std::strerror(err));
  }
}

}  // namespace qwac
