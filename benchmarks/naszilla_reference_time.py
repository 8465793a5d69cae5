"""Wall time of ONE trial of naszilla's BANANAS or local search (NAS-Bench-201) on CPU.

Runs naszilla's own code (naszilla/naszilla, by the BANANAS and local-search authors;
TensorFlow Keras) from a checkout that you name; none of it is copied here. naszilla
pins TensorFlow 1.14, which has no wheel for Python 3.11; its BANANAS predictor is plain
``tf.keras`` (Dense, Adam, mae), so this runs it on TensorFlow 2.15 with Keras 2, in a
separate environment (it does not import nasjax)::

    python3 -m venv ENV
    ENV/bin/pip install 'tensorflow-cpu==2.15.*' 'numpy<2' 'pandas<3' 'pyarrow<20' \\
        scipy scikit-learn
    ENV/bin/python benchmarks/naszilla_reference_time.py --reference PATH_TO_naszilla \\
        [--data ../shared/data] [--algorithm bananas] [--dataset cifar10] \\
        [--queries 150] [--threads N] [--seed 0] [--eager]

What is timed: one call of ``run_nas_algorithm(algo_params(A, queries)[0],
Nasbench201(dataset), meta_neuralnet_params("standard"))`` from naszilla's
``nas_algorithms.py`` and ``params.py``, as its ``run_experiments.py`` makes it for
``--search_space nasbench_201 --algo_params A`` (A is bananas or local_search), with
all of naszilla's defaults. BANANAS: 10 random cells, then rounds of 10 queries until
``queries`` (14 rounds for 150); each round makes 100 mutations of the best cell (and
of the next best while fewer than 100 are new) as candidates, fits 5 MetaNeuralnets
(10 x 20 ReLU Dense, mae, Adam lr 0.01, betas 0.9/0.99, 150 epochs, batch 32) on the
truncated path encoding, and queries the 10 candidates with the lowest independent
Thompson-sampling draw. Local search: 10 random cells, then first-improvement hill
climbing over the 24 one-op neighbours, ``stop_at_minimum=True`` (the default of
``algo_params("local_search")``), restarting until ``queries`` cells.
Validation losses are the deterministic (seed-mean) ones naszilla uses by default.
Imports and the data loading (``Nasbench201(...)``) are timed apart. naszilla does not
seed anything itself; here ``--seed`` seeds ``random``, ``numpy`` and TensorFlow.

What was adapted, and only this:

* ``nas_201_api``: instead of ``NASBench201API`` on the 2 GB
  ``NAS-Bench-201-v1_0-e61699.pth``, a stand-in over the data folder's NATS-Bench-TSS
  parquet files, with just what naszilla's ``Cell201.get_val_loss``/``get_test_loss``
  call: ``query_index_by_arch(arch_str)`` (the NB201 index, -1 if absent) and
  ``query_by_index(index, dataname)``, which returns ``{"seed-mean": r}`` where
  ``r.get_eval(split)["accuracy"]`` is the mean over the trained seeds after 200 epochs:

  - ``("cifar10-valid", "x-valid")``: ``cifar10valid_valid_mean`` (validation, cifar10);
  - ``("cifar10", "ori-test")``: ``cifar10_test`` (test, cifar10);
  - ``("cifar100" | "ImageNet16-120", "x-valid")``:
    ``cifar100_xvalid_mean_derived`` / ``imagenet16_120_xvalid_mean_derived``;
  - ``("cifar100" | "ImageNet16-120", "ori-test")``: ``cifar100_valtest_mean`` /
    ``imagenet16_120_valtest_mean`` (ori-test is the full test set, x-valid + x-test).

  naszilla takes ``100 - np.mean`` over the returned entries with ``deterministic=True``
  (its default in both searches), so it gets exactly these seed means, as with the .pth
  (whose v1_0 means can differ from NATS for some cifar100 cells, see PROVENANCE.md).
  With ``deterministic=False`` it would get the mean too, not a drawn seed.
* Stubbed as empty modules, as BANANAS and local search on NB201 never call them:
  ``nasbench`` and ``nasbench.api`` (NAS-Bench-101, TensorFlow 1); ``nasbench301``;
  ``torch`` (used only by the GCN encoding; in ``sys.modules`` only while naszilla is
  imported, after scipy and scikit-learn, which look there for it);
  ``naszilla.gcn.model`` and ``naszilla.gcn.train_gcn`` (the torch GCN predictor of
  BONAS / gcn_predictor; their ``NeuralPredictor``, ``fit`` and ``predict`` raise);
  ``matplotlib`` and ``matplotlib.pyplot`` (imported, never used, by
  ``meta_neural_net.py``). ``pybnn`` is imported only inside ``pybnn_search``, so it
  needs no stub; naszilla's ``bo`` package (GP BayesOpt) imports for real.
* ``tf.keras.optimizers.Adam`` is set to ``tf.keras.optimizers.legacy.Adam``, the
  TF 1.14-era optimizer: the Keras 2.11+ ``Adam`` drops the ``lr=0.01`` that
  ``MetaNeuralnet.fit`` passes (it only warns) and would train at 0.001.
* Keras progress bars are turned off (``disable_interactive_logging``): TF 2's
  ``model.predict`` prints one per call by default, TF 1.14's printed none.
* ``tf.compat.v1.disable_eager_execution()``, unless ``--eager``: TF 1.14 ran Keras as
  graphs in a session, as this does; TF 2's default runs ``fit``/``predict`` as
  ``tf.function``s traced anew for each of the 5 x 14 fresh nets, which made a
  2-round trial here about 2.4 times slower (16.8 s against 6.7 s, 1 thread). Two
  graph-mode runs with the same ``--seed`` gave the same trial here.
* ``--threads N`` sets TF's intra- and inter-op thread counts to N (default: TF's own).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import types

VALID = "nb201_valid_acc_200ep_natstss_perseed.parquet"
TEST = "nb201_test_acc_200ep_natstss.parquet"
COLUMNS = {  # (NB201 dataname, eval split) -> (parquet file, column): seed means
    ("cifar10-valid", "x-valid"): (VALID, "cifar10valid_valid_mean"),
    ("cifar10", "ori-test"): (TEST, "cifar10_test"),
    ("cifar100", "x-valid"): (VALID, "cifar100_xvalid_mean_derived"),
    ("cifar100", "ori-test"): (VALID, "cifar100_valtest_mean"),
    ("ImageNet16-120", "x-valid"): (VALID, "imagenet16_120_xvalid_mean_derived"),
    ("ImageNet16-120", "ori-test"): (VALID, "imagenet16_120_valtest_mean"),
}


def install_benchmark(data_dir: str) -> None:
    """Puts a stand-in ``nas_201_api`` over the parquet files into sys.modules."""

    class Result:  # one entry of NB201's {seed: ResultsCount}, here the seed mean
        def __init__(self, index, dataname):
            self.index, self.dataname = index, dataname

        def get_eval(self, name, iepoch=None):
            if iepoch is not None or (self.dataname, name) not in COLUMNS:
                raise KeyError(f"the stand-in lacks {self.dataname}/{name}/{iepoch}")
            accuracy = self.api.columns[self.dataname, name][self.index]
            return {"accuracy": float(accuracy)}

    class NASBench201API:
        def __init__(self, file_path_or_dict=None, verbose=True):
            import pandas as pd

            tables = {}
            for name in (VALID, TEST):
                frame = pd.read_parquet(os.path.join(data_dir, name))
                tables[name] = frame.sort_values("arch_idx").reset_index(drop=True)
            archs = list(tables[VALID].arch_str)
            assert archs == list(tables[TEST].arch_str)
            assert list(tables[VALID].arch_idx) == list(range(len(archs)))
            self.archstr2index = {a: i for i, a in enumerate(archs)}
            self.columns = {
                key: tables[name][column].to_numpy()
                for key, (name, column) in COLUMNS.items()
            }
            Result.api = self

        def __len__(self):
            return len(self.archstr2index)

        def query_index_by_arch(self, arch):
            return self.archstr2index.get(arch, -1)

        def query_by_index(self, arch_index, dataname=None, use_12epochs_result=False):
            if dataname is None or use_12epochs_result:
                raise NotImplementedError("only 200-epoch results per dataset")
            if arch_index < 0 or arch_index >= len(self):
                raise IndexError(arch_index)
            return {"seed-mean": Result(arch_index, dataname)}

    api = types.ModuleType("nas_201_api")
    api.NASBench201API = NASBench201API
    sys.modules["nas_201_api"] = api


def stub(name: str, *names: str) -> types.ModuleType:
    """An empty module in sys.modules; its ``names`` raise if they are ever called."""
    module = types.ModuleType(name)

    def unavailable(*args, **kwargs):
        raise NotImplementedError(f"{name} is stubbed out here")

    for attr in names:
        setattr(module, attr, unavailable)
    sys.modules[name] = module
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="a naszilla checkout")
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.path.join(here, "..", "..", "shared", "data")
    data = os.environ.get("NASJAX_DATA", data)
    parser.add_argument("--data", default=data)
    parser.add_argument(
        "--algorithm", choices=("bananas", "local_search"), default="bananas"
    )
    parser.add_argument(
        "--dataset", choices=("cifar10", "cifar100", "ImageNet16-120"),
        default="cifar10", help="cifar10: validation on cifar10-valid, as naszilla",
    )  # fmt: skip
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--threads", type=int, default=0, help="0: TF's default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--eager", action="store_true", help="TF 2's eager Keras, not TF 1 graphs"
    )
    args = parser.parse_args()

    ref = os.path.abspath(args.reference)
    if not os.path.isfile(os.path.join(ref, "naszilla", "nas_algorithms.py")):
        print(f"{ref} is not a naszilla checkout (no naszilla/nas_algorithms.py).",
              file=sys.stderr)  # fmt: skip
        return 2
    data_dir = os.path.abspath(args.data)
    if not all(os.path.isfile(os.path.join(data_dir, f)) for f in (VALID, TEST)):
        print(f"{data_dir} lacks {VALID} or {TEST} (pass --data).", file=sys.stderr)
        return 2
    try:
        commit = subprocess.run(
            ["git", "-C", ref, "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    load_before = os.getloadavg()[0]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    start = time.perf_counter()
    try:
        import numpy as np
        import pandas  # noqa: F401  (so that its import is not counted as data time)
        import scipy.stats  # noqa: F401  (before the torch stub: scipy looks for it)
        import sklearn.preprocessing  # noqa: F401  (likewise)
        import tensorflow as tf
    except ImportError as error:
        print(
            f"error: naszilla's environment is missing ({error}); see this script's "
            "docstring for how to make it.",
            file=sys.stderr,
        )
        return 2

    if not args.eager:
        tf.compat.v1.disable_eager_execution()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.keras.optimizers.Adam = tf.keras.optimizers.legacy.Adam
    tf.keras.utils.disable_interactive_logging()

    install_benchmark(data_dir)
    stub("nasbench").api = stub("nasbench.api")
    stub("nasbench301")
    stub("torch")
    stub("naszilla.gcn.model", "NeuralPredictor")
    stub("naszilla.gcn.train_gcn", "fit", "predict")
    stub("matplotlib").pyplot = stub("matplotlib.pyplot")
    sys.path.insert(0, ref)
    from naszilla import meta_neural_net
    from naszilla.nas_algorithms import run_nas_algorithm
    from naszilla.nas_benchmarks import Nasbench201
    from naszilla.params import algo_params, meta_neuralnet_params

    for name in ("torch", "matplotlib", "matplotlib.pyplot"):
        del sys.modules[name]
    assert meta_neural_net.keras.optimizers.Adam is tf.keras.optimizers.legacy.Adam
    import_s = time.perf_counter() - start

    start = time.perf_counter()
    search_space = Nasbench201(dataset=args.dataset)
    data_s = time.perf_counter() - start

    params = algo_params(args.algorithm, queries=args.queries)[0]
    metann_params = meta_neuralnet_params("standard")
    random.seed(args.seed)
    np.random.seed(args.seed)
    tf.random.set_seed(args.seed)
    start = time.perf_counter()
    result, val_result, found = run_nas_algorithm(params, search_space, metann_params)
    trial_s = time.perf_counter() - start

    best = sorted(found, key=lambda d: d["val_loss"])[0]
    assert (best["val_loss"], best["test_loss"]) == (val_result[-1][1], result[-1][1])
    unique = len({search_space.get_hash(d["spec"]) for d in found})
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    threads = f"{intra} intra-op, {inter} inter-op threads"
    if (intra, inter) == (0, 0):
        threads = "TF's default threads"
    mode = "eager Keras" if tf.executing_eagerly() else "graph mode (as TF 1)"
    load_after = os.getloadavg()[0]
    print(f"\nload average before {load_before:.2f}, after {load_after:.2f}")
    print(
        f"nproc {os.cpu_count()}, tensorflow {tf.__version__}, numpy {np.__version__};"
        f" imports {import_s:.0f} s, data {data_s:.1f} s; {params}; seed {args.seed}"
    )
    print(f"best cell {best['spec']['string']}")
    print("\n| code | queries | trial s | best val | its test | note |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| naszilla {commit} {args.algorithm}, tensorflow {tf.__version__}"
        f" | {len(found)} ({unique} uniq.) | {trial_s:.{1 if trial_s >= 1 else 3}f}"
        f" | {100 - best['val_loss']:.2f} | {100 - best['test_loss']:.2f}"
        f" | NB201 {args.dataset}, full trial; {mode}; {threads} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
