#include "data/idx_dataset.h"

#include <cstdio>
#include <filesystem>

#include "data/file_util.h"
#include "data/sample_check.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned byte, 1 dimension

uint32_t read_be32(const std::string& bytes, size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

}  // namespace

IdxDataset::IdxDataset(IdxOptions options) : options_(std::move(options)) {
  if (options_.input_name.empty()) throw InvalidArgument("idx dataset: the model input name is empty");
  validate_preprocess_options(options_.preprocess);
  if (options_.name.empty()) options_.name = std::filesystem::path(options_.images_path).filename().string();
  const std::string& ip = options_.images_path;
  images_ = read_file_maybe_gzip(ip, "idx images file");
  if (images_.size() < 16 || read_be32(images_, 0) != kIdxImagesMagic) {
    throw DataError("idx images file '" + ip + "' has magic " +
                    (images_.size() >= 4 ? hex(read_be32(images_, 0)) : "(none)") + ", expected " +
                    hex(kIdxImagesMagic) + " (unsigned byte, 3 dimensions)");
  }
  count_ = read_be32(images_, 4);
  rows_ = read_be32(images_, 8);
  cols_ = read_be32(images_, 12);
  const auto expected = static_cast<uint64_t>(16) + static_cast<uint64_t>(count_) * rows_ * cols_;
  if (rows_ == 0 || cols_ == 0 || images_.size() != expected) {
    throw DataError("idx images file '" + ip + "' declares " + std::to_string(count_) + " images of " +
                    std::to_string(rows_) + "x" + std::to_string(cols_) + " (" + std::to_string(expected) +
                    " bytes) but holds " + std::to_string(images_.size()) + " bytes");
  }
  if (options_.labels_path.empty()) return;
  const std::string& lp = options_.labels_path;
  labels_ = read_file_maybe_gzip(lp, "idx labels file");
  if (labels_.size() < 8 || read_be32(labels_, 0) != kIdxLabelsMagic) {
    throw DataError("idx labels file '" + lp + "' has magic " +
                    (labels_.size() >= 4 ? hex(read_be32(labels_, 0)) : "(none)") + ", expected " +
                    hex(kIdxLabelsMagic) + " (unsigned byte, 1 dimension)");
  }
  const int64_t n = read_be32(labels_, 4);
  if (n != count_ || labels_.size() != static_cast<size_t>(8 + n)) {
    throw DataError("idx labels file '" + lp + "' declares " + std::to_string(n) + " labels in " +
                    std::to_string(labels_.size()) + " bytes; the images file '" + ip + "' has " +
                    std::to_string(count_) + " images");
  }
}

Sample IdxDataset::get(int64_t index) const {
  check_index(index, count_, describe());
  Image img;
  img.width = cols_;
  img.height = rows_;
  img.channels = 1;
  const size_t n = static_cast<size_t>(rows_ * cols_);
  const auto* src = reinterpret_cast<const uint8_t*>(images_.data()) + 16 + static_cast<size_t>(index) * n;
  img.pixels.assign(src, src + n);
  Sample s;
  s.inputs.emplace(options_.input_name,
                   preprocess_image(img, options_.preprocess, options_.images_path + " #" + std::to_string(index)));
  if (!labels_.empty()) s.annotation.label = static_cast<unsigned char>(labels_[8 + static_cast<size_t>(index)]);
  s.metadata["index"] = std::to_string(index);
  s.metadata["id"] = std::to_string(index);
  check_sample_finite(s, describe(), index);
  return s;
}

std::string IdxDataset::describe() const {
  return "idx " + options_.name + " (" + std::to_string(count_) + " samples, " + std::to_string(rows_) + "x" +
         std::to_string(cols_) + ")";
}

}  // namespace qwac::data
