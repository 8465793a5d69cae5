"""Wall time of ONE trial of the reference AG-Net search (NAS-Bench-201) on this CPU.

Runs the reference's own code (jovitalukasik/AG-Net, PyTorch) from a checkout that you
name; none of it is copied here. Needs torch, torch_geometric, numpy, scipy,
scikit-learn, jmespath, tqdm, pandas and pyarrow::

    python benchmarks/agnet_reference_time.py --reference PATH_TO_AG-Net \\
        [--data ../shared/data] [--queries 320] [--threads N] [--rounds R]

What is timed: one call of ``training_loop()`` from the reference's
``search/Search_Tabular.py`` (or ``Search_Tabular.py``) with its default arguments:
16 random models, 30 ticks, tick_size 16 growing by the models added, batch 16,
decoding 100, 200, ..., 900 latents until it has more than 100 fresh valid cells,
querying the surrogate's top 16, weight_factor 10e-3, alpha 0.9, seed 1. It stops by its
own test ``len(data) > search_data``, with ``search_data = queries - 10`` (310, its
default, for 320). The per-round ``torch.save`` of checkpoints and data (to a temporary
folder) is included. Imports, building the dataset and the pretraining are timed apart.
``--rounds R`` stops after R rounds: a partial trial, reported as such.

What was adapted, and only this:

* ``datasets.nasbench201.api``: instead of the 2 GB ``NAS-Bench-201-v1_0-e61699.pth``,
  a stand-in ``NASBench201API`` over the data folder's NATS-Bench-TSS parquet files
  (cifar10-valid x-valid accuracy after 200 epochs, per seed and seed mean; CIFAR-10
  test accuracy, seed mean). The reference's ``datasets/NASBench201.py`` runs unchanged
  on it and keeps the seed means as ``val_acc`` and ``acc``; its 12-epoch lookup, which
  feeds only an unused variable and ``training_time``, gets the 200-epoch values.
* ``datasets.NASBench101`` is an empty stub (it needs TensorFlow 1 and the NB101 file).
* The search script's ``__main__`` is redone here for trial 0: the same seeding,
  ``Generator_Decoder`` with the same settings (ag_configspace defaults, the NB201 data
  config, regression_input 84, acc_prediction, list_all_lost), then the reference's
  ``Dataset``, ``Optimizer(G, "prediction")``, ``Measurements`` and ``Checkpoint``.
* The generator's weights: ``state_dicts/NASBench201/best.model`` when the checkout has
  it (it is a Git LFS file); otherwise it is pretrained here, single-threaded and not
  timed, with the reference's ``Generator_Decoder.loss`` and
  ``Optimizer(G, "decoding")`` on batches of 32 NB201 cells for ``--pretrain-steps``
  steps (the reference trained on 2.5M cells on a GPU). Its validity on U(-3, 3)
  latents is printed.
* The 16 random graphs get a dummy latent ``z`` (zeros), as generated graphs carry one:
  PyG >= 2 does not batch graphs with different keys (PyG 1.4, the reference's, did),
  and ``G.loss`` never reads ``z``.
* ``--threads N`` calls ``torch.set_num_threads(N)`` for the trial; by default torch
  keeps its own count (one per core). Where another job holds a core, torch's OpenMP
  threads spin-wait for each other and this model's small ops get far slower;
  ``--threads 1`` or ``OMP_WAIT_POLICY=PASSIVE`` avoids that.
* ``sample_data``, ``_compute_validity_score`` and ``checkpoint.save`` are wrapped only
  to count decoded, valid and fresh cells and to time the rounds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
import types

VALID = "nb201_valid_acc_200ep_natstss_perseed.parquet"
TEST = "nb201_test_acc_200ep_natstss.parquet"


def install_benchmark(data_dir: str) -> None:
    """Puts a stand-in ``datasets.nasbench201.api`` and an NB101 stub in sys.modules."""
    import pandas as pd

    valid = pd.read_parquet(os.path.join(data_dir, VALID)).sort_values("arch_idx")
    test = pd.read_parquet(os.path.join(data_dir, TEST)).sort_values("arch_idx")
    assert (valid.arch_str.values == test.arch_str.values).all()
    archs = list(valid.arch_str)
    seeds = valid[[f"cifar10valid_valid_seed{s}" for s in (777, 888, 999)]].to_numpy()
    mean = valid.cifar10valid_valid_mean.to_numpy()
    train_time = valid.cifar10_train_all_time_s.to_numpy()
    test_acc = test.cifar10_test.to_numpy()

    class NASBench201API:
        def __init__(self, path=None, verbose=True):
            self.archstr2index = {a: i for i, a in enumerate(archs)}

        def __len__(self):
            return len(archs)

        def query_meta_info_by_index(self, index, use_12epochs_result=False):
            return types.SimpleNamespace(arch_str=archs[index])

        def query_index_by_arch(self, arch):
            return self.archstr2index.get(arch, -1)

        def get_more_info(self, index, dataset, iepoch=None, use_12epochs_result=False,
                          is_random=True):  # fmt: skip
            if dataset == "cifar10-valid":
                runs = [a for a in seeds[index] if a == a]  # the seeds that exist
                acc = random.choice(runs) if is_random is True else mean[index]
                return {"valid-accuracy": float(acc), "valid-per-time": 0.0,
                        "train-all-time": float(train_time[index])}  # fmt: skip
            if dataset == "cifar10":
                return {"test-accuracy": float(test_acc[index])}
            raise NotImplementedError(f"only CIFAR-10 is adapted, not {dataset}")

    api = types.ModuleType("datasets.nasbench201.api")
    api.NASBench201API = NASBench201API
    package = types.ModuleType("datasets.nasbench201")
    package.api = api
    sys.modules["datasets.nasbench201"] = package
    sys.modules["datasets.nasbench201.api"] = api
    sys.modules["datasets.NASBench101"] = types.ModuleType("datasets.NASBench101")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="an AG-Net checkout")
    data = os.environ.get("NASJAX_DATA", "../shared/data")
    parser.add_argument("--data", default=data)
    parser.add_argument("--queries", type=int, default=320)
    parser.add_argument("--pretrain-steps", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default")
    parser.add_argument("--rounds", type=int, default=0, help="stop after R rounds")
    args = parser.parse_args()

    ref = os.path.abspath(args.reference)
    scripts = [os.path.join(ref, "search", "Search_Tabular.py")]
    scripts.append(os.path.join(ref, "Search_Tabular.py"))
    script = next((p for p in scripts if os.path.isfile(p)), None)
    if script is None or not os.path.isfile(os.path.join(ref, "Generator.py")):
        print(
            f"{ref} is not an AG-Net checkout (no Generator.py, Search_Tabular.py).",
            file=sys.stderr,
        )
        return 2
    if not all(importlib.util.find_spec(m) for m in ("torch", "torch_geometric")):
        print(
            "This needs torch and torch_geometric in the running Python.",
            file=sys.stderr,
        )
        return 2
    data_dir = os.path.abspath(args.data)
    if not os.path.isfile(os.path.join(data_dir, VALID)):
        print(f"{data_dir} has no {VALID} (pass --data).", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]

    start = time.perf_counter()
    import numpy as np
    import torch
    from torch_geometric.loader import DataLoader

    sys.path.insert(0, ref)
    import Settings

    workdir = tempfile.mkdtemp(prefix="agnet_reference_")
    os.chdir(workdir)  # the reference writes ./datasets/NASBench201/* and Experiments/
    os.makedirs(os.path.join("datasets", "NASBench201"))
    Settings.FOLDER_EXPERIMENTS = os.path.join(workdir, "Experiments")
    install_benchmark(data_dir)
    sys.argv = [script, "--search_data", str(args.queries - 10)]
    spec = importlib.util.spec_from_file_location("agnet_search", script)
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)  # parses sys.argv, imports datasets.NASBench201
    import_s = time.perf_counter() - start
    NB201, Generator_Decoder = search.NASBench201, search.Generator_Decoder
    start = time.perf_counter()
    dataset = NB201.Dataset(
        batch_size=16, sample_size=16, only_prediction=True,
        dataset=search.args.image_data,
    )  # fmt: skip
    dataset.load_hashes()
    data_s = time.perf_counter() - start

    with open(os.path.join(ref, "configs/model_configs/ag_configspace.json")) as f:
        hyper = json.load(f)["hyperparameters"]
    model_config = {h["name"]: h.get("default", h.get("value")) for h in hyper}
    with open(os.path.join(ref, "configs/data_configs/NB201_configspace.json")) as f:
        data_config = json.load(f)
    pretrain_s, source = 0.0, "best.model"
    try:
        best = os.path.join(ref, "state_dicts", "NASBench201", "best.model")
        state = torch.load(best, map_location="cpu", weights_only=False)
        state = state["nets"]["G"]["state"]
    except Exception:  # absent, or a Git LFS pointer
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        torch.manual_seed(999)
        pre = Generator_Decoder(model_config=model_config, data_config=data_config)
        opt = search.Optimizer(pre, "decoding").optimizer
        loader = DataLoader(dataset.data, batch_size=32, shuffle=True)
        start, step = time.perf_counter(), 0
        while step < args.pretrain_steps:
            for batch in loader:
                opt.zero_grad()
                pre.loss(batch, batch.batch.max().item() + 1)[1].backward()
                opt.step()
                step += 1
                if step == args.pretrain_steps:
                    break
        pretrain_s, state = time.perf_counter() - start, pre.state_dict()
        torch.set_num_threads(threads)
        source = f"no best.model: pretrained here, {step} x 32 cells"
    with torch.no_grad():  # the starting generator's validity, on the searched latents
        G0 = Generator_Decoder(model_config=model_config, data_config=data_config)
        G0.load_state_dict(state, strict=False)
        m0 = search.Measurements(G=G0.eval(), batch_size=16, NASBench=NB201)
        graphs = G0(6 * torch.rand(1000, 32) - 3)
        ok = m0._compute_validity_score(graphs, "NB201", return_valid_spec=True)
        source += f", validity {len(ok) / 1000:.3f}"

    # The search script's __main__, trial 0.
    seed = search.args.seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = {**data_config, "regression_input": 84, "regression_output": 1}
    G = Generator_Decoder(
        model_config=model_config, data_config=config, acc_prediction=True,
        list_all_lost=True,
    )  # fmt: skip
    G_dict = G.state_dict()
    G_dict.update(
        {k: v for k, v in state.items() if k in G_dict and v.shape == G_dict[k].shape}
    )
    G.load_state_dict(G_dict)
    dataset.train_data, dataset.test_data = NB201.Dataset.sample(dataset.data, 16, True)
    for graph in dataset.train_data:
        graph.z = torch.zeros(model_config["graph_embedding_dim"])
    trial_runfolder = os.path.join(search.runfolder, "round_0")
    os.makedirs(trial_runfolder, exist_ok=True)
    optimizerG = search.Optimizer(G, "prediction").optimizer
    measurements = search.Measurements(G=G, batch_size=16, NASBench=NB201)
    checkpoint = search.Checkpoint(
        folder=trial_runfolder, nets={"G": G}, optimizers={"G": optimizerG},
        measurements=measurements,
    )  # fmt: skip

    counts, rounds = [[0, 0, 0]], []  # per round: decoded, valid, fresh
    validity, sample_data, save = (
        measurements._compute_validity_score, search.sample_data, checkpoint.save
    )  # fmt: skip

    def counted_validity(graphs, *a, **k):
        out = validity(graphs, *a, **k)
        counts[-1][0] += len(graphs)
        counts[-1][1] += len(out)
        return out

    def counted_sample(*a, **k):
        out = sample_data(*a, **k)
        counts[-1][2] += len(out[0])
        return out

    class Stop(Exception):
        pass

    def timed_save(*a, **k):
        save(*a, **k)
        rounds.append(time.perf_counter())
        counts.append([0, 0, 0])
        if len(rounds) == args.rounds:
            raise Stop

    measurements._compute_validity_score = counted_validity
    checkpoint.save = timed_save
    vars(search).update(
        G=G, dataset=dataset, Dataset=NB201.Dataset, NASBench=NB201,
        conditional_train_data=dataset.train_data, optimizerG=optimizerG,
        measurements=measurements, checkpoint=checkpoint,
        trial_runfolder=trial_runfolder, i=0, sample_data=counted_sample,
    )  # fmt: skip
    start = time.perf_counter()
    try:
        search.training_loop()
    except Stop:
        pass
    trial_s = time.perf_counter() - start

    found = dataset.train_data
    top = max(found, key=lambda g: g.val_acc.item())
    per_round = np.diff([start, *rounds])
    counts = counts[: len(rounds)]
    unique = len({g.y.numpy().tobytes() for g in found})
    kind = f"PARTIAL, {len(rounds)} rounds" if args.rounds else "full trial"
    omp = os.environ.get("OMP_WAIT_POLICY", "default")
    load_after = os.getloadavg()[0]
    print(f"\nload average before {load_before:.2f}, after {load_after:.2f}")
    times = f"imports {import_s:.0f} s, data {data_s:.0f} s, pretrain {pretrain_s:.0f}s"
    print(f"nproc {os.cpu_count()}, torch {torch.__version__}; {times}; {source}")
    print("round s: " + " ".join(f"{t:.1f}" for t in per_round))
    print("decoded/valid/fresh: " + " ".join("/".join(map(str, c)) for c in counts))
    print("\n| code | queries | trial s | s/round | best val | its test | note |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| AG-Net reference, torch {torch.__version__} | {len(found)} ({unique} uniq.)"
        f" | {trial_s:.1f} | {per_round.mean():.1f} | {100 * top.val_acc.item():.2f}"
        f" | {100 * top.acc.item():.2f} | {kind}; {torch.get_num_threads()} threads,"
        f" OMP_WAIT_POLICY {omp}; {source} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
