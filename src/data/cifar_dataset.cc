#include "data/cifar_dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "data/sample_check.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kImageBytes = 3 * kSide * kSide;

}  // namespace

CifarDataset::CifarDataset(CifarOptions options) : options_(std::move(options)) {
  if (options_.input_name.empty()) throw InvalidArgument("cifar dataset: the model input name is empty");
  if (options_.label_bytes != 1 && options_.label_bytes != 2) {
    throw InvalidArgument("cifar dataset: label_bytes must be 1 (CIFAR-10) or 2 (CIFAR-100), got " +
                          std::to_string(options_.label_bytes));
  }
  if (options_.batch_files.empty()) throw InvalidArgument("cifar dataset: no batch files given");
  validate_preprocess_options(options_.preprocess);
  if (options_.name.empty()) options_.name = std::filesystem::path(options_.batch_files[0]).filename().string();
  const int64_t record = options_.label_bytes + kImageBytes;
  for (const std::string& path : options_.batch_files) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const std::string reason = std::strerror(errno);
      for (int f : fds_) ::close(f);
      throw DataError("CIFAR batch file '" + path + "' cannot be opened: " + reason);
    }
    fds_.push_back(fd);
    struct stat st {};
    ::fstat(fd, &st);
    if (st.st_size == 0 || st.st_size % record != 0) {
      for (int f : fds_) ::close(f);
      throw DataError("CIFAR batch file '" + path + "' has " + std::to_string(st.st_size) +
                      " bytes, not a whole number of " + std::to_string(record) + "-byte records");
    }
    first_index_.push_back(total_);
    total_ += st.st_size / record;
  }
}

CifarDataset::~CifarDataset() {
  for (int fd : fds_) ::close(fd);
}

Sample CifarDataset::get(int64_t index) const {
  check_index(index, total_, describe());
  const size_t file =
      static_cast<size_t>(std::upper_bound(first_index_.begin(), first_index_.end(), index) - first_index_.begin() - 1);
  const int64_t record = options_.label_bytes + kImageBytes;
  std::vector<uint8_t> buf(static_cast<size_t>(record));
  const off_t offset = static_cast<off_t>((index - first_index_[file]) * record);
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::pread(fds_[file], buf.data() + done, buf.size() - done, offset + static_cast<off_t>(done));
    if (n <= 0) {
      throw DataError("CIFAR batch file '" + options_.batch_files[file] + "': cannot read sample " +
                      std::to_string(index) + (n < 0 ? std::string(": ") + std::strerror(errno) : ": short read"));
    }
    done += static_cast<size_t>(n);
  }
  Image img;
  img.width = img.height = kSide;
  img.channels = 3;
  img.pixels.resize(static_cast<size_t>(kImageBytes));
  const uint8_t* planes = buf.data() + options_.label_bytes;
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t j = 0; j < kSide * kSide; ++j)
      img.pixels[static_cast<size_t>(j * 3 + c)] = planes[c * kSide * kSide + j];
  }
  Sample s;
  s.inputs.emplace(options_.input_name, preprocess_image(img, options_.preprocess,
                                                         options_.batch_files[file] + " #" + std::to_string(index)));
  s.annotation.label = buf[static_cast<size_t>(options_.label_bytes - 1)];
  s.metadata["index"] = std::to_string(index);
  s.metadata["id"] = std::to_string(index);
  s.metadata["file"] = options_.batch_files[file];
  check_sample_finite(s, describe(), index);
  return s;
}

std::string CifarDataset::describe() const {
  return "CIFAR binary " + options_.name + " (" + std::to_string(total_) + " samples)";
}

}  // namespace qwac::data
