#include "core/output_paths.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "core/atomic_file.h"
#include "qwac/error.h"

namespace qwac {
namespace {

namespace fs = std::filesystem;

// The file's identity: (device, inode) when it exists, following symbolic links.
std::optional<std::pair<dev_t, ino_t>> inode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

// Absolute, with "." / ".." removed and the symbolic links of every existing component resolved.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path, ec).lexically_normal();
  return p;
}

fs::path folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

bool process_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// The pid in a temp-file suffix "<pid>.XXXXXX"; 0 for the legacy form "XXXXXX" (no pid: its writer is unknown and
// an earlier qwac version's, so it counts as stale); nullopt when the name is not one of ours.
std::optional<long> temp_suffix_pid(const std::string& suffix) {
  const size_t dot = suffix.find('.');
  if (dot == std::string::npos) return suffix.size() == 6 ? std::optional<long>(0) : std::nullopt;
  if (dot == 0 || suffix.size() - dot - 1 != 6) return std::nullopt;
  long pid = 0;
  for (size_t i = 0; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(suffix[i])) || pid > 1'000'000'000) return std::nullopt;
    pid = pid * 10 + (suffix[i] - '0');
  }
  return pid;
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  const auto ia = inode_of(a), ib = inode_of(b);
  if (ia && ib) return *ia == *ib;  // hard links and symbolic links included
  return resolved(a) == resolved(b);
}

int remove_stale_temp_files(const std::string& path) {
  const fs::path target(path);
  const std::string prefix = temp_file_prefix(target.filename().string());
  std::error_code ec;
  int removed = 0;
  for (fs::directory_iterator it(folder_of(path), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const auto pid = temp_suffix_pid(name.substr(prefix.size()));
    if (!pid || process_alive(*pid)) continue;
    std::error_code rm;
    if (fs::is_regular_file(it->path(), rm) && fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const NamedPath& out = outputs[i];
    if (out.path.empty()) throw InvalidArgument(out.what + " is empty; give the file to write");
    const fs::path folder = folder_of(out.path);
    std::error_code ec;
    if (!fs::exists(folder, ec)) {
      throw IoError(out.what + " '" + out.path + "': folder '" + folder.string() +
                    "' does not exist; create it first");
    }
    if (!fs::is_directory(folder, ec)) {
      throw IoError(out.what + " '" + out.path + "': '" + folder.string() + "' is not a folder");
    }
    if (::access(folder.c_str(), W_OK | X_OK) != 0) {
      throw IoError(out.what + " '" + out.path + "': folder '" + folder.string() + "' is not writable (" +
                    std::strerror(errno) + "); choose another folder");
    }
    if (fs::is_directory(out.path, ec)) {
      throw IoError(out.what + " '" + out.path + "' is a folder; give a file name inside it");
    }
    for (const NamedPath& in : inputs) {
      if (in.path.empty() || !same_file(in.path, out.path)) continue;
      throw InvalidArgument(out.what + " '" + out.path + "' is the same file as " + in.what + " '" + in.path +
                            "'; writing it would destroy the input: choose another " + out.what + " path");
    }
    for (size_t j = 0; j < i; ++j) {
      if (outputs[j].path.empty() || !same_file(outputs[j].path, out.path)) continue;
      throw InvalidArgument(out.what + " '" + out.path + "' is the same file as " + outputs[j].what + " '" +
                            outputs[j].path + "'; one would overwrite the other: give them different paths");
    }
  }
  for (const NamedPath& out : outputs) remove_stale_temp_files(out.path);
}

}  // namespace qwac
