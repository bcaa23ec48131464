// Per-layer quantization error (quant/layer_error.h) on the bundled demo (mnist-cntk): the FP32 model against
// itself has no error anywhere; its 8-bit QDQ model has error on every compared tensor, in the range 8-bit
// quantization gives, and the NMSE/SQNR pair is consistent; Q/DQ nodes are not listed.
#include <gtest/gtest.h>

#include <cmath>

#include "data/idx_dataset.h"
#include "onnx/model_io.h"
#include "quant/layer_error.h"
#include "quant/quantize.h"

namespace qwac {
namespace {

const std::string kDemo = std::string(QWAC_SOURCE_DIR) + "/examples/data/";

struct Demo {
  ir::Model model = onnxio::load_model(kDemo + "mnist-cntk/model.onnx");
  DatasetPtr data;
  Demo() {
    data::IdxOptions o;
    o.images_path = kDemo + "mnist-test-1000/t10k-images-idx3-ubyte.gz";
    o.labels_path = kDemo + "mnist-test-1000/t10k-labels-idx1-ubyte.gz";
    o.input_name = model.graph->inputs().at(0)->name();
    data = std::make_shared<data::IdxDataset>(o);
  }
};

TEST(LayerError, NoErrorAgainstItself) {
  Demo demo;
  const LayerErrorReport r = quant::measure_layer_errors(demo.model, demo.model, *demo.data, 3, {});
  EXPECT_EQ(r.samples, 3);
  ASSERT_FALSE(r.layers.empty());
  int compared = 0;
  for (const LayerError& e : r.layers) {
    if (!e.nmse) continue;
    ++compared;
    EXPECT_EQ(*e.nmse, 0.0) << e.node;
    EXPECT_FALSE(e.sqnr_db.has_value()) << e.node;  // equal tensors: no finite SQNR
    EXPECT_EQ(e.max_abs_error, 0.0) << e.node;
  }
  EXPECT_GT(compared, 0);
}

TEST(LayerError, QuantizedModelHasEightBitError) {
  Demo demo;
  QuantizationConfig p;
  p.stat_subset_size = 50;
  RunOptions ro;
  ro.batch_size = 1;
  const QuantizeOutput q = quantize(demo.model, *demo.data, p, ro);
  const LayerErrorReport r = quant::measure_layer_errors(demo.model, *q.model, *demo.data, 8, {});
  EXPECT_EQ(r.samples, 8);
  EXPECT_EQ(r.execution, "QDQ simulation");
  EXPECT_GT(r.seconds, 0.0);
  int convs = 0;
  for (const LayerError& e : r.layers) {
    EXPECT_NE(e.op_type, "QuantizeLinear");
    EXPECT_NE(e.op_type, "DequantizeLinear");
    if (!e.sqnr_db) continue;
    ASSERT_TRUE(e.nmse.has_value());
    EXPECT_GT(*e.nmse, 0.0) << e.node;
    EXPECT_NEAR(*e.sqnr_db, -10.0 * std::log10(*e.nmse), 1e-9);
    EXPECT_GT(e.max_abs_error, 0.0) << e.node;
    // 8 bits give roughly 6 dB per bit minus clipping and accumulation: far from 0 dB, short of float's ~140 dB.
    EXPECT_GT(*e.sqnr_db, 10.0) << e.node;
    EXPECT_LT(*e.sqnr_db, 70.0) << e.node;
    convs += e.op_type == "Conv" ? 1 : 0;
  }
  EXPECT_GE(convs, 2);  // mnist-cntk's two convolutions are compared
}

}  // namespace
}  // namespace qwac
