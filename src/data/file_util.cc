#include "data/file_util.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "qwac/error.h"

namespace qwac::data {

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(what + " '" + path + "' cannot be opened: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw DataError(what + " '" + path + "' could not be read completely");
  return std::move(ss).str();
}

std::string read_file_maybe_gzip(const std::string& path, const std::string& what) {
  if (!file_exists(path)) throw DataError(what + " '" + path + "' does not exist");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw DataError(what + " '" + path + "' cannot be opened: " + std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw DataError(what + " '" + path + "' is not a readable (gzip or plain) file: " + msg);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  gzclose(f);
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (name.empty() || name.front() == '/' || dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace qwac::data
