#include "data/image_folder_dataset.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "data/csv.h"
#include "data/file_util.h"
#include "data/sample_check.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

bool is_image_name(const std::string& name) {
  std::string ext = std::filesystem::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

std::vector<std::string> list_images(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw DataError("images folder '" + dir + "' does not exist");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && is_image_name(entry.path().string())) {
      files.push_back(std::filesystem::relative(entry.path(), dir).string());
    }
  }
  if (ec) throw DataError("images folder '" + dir + "' cannot be listed: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(ImageFolderOptions options) : options_(std::move(options)) {
  if (options_.input_name.empty()) throw InvalidArgument("image folder dataset: the model input name is empty");
  validate_preprocess_options(options_.preprocess);
  if (options_.name.empty()) {
    std::filesystem::path p(options_.images_dir);
    if (!p.has_filename()) p = p.parent_path();
    options_.name = p.filename().string();
    if (options_.name == "images") options_.name = p.parent_path().filename().string();
  }
  if (options_.labels_csv.empty()) {
    files_ = list_images(options_.images_dir);
    labels_.assign(files_.size(), -1);
    if (files_.empty()) throw DataError("images folder '" + options_.images_dir + "' holds no .jpg/.jpeg/.png files");
    return;
  }
  const std::string& csv_path = options_.labels_csv;
  const CsvTable table = parse_csv(read_file(csv_path, "labels CSV"), csv_path);
  const size_t file_col = table.column(options_.file_column, csv_path);
  const bool labeled = !options_.label_column.empty();
  const size_t label_col = labeled ? table.column(options_.label_column, csv_path) : 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string where = "labels CSV '" + csv_path + "' row " + std::to_string(r + 1) + " (line " +
                              std::to_string(table.line_numbers[r]) + ")";
    if (row[file_col].empty()) throw DataError(where + ": empty '" + options_.file_column + "' field");
    int64_t label = -1;
    if (labeled) {
      const std::string& s = row[label_col];
      int64_t v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        throw DataError(where + ": label '" + s + "' is not an integer");
      }
      if (options_.num_classes > 0 && (v < 0 || v >= options_.num_classes)) {
        throw DataError(where + ": label " + s + " is outside [0, " + std::to_string(options_.num_classes) + ")");
      }
      label = v + options_.label_offset;
    }
    const std::string path = join_path(options_.images_dir, row[file_col]);
    if (!file_exists(path)) throw DataError(where + ": image file '" + path + "' does not exist");
    files_.push_back(row[file_col]);
    labels_.push_back(label);
  }
  if (files_.empty()) throw DataError("labels CSV '" + csv_path + "' has no rows");
}

Sample ImageFolderDataset::get(int64_t index) const {
  check_index(index, size(), describe());
  const auto i = static_cast<size_t>(index);
  const std::string path = join_path(options_.images_dir, files_[i]);
  Image img = decode_image_file(path, options_.decode);
  if (img.channels != 3) img = to_rgb(img);
  Sample s;
  s.inputs.emplace(options_.input_name, preprocess_image(img, options_.preprocess, path));
  s.annotation.label = labels_[i];
  s.metadata["file"] = path;
  s.metadata["id"] = files_[i];
  s.metadata["index"] = std::to_string(index);
  check_sample_finite(s, describe(), index);
  return s;
}

std::string ImageFolderDataset::describe() const {
  return "image folder " + options_.name + " (" + std::to_string(files_.size()) + " samples)";
}

std::vector<ImageFolderDataset::BadSample> ImageFolderDataset::validate(bool full_decode) const {
  const int64_t n = size();
  std::vector<std::string> reasons(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    const std::string path = join_path(options_.images_dir, files_[static_cast<size_t>(i)]);
    try {
      if (full_decode) {
        decode_image_file(path, options_.decode);
      } else {
        read_image_header(path);
      }
    } catch (const Error& e) {
      reasons[static_cast<size_t>(i)] = e.what();
    }
  }
  std::vector<BadSample> bad;
  for (int64_t i = 0; i < n; ++i) {
    if (!reasons[static_cast<size_t>(i)].empty()) {
      bad.push_back(
          {i, join_path(options_.images_dir, files_[static_cast<size_t>(i)]), reasons[static_cast<size_t>(i)]});
    }
  }
  return bad;
}

std::vector<int64_t> ImageFolderDataset::good_indices(int64_t size, const std::vector<BadSample>& bad) {
  std::vector<bool> is_bad(static_cast<size_t>(size), false);
  for (const BadSample& b : bad) {
    if (b.index >= 0 && b.index < size) is_bad[static_cast<size_t>(b.index)] = true;
  }
  std::vector<int64_t> good;
  for (int64_t i = 0; i < size; ++i) {
    if (!is_bad[static_cast<size_t>(i)]) good.push_back(i);
  }
  return good;
}

}  // namespace qwac::data
