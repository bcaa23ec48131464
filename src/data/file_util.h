// Whole-file reads shared by the dataset readers. Failures are DataError naming the file (a dataset file that
// cannot be read is a data problem from the user's point of view, reported with exit code kDataError).
#pragma once

#include <string>

namespace qwac::data {

// The bytes of `path`. `what` prefixes the message ("labels CSV", "image").
std::string read_file(const std::string& path, const std::string& what);

// The bytes of `path`, gunzipped when it is gzip-compressed (zlib's gzread passes plain files through unchanged,
// so "x.idx" and "x.idx.gz" both work).
std::string read_file_maybe_gzip(const std::string& path, const std::string& what);

bool file_exists(const std::string& path);

// `dir` / `name` unless `name` is absolute.
std::string join_path(const std::string& dir, const std::string& name);

}  // namespace qwac::data
