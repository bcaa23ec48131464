// IdxDataset and CifarDataset on small files written here (plain and gzip'd), including bad magic numbers and
// size mismatches.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <functional>

#include "data/cifar_dataset.h"
#include "data/data_test_util.h"
#include "data/idx_dataset.h"
#include "qwac/error.h"

namespace qwac::data {
namespace {

using qwac::testing::ScratchDir;

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// n images of 3x2 (rows x cols) whose pixel k of image i is 10 i + k; labels 9 - i.
std::string idx_images(uint32_t n, uint32_t magic = 0x803) {
  std::string s = be32(magic) + be32(n) + be32(3) + be32(2);
  for (uint32_t i = 0; i < n; ++i) {
    for (int k = 0; k < 6; ++k) s += static_cast<char>(10 * i + static_cast<uint32_t>(k));
  }
  return s;
}
std::string idx_labels(uint32_t n, uint32_t magic = 0x801) {
  std::string s = be32(magic) + be32(n);
  for (uint32_t i = 0; i < n; ++i) s += static_cast<char>(9 - i);
  return s;
}

std::string gzip_file(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  return path;
}

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

TEST(IdxDataset, PlainAndGzipFilesGiveTheSameSamples) {
  ScratchDir tmp;
  IdxOptions o;
  o.input_name = "x";
  o.images_path = tmp.write("img.idx", idx_images(4));
  o.labels_path = gzip_file(tmp.path("lbl.idx.gz"), idx_labels(4));
  o.preprocess.scale = 0.5;
  const IdxDataset plain(o);
  o.images_path = gzip_file(tmp.path("img.idx.gz"), idx_images(4));
  const IdxDataset gz(o);
  ASSERT_EQ(plain.size(), 4);
  EXPECT_EQ(plain.height(), 3);
  EXPECT_EQ(plain.width(), 2);
  const Sample s = gz.get(2);
  EXPECT_EQ(s.annotation.label, 7);
  const Tensor& t = s.inputs.at("x");
  ASSERT_EQ(t.shape(), (Shape{1, 1, 3, 2}));
  for (int k = 0; k < 6; ++k) EXPECT_EQ(t.data<float>()[k], 0.5f * static_cast<float>(20 + k)) << "pixel " << k;
  EXPECT_EQ(std::memcmp(plain.get(2).inputs.at("x").raw(), t.raw(), t.nbytes()), 0);
  expect_error([&] { gz.get(4); }, {"sample index 4"});
  o.labels_path.clear();
  EXPECT_EQ(IdxDataset(o).get(0).annotation.label, -1);
}

TEST(IdxDataset, BadFilesAreNamedDataErrors) {
  ScratchDir tmp;
  IdxOptions o;
  o.input_name = "x";
  o.images_path = tmp.write("img.idx", idx_images(2, 0x801));
  expect_error([&] { IdxDataset{o}; }, {"img.idx", "0x00000801", "expected 0x00000803"});
  o.images_path = tmp.write("img.idx", idx_images(2));
  o.labels_path = tmp.write("lbl.idx", idx_labels(2, 0x803));
  expect_error([&] { IdxDataset{o}; }, {"lbl.idx", "expected 0x00000801"});
  o.labels_path = tmp.write("lbl.idx", idx_labels(3));
  expect_error([&] { IdxDataset{o}; }, {"lbl.idx", "3 labels"});
  o.labels_path.clear();
  o.images_path = tmp.write("img.idx", idx_images(2).substr(0, 20));
  expect_error([&] { IdxDataset{o}; }, {"img.idx", "holds 20 bytes"});
  o.images_path = tmp.path("absent.idx");
  expect_error([&] { IdxDataset{o}; }, {"absent.idx"});
  o.images_path = tmp.write("bad.gz", std::string("\x1f\x8b\x08\x00garbage-not-deflate", 23));
  expect_error([&] { IdxDataset{o}; }, {"bad.gz"});
}

// CIFAR record: label, then 1024 R, 1024 G, 1024 B.
std::string cifar_record(uint8_t label, uint8_t r, uint8_t g, uint8_t b) {
  std::string s(1, static_cast<char>(label));
  s += std::string(1024, static_cast<char>(r)) + std::string(1024, static_cast<char>(g)) +
       std::string(1024, static_cast<char>(b));
  s[1 + 5] = static_cast<char>(200);  // R of pixel 5 differs, to check the planar -> interleaved mapping
  return s;
}

TEST(CifarDataset, RecordsAcrossFiles) {
  ScratchDir tmp;
  CifarOptions o;
  o.input_name = "input.1";
  o.batch_files = {tmp.write("a.bin", cifar_record(3, 10, 20, 30) + cifar_record(4, 11, 21, 31)),
                   tmp.write("b.bin", cifar_record(9, 12, 22, 32))};
  o.preprocess.color = ColorOrder::kBgr;
  const CifarDataset ds(o);
  ASSERT_EQ(ds.size(), 3);
  const Sample s = ds.get(2);
  EXPECT_EQ(s.annotation.label, 9);
  const Tensor& t = s.inputs.at("input.1");
  ASSERT_EQ(t.shape(), (Shape{1, 3, 32, 32}));
  EXPECT_EQ(t.data<float>()[0], 32.f);  // B plane first (BGR)
  EXPECT_EQ(t.data<float>()[1024], 22.f);
  EXPECT_EQ(t.data<float>()[2048], 12.f);
  EXPECT_EQ(t.data<float>()[2048 + 5], 200.f);  // R of pixel 5
  EXPECT_EQ(ds.get(1).annotation.label, 4);
  EXPECT_EQ(s.metadata.at("file"), o.batch_files[1]);

  o.label_bytes = 2;  // CIFAR-100 layout: 3074-byte records; our 3073-byte files do not divide
  expect_error([&] { CifarDataset{o}; }, {"a.bin", "3074-byte records"});
  o.label_bytes = 1;
  o.batch_files = {tmp.path("none.bin")};
  expect_error([&] { CifarDataset{o}; }, {"none.bin", "cannot be opened"});
}

}  // namespace
}  // namespace qwac::data
