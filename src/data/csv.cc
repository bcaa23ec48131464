#include "data/csv.h"

#include "qwac/error.h"

namespace qwac::data {

size_t CsvTable::column(const std::string& name, const std::string& file) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  std::string present;
  for (const std::string& h : header) present += (present.empty() ? "" : ", ") + h;
  throw DataError("CSV '" + file + "' has no column '" + name + "' (header columns: " + present + ")");
}

CsvTable parse_csv(const std::string& text, const std::string& file) {
  CsvTable table;
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false, field_started = false;
  int64_t line = 1, record_line = 1;
  auto end_record = [&]() {
    const bool blank = fields.empty() && field.empty() && !field_started;
    if (!blank) {
      fields.push_back(std::move(field));
      if (table.header.empty()) {
        table.header = std::move(fields);
      } else {
        if (fields.size() != table.header.size()) {
          throw DataError("CSV '" + file + "' line " + std::to_string(record_line) + " has " +
                          std::to_string(fields.size()) + " fields, the header has " +
                          std::to_string(table.header.size()));
        }
        table.rows.push_back(std::move(fields));
        table.line_numbers.push_back(record_line);
      }
    }
    fields.clear();
    field.clear();
    field_started = false;
  };
  size_t start = 0;
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) start = 3;  // UTF-8 BOM
  for (size_t i = start; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty()) {
      in_quotes = true;
      field_started = true;
    } else if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
      field_started = true;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      record_line = ++line;
    } else {
      field += ch;
    }
  }
  if (in_quotes)
    throw DataError("CSV '" + file + "' has an unterminated quoted field starting near line " +
                    std::to_string(record_line));
  end_record();
  if (table.header.empty()) throw DataError("CSV '" + file + "' is empty (expected a header row)");
  return table;
}

}  // namespace qwac::data
