// A small CSV reader for label files: a header row naming the columns, comma separated, RFC 4180 quoting
// ("a,b" and "" inside quotes), CRLF or LF line ends, blank lines skipped.
#pragma once

#include <string>
#include <vector>

namespace qwac::data {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields (checked on parse)
  std::vector<int64_t> line_numbers;           // 1-based line of each row in the file, for messages

  // Index of `column` in the header; DataError naming `file` and the column (and the columns present) if absent.
  size_t column(const std::string& column, const std::string& file) const;
};

// Parses `text` (the contents of `file`, used in messages). DataError on an unterminated quote or a row whose
// field count differs from the header's.
CsvTable parse_csv(const std::string& text, const std::string& file);

}  // namespace qwac::data
