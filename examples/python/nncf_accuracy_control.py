#!/usr/bin/python3
"""The NNCF seed example ("Quantizing with accuracy control") with qwac's names, on shared data:
mobilenetv3s-cifar10 calibrated on the CIFAR-10 training split (split-train-8000.csv) and validated, with a
validation function written in NumPy, on the evaluation split (split-eval-2000.csv).

    /usr/bin/python3 examples/python/nncf_accuracy_control.py --output mobilenetv3s.int8.onnx --report report.json

Data comes through torch DataLoaders, as in the seed; images are decoded by PIL (libjpeg-turbo, the decoder qwac
and ONNX Runtime's reference evaluator use) and normalized as the model was trained.
"""

import argparse
import csv
import json
import os
import time

import numpy as np
import onnx
import PIL.Image
import torch

import qwac

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "assets")
MEAN = np.array([0.4914, 0.4822, 0.4465])
STD = np.array([0.2470, 0.2435, 0.2616])


class CifarSplit(torch.utils.data.Dataset):
    """CIFAR-10 JPEG files listed in a split CSV (file,label), as float32 CHW tensors."""

    def __init__(self, root, split_csv, limit=None):
        with open(os.path.join(root, split_csv)) as f:
            self.rows = [(r["file"], int(r["label"])) for r in csv.DictReader(f)][:limit]
        self.images = os.path.join(root, "images")

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        file, label = self.rows[index]
        with PIL.Image.open(os.path.join(self.images, file)) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.float64)
        x = ((pixels * (1.0 / 255.0) - MEAN) / STD).astype(np.float32).transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(x)), label


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(SHARED, "models", "mobilenetv3s-cifar10", "model.onnx"))
    parser.add_argument("--data", default=os.path.join(SHARED, "data", "cifar10-test-jpeg"))
    parser.add_argument("--output", default="mobilenetv3s-cifar10.int8.onnx")
    parser.add_argument("--report", default=None, help="write qwac's report (JSON) here")
    parser.add_argument("--max-drop", type=float, default=0.01)
    parser.add_argument("--validation-limit", type=int, default=None, help="only the first N validation images")
    parser.add_argument("--threads", type=int, default=0, help="engine threads (0 = all cores)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    # Fail now, not after minutes of work, when an output is unwritable or would overwrite an input (the CLI's
    # output-path guard).
    qwac.check_output_paths({"--output": args.output, **({"--report": args.report} if args.report else {})},
                            inputs={"--model": args.model})

    # Step 1: prepare the datasets (NNCF: nncf.Dataset(loader, transform_fn)).
    calibration_loader = torch.utils.data.DataLoader(CifarSplit(args.data, "split-train-8000.csv"), batch_size=1)
    validation_loader = torch.utils.data.DataLoader(
        CifarSplit(args.data, "split-eval-2000.csv", args.validation_limit), batch_size=1)

    def transform_fn(data_item):
        images, _ = data_item
        return images

    calibration_dataset = qwac.Dataset(calibration_loader, transform_fn)
    validation_dataset = qwac.Dataset(validation_loader, transform_fn)

    # Step 2: the validation function, in NumPy. qwac hands it the model to run and the validation items (all of
    # them, or the subset it ranks on); returning per-sample values lets the search rank samples.
    def validate(model: qwac.CompiledModel, validation_loader) -> float:
        predictions = []
        references = []
        output = model.outputs[0]
        for images, target in validation_loader:
            pred = model(images)[output]
            predictions.append(np.argmax(pred, axis=1))
            references.append(target)
        predictions = np.concatenate(predictions, axis=0)
        references = np.concatenate(references, axis=0)
        per_sample = (predictions == references).astype(np.float64)
        return float(per_sample.mean()), per_sample

    # Step 3: quantize with accuracy control.
    model = onnx.load(args.model)
    report = {}
    start = time.monotonic()
    quantized_model = qwac.quantize_with_accuracy_control(model,
                                                          calibration_dataset=calibration_dataset,
                                                          validation_dataset=validation_dataset,
                                                          validation_fn=validate,
                                                          max_drop=args.max_drop,
                                                          drop_type=qwac.DropType.ABSOLUTE,
                                                          metric_name="accuracy@top1",
                                                          report=report,
                                                          show_progress=not args.quiet,
                                                          execution=qwac.ExecutionOptions(threads=args.threads))
    seconds = time.monotonic() - start

    # Step 4: save it; ONNX Runtime runs the file. (onnx.save writes it too; qwac.save_model writes atomically and
    # refuses to overwrite a model this process read.)
    qwac.save_model(quantized_model, args.output)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    m = report["metrics"]["accuracy@top1"]
    print(f"accuracy@top1: fp32 {m['fp32']:.4f}, default int8 {m['default_quantization']:.4f}, "
          f"final {m['final']:.4f} (drop {m['drop']:+.4f}, bound {m['bound']:.4f})")
    print(f"{report['summary']}; {report['full_validations']} full validations; {seconds:.1f} s")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
