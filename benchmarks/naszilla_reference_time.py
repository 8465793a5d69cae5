"""Wall time of ONE trial of naszilla's BANANAS or local search (NAS-Bench-201) here.

Runs the reference's own code (naszilla/naszilla, TensorFlow/Keras) from a checkout
that you name; none of it is copied here. It needs naszilla's environment (its
``requirements.txt`` pins tensorflow 1.14 and torch 1.5, so Python <= 3.7), plus
numpy, pandas and pyarrow for the data folder::

    python benchmarks/naszilla_reference_time.py --reference PATH_TO_NASZILLA \\
        [--data ../shared/data] [--algorithm bananas] [--queries 150] [--threads N]

What is timed: one call of ``naszilla.nas_algorithms.bananas(search_space,
meta_neuralnet_params("standard"), total_queries=Q)`` (or ``local_search(search_space,
total_queries=Q)``) with every other argument at its default: 10 random models,
rounds of 10, 5 Keras MLPs of 10 x 20 trained 150 epochs each round, 100 mutated
candidates, independent Thompson sampling, the truncated path encoding. Compare with
``benchmarks/baselines_speed.py`` (nasjax's trial, on the same CPU, back to back).

What was adapted, and only this:

* ``nas_201_api.NASBench201API``: instead of the 2 GB ``NAS-Bench-201-v1_0-e61699.pth``,
  a stand-in over the data folder's NATS-Bench-TSS parquet files answering the two
  calls naszilla makes (``query_index_by_arch`` and ``query_by_index``): the
  cifar10-valid ``x-valid`` accuracy of each seed, and the CIFAR-10 ``ori-test``
  accuracy (the seed mean; naszilla averages the seeds anyway).
* ``nasbench.api``, ``nasbench301`` and ``naszilla.bo.bo.probo`` (NAS-Bench-101/-301
  and the GP searches, unused by these two algorithms) are empty stubs.
* ``--threads N`` sets TensorFlow's intra- and inter-op thread counts.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import types

VALID = "nb201_valid_acc_200ep_natstss_perseed.parquet"
TEST = "nb201_test_acc_200ep_natstss.parquet"
SEEDS = (777, 888, 999)


def install_stubs(data_dir: str) -> None:
    """Puts the stand-in NAS-Bench-201 API and the empty stubs in ``sys.modules``."""
    import numpy as np
    import pandas as pd

    valid = pd.read_parquet(os.path.join(data_dir, VALID)).set_index("arch_str")
    test = pd.read_parquet(os.path.join(data_dir, TEST)).set_index("arch_str")
    index_of = {arch: i for i, arch in enumerate(valid.index)}
    per_seed = valid[[f"cifar10valid_valid_seed{s}" for s in SEEDS]].to_numpy()
    test_acc = test.loc[valid.index, "cifar10_test"].to_numpy()

    class Result:
        def __init__(self, split: str, accuracy: float):
            self.split, self.accuracy = split, accuracy

        def get_eval(self, split: str) -> dict:
            if split != self.split:
                raise KeyError(f"the stand-in has {self.split!r}, not {split!r}")
            return {"accuracy": self.accuracy}

    class NASBench201API:
        def __init__(self, path=None, verbose=True):
            del path, verbose

        def query_index_by_arch(self, arch: str) -> int:
            return index_of[arch]

        def query_by_index(self, index: int, dataset: str) -> dict:
            if dataset == "cifar10-valid":
                row = per_seed[index]
                return {
                    seed: Result("x-valid", float(acc))
                    for seed, acc in zip(SEEDS, row)
                    if np.isfinite(acc)
                }
            if dataset == "cifar10":
                return {0: Result("ori-test", float(test_acc[index]))}
            raise KeyError(f"the stand-in serves cifar10 only, not {dataset!r}")

    modules = {
        "nas_201_api": {"NASBench201API": NASBench201API},
        "nasbench": {},
        "nasbench.api": {"NASBench": object},
        "nasbench301": {},
        "naszilla.bo": {},
        "naszilla.bo.bo": {},
        "naszilla.bo.bo.probo": {"ProBO": object},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        module.__path__ = []  # a package, so submodules resolve to the stubs
        sys.modules[name] = module
    sys.modules["nasbench"].api = sys.modules["nasbench.api"]


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.environ.get(
        "NASJAX_DATA", os.path.join(here, "..", "..", "shared", "data")
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="a naszilla checkout")
    parser.add_argument("--data", default=data)
    parser.add_argument(
        "--algorithm", default="bananas", choices=("bananas", "local_search")
    )
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="0: TF's default")
    args = parser.parse_args()
    package = os.path.join(args.reference, "naszilla", "nas_algorithms.py")
    if not os.path.isfile(package):
        print(
            f"error: no naszilla/nas_algorithms.py in {args.reference!r}",
            file=sys.stderr,
        )
        return 2
    if not os.path.isfile(os.path.join(args.data, VALID)):
        print(f"error: no {VALID} in {args.data!r}", file=sys.stderr)
        return 2
    if args.queries < 20:
        print("error: --queries must be >= 20 (10 random + a round)", file=sys.stderr)
        return 2
    install_stubs(args.data)
    sys.path.insert(0, os.path.abspath(args.reference))
    start = time.perf_counter()
    try:
        import numpy as np
        import tensorflow as tf
        from naszilla import nas_algorithms, nas_benchmarks
        from naszilla.params import meta_neuralnet_params
    except ImportError as error:
        print(f"error: naszilla's environment is missing: {error}", file=sys.stderr)
        return 2
    imports = time.perf_counter() - start
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    search_space = nas_benchmarks.Nasbench201(dataset="cifar10")
    print(f"imports {imports:.1f} s; load before {os.getloadavg()}", flush=True)
    start = time.perf_counter()
    if args.algorithm == "bananas":
        trial = nas_algorithms.bananas(
            search_space,
            meta_neuralnet_params("standard"),
            total_queries=args.queries,
            verbose=0,
        )
    else:
        trial = nas_algorithms.local_search(
            search_space, total_queries=args.queries, verbose=0
        )
    seconds = time.perf_counter() - start
    best = min(trial, key=lambda d: d["val_loss"])
    print(
        f"naszilla {args.algorithm}: one trial of {len(trial)} queries in "
        f"{seconds:.1f} s; best validation accuracy {100 - best['val_loss']:.2f}, "
        f"its test accuracy {100 - best['test_loss']:.2f}; load after "
        f"{os.getloadavg()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
