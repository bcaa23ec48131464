// .npy / .npz reading (including a zip64, deflated archive written like numpy.savez_compressed) and NpyDataset.
#include "data/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "data/data_test_util.h"
#include "data/npy_dataset.h"
#include "qwac/error.h"
#include "test_util.h"

namespace qwac::data {
namespace {

using qwac::testing::ScratchDir;

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    for (const auto& f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what();
  }
}

// A hand-written .npy v1.0 with the given header dict and payload.
std::string npy_bytes(const std::string& dict, const std::string& payload, int version = 1) {
  std::string header = dict + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  if (version == 1) {
    out += static_cast<char>(header.size() & 0xFF);
    out += static_cast<char>(header.size() >> 8);
  } else {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  }
  return out + header + payload;
}

TEST(Npy, ParsesHeadersAndRoundTrips) {
  const float v[4] = {1.5f, -2.f, 3.f, 0.25f};
  const std::string payload(reinterpret_cast<const char*>(v), sizeof(v));
  for (int version : {1, 2}) {
    const Tensor t =
        parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", payload, version), "v");
    ASSERT_EQ(t.shape(), (Shape{2, 2})) << "version " << version;
    EXPECT_EQ(t.data<float>()[3], 0.25f);
  }
  const Tensor scalar = parse_npy(
      npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", std::string("\x05\0\0\0\0\0\0\0", 8)), "s");
  EXPECT_EQ(scalar.rank(), 0);
  EXPECT_EQ(scalar.data<int64_t>()[0], 5);
  const Tensor vec =
      parse_npy(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\1\0\1", 3)), "b");
  EXPECT_EQ(vec.dtype(), DType::kBool);
  EXPECT_EQ(vec.shape(), (Shape{3}));

  Tensor x(DType::kInt32, {2, 3});
  for (int i = 0; i < 6; ++i) x.data<int32_t>()[i] = i * i - 3;
  const Tensor back = parse_npy(to_npy(x), "roundtrip");
  EXPECT_EQ(back.shape(), x.shape());
  EXPECT_EQ(std::memcmp(back.raw(), x.raw(), x.nbytes()), 0);
  EXPECT_EQ(to_npy(x).find("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"), 10u);
  EXPECT_EQ((to_npy(x).find('\n') + 1) % 64, 0u);  // data starts 64-byte aligned, as numpy writes
}

TEST(Npy, RejectsFortranOrderBigEndianAndBadSizes) {
  expect_error(
      [] { parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "abcd"), "f.npy"); },
      {"f.npy", "Fortran"});
  expect_error(
      [] { parse_npy(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "abcd"), "be.npy"); },
      {"be.npy", ">f4"});
  expect_error(
      [] { parse_npy(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "abcdefgh"), "c"); },
      {"unsupported dtype"});
  expect_error(
      [] { parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "abcd"), "short"); },
      {"short", "needs 8 data bytes"});
  expect_error([] { parse_npy("PK\3\4 not npy", "zip.npy"); }, {"zip.npy", "magic"});
}

std::string fixture(const std::string& name) {
  return std::string(QWAC_SOURCE_DIR) + "/tests/data/fixtures/" + name;
}

TEST(Npz, ReadsDeflatedStoredAndZip64Members) {
  // small.npz from fixtures/make_npz_fixture.py (Python zipfile with force_zip64, as numpy writes).
  const auto arrays = read_npz(fixture("small.npz"));
  ASSERT_EQ(arrays.size(), 3u);
  const Tensor& x = arrays.at("x");
  ASSERT_EQ(x.shape(), (Shape{3, 2}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(x.data<float>()[i], static_cast<float>(i) / 4) << i;
  EXPECT_EQ(arrays.at("y").data<int64_t>()[2], 9);
  EXPECT_EQ(arrays.at("z").dtype(), DType::kUInt8);
  EXPECT_EQ(arrays.at("z").data<uint8_t>()[1], 2);

  ScratchDir tmp;
  std::string bytes = qwac::testing::read_file_bytes(fixture("small.npz"));
  bytes[bytes.find("z.npy") + 5 + 20 + 60] ^= 0x55;  // flip a byte inside the stored member's data
  expect_error([&] { read_npz(tmp.write("bad.npz", bytes)); }, {"bad.npz", "CRC-32"});
  expect_error([&] { read_npz(tmp.write("notzip.npz", std::string(100, 'x'))); }, {"notzip.npz", "not a zip"});
}

TEST(NpyDataset, SlicesSamplesFromNpzAndNpy) {
  NpyDatasetOptions o;
  o.npz_path = fixture("small.npz");
  o.inputs = {{"features", "x"}, {"mask", "z"}};
  o.labels_source = "y";
  const NpyDataset ds(o);
  ASSERT_EQ(ds.size(), 3);
  const Sample s = ds.get(1);
  EXPECT_EQ(s.annotation.label, 8);
  EXPECT_EQ(s.inputs.at("features").shape(), (Shape{1, 2}));
  EXPECT_EQ(s.inputs.at("features").data<float>()[1], 0.75f);
  EXPECT_EQ(s.inputs.at("mask").data<uint8_t>()[0], 2);

  o.inputs = {{"features", "nope"}};
  expect_error([&] { NpyDataset{o}; }, {"'nope' not found", "x, y, z"});
  o.inputs = {{"features", "x"}};
  o.labels_source = "x";
  expect_error([&] { NpyDataset{o}; }, {"labels array 'x'", "expected 1-D"});

  ScratchDir tmp;
  Tensor a(DType::kFloat32, {3, 2});
  a.data<float>()[5] = std::nanf("");
  Tensor b(DType::kFloat32, {4});
  NpyDatasetOptions f;
  f.inputs = {{"in", tmp.write("a.npy", to_npy(a))}};
  const NpyDataset nan_ds(f);
  EXPECT_NO_THROW(nan_ds.get(1));
  expect_error([&] { nan_ds.get(2); }, {"sample 2", "input 'in'", "nan"});
  f.inputs.push_back({"other", tmp.write("b.npy", to_npy(b))});
  expect_error([&] { NpyDataset{f}; }, {"4 samples", "has 3"});
}

}  // namespace
}  // namespace qwac::data
