// ImageFolderDataset: CSV handling, label checks, missing/corrupt files, validate() + subset, CSV quoting.
#include "data/image_folder_dataset.h"

#include <gtest/gtest.h>

#include <functional>

#include "data/csv.h"
#include "data/data_test_util.h"
#include "qwac/error.h"
#include "test_util.h"

namespace qwac::data {
namespace {

using qwac::testing::ScratchDir;

// A real 32x32 JPEG from the shared CIFAR-10 set (the tests that decode pixels require ../shared).
std::string real_jpeg() {
  return qwac::testing::read_file_bytes(
      qwac::testing::shared_path("assets/data/cifar10-test-jpeg/images/cat/0000.jpg"));
}

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

ImageFolderOptions options(const ScratchDir& tmp, const std::string& csv) {
  ImageFolderOptions o;
  o.images_dir = tmp.path("img");
  o.labels_csv = tmp.write("labels.csv", csv);
  o.input_name = "data";
  return o;
}

TEST(ImageFolderDataset, LabelsCustomColumnsAndMetadata) {
  QWAC_REQUIRE_SHARED();
  ScratchDir tmp;
  tmp.write("img/a.jpg", real_jpeg());
  tmp.write("img/sub/b.jpg", real_jpeg());
  ImageFolderOptions o = options(tmp, "name,extra,cls\r\na.jpg,\"x, y\",3\r\nsub/b.jpg,z,0\r\n\r\n");
  o.file_column = "name";
  o.label_column = "cls";
  o.num_classes = 4;
  const ImageFolderDataset ds(o);
  ASSERT_EQ(ds.size(), 2);
  const Sample s = ds.get(1);
  EXPECT_EQ(s.annotation.label, 0);
  EXPECT_EQ(s.metadata.at("id"), "sub/b.jpg");
  EXPECT_EQ(s.inputs.at("data").shape(), (Shape{1, 3, 32, 32}));
  EXPECT_EQ(ds.get(0).annotation.label, 3);
  EXPECT_NE(ds.describe().find("(2 samples)"), std::string::npos) << ds.describe();
  // No CSV: every image below the folder, sorted, unlabeled.
  o.labels_csv.clear();
  const ImageFolderDataset all(o);
  ASSERT_EQ(all.size(), 2);
  EXPECT_EQ(all.file(0), "a.jpg");
  EXPECT_EQ(all.get(1).annotation.label, -1);
}

TEST(ImageFolderDataset, BadCsvsAreNamedDataErrors) {
  ScratchDir tmp;
  tmp.write("img/a.jpg", "not read at construction");
  expect_error([&] { ImageFolderDataset(options(tmp, "file,class\na.jpg,1\n")); }, {"labels.csv", "'label'"});
  expect_error([&] { ImageFolderDataset(options(tmp, "path,label\na.jpg,1\n")); }, {"labels.csv", "'file'"});
  auto o = options(tmp, "file,label\na.jpg,1\na.jpg,10\n");
  o.num_classes = 10;
  expect_error([&] { ImageFolderDataset{o}; }, {"row 2", "line 3", "outside [0, 10)"});
  expect_error([&] { ImageFolderDataset(options(tmp, "file,label\na.jpg,x1\n")); }, {"row 1", "not an integer"});
  expect_error([&] { ImageFolderDataset(options(tmp, "file,label\nmissing.jpg,1\n")); },
               {"missing.jpg", "does not exist"});
  expect_error([&] { ImageFolderDataset(options(tmp, "file,label\na.jpg\n")); }, {"line 2", "1 fields"});
  expect_error([&] { ImageFolderDataset(options(tmp, "file,label\n\"a.jpg,1\n")); }, {"unterminated"});
  auto no_csv = options(tmp, "");
  no_csv.labels_csv = tmp.path("absent.csv");
  expect_error([&] { ImageFolderDataset{no_csv}; }, {"absent.csv"});
  auto no_input = options(tmp, "file,label\na.jpg,1\n");
  no_input.input_name.clear();
  EXPECT_THROW(ImageFolderDataset{no_input}, InvalidArgument);
}

TEST(ImageFolderDataset, CorruptImageFailsGetAndValidateFindsIt) {
  QWAC_REQUIRE_SHARED();
  ScratchDir tmp;
  tmp.write("img/good.jpg", real_jpeg());
  const std::string jpeg = real_jpeg();
  tmp.write("img/garbage.JPEG", std::string("\xFF\xD8\xFF") + std::string(200, '\x17'));
  tmp.write("img/cut.jpg", jpeg.substr(0, jpeg.size() * 2 / 3));
  const ImageFolderDataset ds(options(tmp, "file,label\ngood.jpg,0\ngarbage.JPEG,1\ncut.jpg,2\ngood.jpg,3\n"));
  EXPECT_NO_THROW(ds.get(0));
  expect_error([&] { ds.get(1); }, {"garbage.JPEG"});
  expect_error([&] { ds.get(2); }, {"cut.jpg"});
  expect_error([&] { ds.get(4); }, {"sample index 4"});

  const auto header_bad = ds.validate(false);  // header scan: the truncated file's header is intact
  ASSERT_EQ(header_bad.size(), 1u);
  EXPECT_EQ(header_bad[0].index, 1);
  const auto bad = ds.validate(true);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[1].index, 2);
  EXPECT_NE(bad[1].reason.find("cut.jpg"), std::string::npos) << bad[1].reason;
  const auto good = ImageFolderDataset::good_indices(ds.size(), bad);
  EXPECT_EQ(good, (std::vector<int64_t>{0, 3}));
  const DatasetPtr base = std::make_shared<ImageFolderDataset>(options(tmp, "file,label\ngood.jpg,0\ncut.jpg,2\n"));
  const DatasetPtr sub = make_subset(base, {0});
  EXPECT_EQ(sub->get(0).annotation.label, 0);
}

TEST(Csv, QuotingBomAndBlankLines) {
  const CsvTable t = parse_csv(
      "\xEF\xBB\xBF"
      "a,b\n\n\"x,\"\"y\"\"\",\"line\nbreak\"\n,\n",
      "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][0], "x,\"y\"");
  EXPECT_EQ(t.rows[0][1], "line\nbreak");
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"", ""}));
  EXPECT_EQ(t.line_numbers[0], 3);
  EXPECT_EQ(t.line_numbers[1], 5);
  EXPECT_EQ(t.column("b", "t.csv"), 1u);
  EXPECT_THROW(t.column("c", "t.csv"), DataError);
  EXPECT_THROW(parse_csv("", "e.csv"), DataError);
}

}  // namespace
}  // namespace qwac::data
