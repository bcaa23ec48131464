#!/usr/bin/python3
"""The POT seed example ("Quantizing Models with Accuracy Control") with qwac's names, on shared data: a Metric
subclass (the seeds' top-1 accuracy), a DataLoader over the CIFAR-10 evaluation split (split-eval-2000.csv) and
mobilenetv3s-cifar10, through create_pipeline(...).run(model).

    /usr/bin/python3 examples/python/pot_accuracy_aware.py --save-path optimized_model

As in POT, one data loader serves calibration (its first stat_subset_size samples) and validation.
"""

import argparse
import csv
import json
import os

import numpy as np
import PIL.Image

from qwac import check_output_paths
from qwac.pot import (DataLoader, IEEngine, Metric, compress_model_weights, create_pipeline, load_model,
                      save_model)

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "assets")
MEAN = np.array([0.4914, 0.4822, 0.4465])
STD = np.array([0.2470, 0.2435, 0.2616])


class Accuracy(Metric):
    """The seeds' accuracy top-k metric."""

    # Required methods
    def __init__(self, top_k=1):
        super().__init__()
        self._top_k = top_k
        self._name = "accuracy@top{}".format(self._top_k)
        self._matches = []  # container of the results

    @property
    def value(self):
        """ Returns accuracy metric value for the last model output. """
        return {self._name: self._matches[-1]}

    @property
    def avg_value(self):
        """ Returns accuracy metric value for all model outputs. """
        # (The seed's np.ravel(self._matches) needs batches of one size; a last, smaller batch makes them ragged.)
        return {self._name: np.concatenate(self._matches).mean()}

    def update(self, output, target):
        """ Updates prediction matches.
        :param output: model output
        :param target: annotations
        """
        if len(output) > 1:
            raise Exception('The accuracy metric cannot be calculated '
                            'for a model with multiple outputs')
        if isinstance(target, dict):
            target = list(target.values())
        predictions = np.argsort(output[0], axis=1)[:, -self._top_k:]
        match = [float(t in predictions[i]) for i, t in enumerate(target)]
        self._matches.append(match)

    def reset(self):
        """ Resets collected matches """
        self._matches = []

    def get_attributes(self):
        """
        Returns a dictionary of metric attributes {metric_name: {attribute_name: value}}.
        Required attributes: 'direction': 'higher-better' or 'higher-worse'
                             'type': metric type
        """
        return {self._name: {'direction': 'higher-better',
                             'type': 'accuracy'}}


class CifarLoader(DataLoader):
    """(data, annotation) pairs: a normalized CHW image (no batch axis) and its class index."""

    def __init__(self, root, split_csv, limit=None):
        super().__init__({})
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
        return np.ascontiguousarray(x), label


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.path.join(SHARED, "models", "mobilenetv3s-cifar10", "model.onnx"))
    parser.add_argument("--data", default=os.path.join(SHARED, "data", "cifar10-test-jpeg"))
    parser.add_argument("--save-path", default="optimized_model")
    parser.add_argument("--maximal-drop", type=float, default=0.02)
    parser.add_argument("--limit", type=int, default=None, help="only the first N images of the split")
    parser.add_argument("--threads", type=int, default=0, help="engine threads (0 = all cores)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    # Fail now, not after minutes of work, when an output would overwrite an input (the CLI's output-path guard).
    os.makedirs(args.save_path, exist_ok=True)
    check_output_paths({"save_model": os.path.join(args.save_path, "optimized_model.onnx"),
                        "report": os.path.join(args.save_path, "report.json")}, inputs={"--model": args.model})

    # Model config specifies the model name and path to the .onnx file
    model_config = {"model_name": "model", "model": args.model}
    # Engine config
    engine_config = {"device": "CPU", "threads": args.threads, "show_progress": not args.quiet}
    algorithms = [
        {
            "name": "AccuracyAwareQuantization",
            "params": {
                "target_device": "ANY",
                "stat_subset_size": 300,
                "maximal_drop": args.maximal_drop,
            },
        }
    ]

    # Step 1: implement and create user's data loader.
    data_loader = CifarLoader(args.data, "split-eval-2000.csv", args.limit)
    # Step 2: implement and create user's metric.
    metric = Accuracy()
    # Step 3: load the model.
    model = load_model(model_config=model_config)
    # Step 4: initialize the engine for metric calculation and statistics collection.
    engine = IEEngine(config=engine_config, data_loader=data_loader, metric=metric)
    # Step 5: create a pipeline of compression algorithms and run it.
    pipeline = create_pipeline(algorithms, engine)
    compressed_model = pipeline.run(model=model)
    # Step 6 (optional): compress model weights (qwac's QDQ models already hold int8 weights).
    compress_model_weights(compressed_model)
    # Step 7: save the compressed model to the desired path.
    compressed_model_paths = save_model(model=compressed_model, save_path=args.save_path, model_name="optimized_model")
    with open(os.path.join(args.save_path, "report.json"), "w") as f:
        json.dump(pipeline.report, f, indent=2)
    # Step 8 (optional): evaluate the compressed model and print the results.
    metric_results = pipeline.evaluate(compressed_model)

    m = pipeline.report["metrics"]["accuracy@top1"]
    print(f"accuracy@top1: fp32 {m['fp32']:.4f}, final {m['final']:.4f} (drop {m['drop']:+.4f}); "
          f"evaluate: {metric_results['accuracy@top1']:.4f}")
    print(pipeline.report["summary"])
    print(f"wrote {compressed_model_paths[0]['model']}")


if __name__ == "__main__":
    main()
