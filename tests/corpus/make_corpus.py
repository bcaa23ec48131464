#!/usr/bin/python3
"""Generates the opset corpus: small real architectures (corpus_models.py) exported by torch at every opset it
supports from 9 up, each also rewritten with every weight as a `Constant` node and without intermediate shape
declarations (the form paddle2onnx and older converters write), plus seeded inputs.

    /usr/bin/python3 tests/corpus/make_corpus.py OUT_DIR

Writes OUT_DIR/<model>/op<N>.onnx, OUT_DIR/<model>/op<N>_const.onnx, OUT_DIR/<model>/input.npy (the evaluation
input; batch 2 for models exported with a dynamic batch) and OUT_DIR/<model>/calib.npy (calibration samples), and
OUT_DIR/manifest.json listing them. Nothing here is committed: CTest runs this into the build tree
(tests/CMakeLists.txt). The export is skipped when OUT_DIR/manifest.json was written by the same scripts; exit code
77 (CTest: skipped) when torch or onnx cannot be imported.
"""
import hashlib
import json
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ("make_corpus.py", "corpus_models.py")  # the corpus is regenerated when one of them changes
OPSETS = list(range(9, 18))  # torch 1.13 exports opsets 7..17; the corpus covers 9 and up
SEED = 12
CALIB_SAMPLES = 8


def sources_hash():
    h = hashlib.sha256()
    for name in SOURCES:
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def weights_as_constants(onnx, model):
    """The same graph with every initializer turned into a Constant node (at the top, in initializer order) and
    no intermediate value_info."""
    g = model.graph
    constants = [onnx.helper.make_node("Constant", [], [init.name], name="const_" + init.name, value=init)
                 for init in g.initializer]
    init_names = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in init_names]
    nodes = constants + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    del g.input[:]
    g.input.extend(inputs)
    del g.value_info[:]
    onnx.checker.check_model(model)
    return model


def export(modules, cls, shape, dynamic, out_dir, opset):
    torch, onnx, corpus_models = modules
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    net = cls()
    corpus_models.init_weights(net, gen)
    net.eval()
    x = torch.randn(shape, generator=gen)
    path = os.path.join(out_dir, "op%d.onnx" % opset)
    kwargs = {}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that bilinear Upsample below opset 11 is not PyTorch's
        torch.onnx.export(net, x, path, opset_version=opset, input_names=["input"], output_names=["output"],
                          do_constant_folding=True, **kwargs)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    const_path = os.path.join(out_dir, "op%d_const.onnx" % opset)
    onnx.save(weights_as_constants(onnx, model), const_path)
    return path, const_path


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    out = sys.argv[1]
    digest = sources_hash()
    manifest_path = os.path.join(out, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            if json.load(f).get("sources_sha256") == digest:
                print("corpus in %s is up to date" % out)
                return
    try:
        import numpy as np
        import onnx
        import torch
        sys.path.insert(0, HERE)
        import corpus_models
    except ImportError as e:
        print("cannot generate the opset corpus: %s (install Debian's python3-torch and python3-onnx)" % e)
        sys.exit(77)
    torch.set_num_threads(1)
    entries = []
    for name, (cls, shape, dynamic) in corpus_models.MODELS.items():
        model_dir = os.path.join(out, name)
        os.makedirs(model_dir, exist_ok=True)
        rng = np.random.default_rng(SEED)
        eval_shape = (2,) + shape[1:] if dynamic else shape
        np.save(os.path.join(model_dir, "input.npy"), rng.standard_normal(eval_shape).astype(np.float32))
        np.save(os.path.join(model_dir, "calib.npy"),
                rng.standard_normal((CALIB_SAMPLES,) + shape[1:]).astype(np.float32))
        for opset in OPSETS:
            paths = export((torch, onnx, corpus_models), cls, shape, dynamic, model_dir, opset)
            for path, form in zip(paths, ("initializers", "constants")):
                entries.append({"model": name, "opset": opset, "weights": form, "path": os.path.relpath(path, out),
                                "input": os.path.join(name, "input.npy"), "calibration": os.path.join(name, "calib.npy"),
                                "input_name": "input"})
    # The manifest goes last (temp file + rename): its presence means the corpus is complete.
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"sources_sha256": digest, "torch": torch.__version__, "onnx": onnx.__version__,
                   "models": entries}, f, indent=1)
    os.replace(tmp, manifest_path)
    print("wrote %d models to %s" % (len(entries), out))


if __name__ == "__main__":
    main()
