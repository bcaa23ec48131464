// What a public qwac::Model holds: the library's immutable graph, shared by copies.
#pragma once

#include <memory>

#include "ir/graph.h"
#include "qwac/model.h"

namespace qwac {

struct Model::Impl {
  std::shared_ptr<const ir::Model> model;
};

namespace api {

Model wrap(std::shared_ptr<const ir::Model> model);
// The graph of a non-empty Model (InvalidArgument naming `what` when it is empty).
const ir::Model& unwrap(const Model& model, const char* what = "model");
std::shared_ptr<const ir::Model> shared(const Model& model, const char* what = "model");

}  // namespace api
}  // namespace qwac
