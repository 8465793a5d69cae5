"""NATS-Bench / NAS-Bench-201 importers on tiny files written in the official layout."""

import bz2
import datetime
import pickle
import sys
from collections import OrderedDict

import jax
import numpy as np
import pytest

from nasjax.data import DataError, nats
from nasjax.data.nb201 import benchmark_strings
from nasjax.spaces.nb201 import NB201Space

INDICES = (0, 6111, 9930)  # three architectures of the benchmark
SEEDS = {"12": (111, 777), "200": (777, 888, 999)}
EPOCHS = {"12": 12, "200": 200}
EVAL_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test"),
}


def _results_count(rng, dataset, seed, epochs, arch_str):
    """A ``ResultsCount.__dict__`` as NATS-Bench's simple archive stores it."""
    evals = {}
    for name in EVAL_SETS[dataset]:
        for epoch in range(epochs):
            evals[f"{name}@{epoch}"] = float(rng.uniform(10, 95))
    return {
        "name": dataset,
        "net_state_dict": None,
        "train_acc1es": OrderedDict(
            (e, float(rng.uniform(10, 99))) for e in range(epochs)
        ),
        "train_acc5es": None,
        "train_losses": OrderedDict(
            (e, float(rng.uniform(0, 3))) for e in range(epochs)
        ),
        "train_times": OrderedDict((e, 7.5) for e in range(epochs)),
        "arch_config": {
            "channel": 16,
            "num_cells": 5,
            "arch_str": arch_str,
            "class_num": 10,
        },
        "params": float(rng.uniform(0.1, 1.5)),
        "flop": float(rng.uniform(10, 200)),
        "seed": seed,
        "epochs": epochs,
        "latency": [np.float64(rng.uniform(0.005, 0.03))],  # seconds, numpy scalar
        "eval_names": list(EVAL_SETS[dataset]),
        "eval_acc1es": evals,
        "eval_times": {key: 0.5 for key in evals},
        "eval_losses": {key: float(rng.uniform(0, 3)) for key in evals},
    }


def _arch_results(rng, index, hp):
    arch_str = benchmark_strings()[index]
    all_results, dataset_seed = {}, {}
    for dataset in EVAL_SETS:
        dataset_seed[dataset] = list(SEEDS[hp])
        for seed in SEEDS[hp]:
            all_results[(dataset, seed)] = _results_count(
                rng, dataset, seed, EPOCHS[hp], arch_str
            )
    return {
        "arch_index": index,
        "arch_str": arch_str,
        "all_results": all_results,
        "dataset_seed": dataset_seed,
        "clear_net_done": True,
    }


def _expected(per_hp, hp):
    """Seed means computed independently of the loader."""
    state = per_hp[hp]
    last = EPOCHS[hp] - 1
    runs = {d: [state["all_results"][(d, s)] for s in SEEDS[hp]] for d in EVAL_SETS}

    def acc(d, name):
        return np.mean([r["eval_acc1es"][f"{name}@{last}"] for r in runs[d]])

    out = {
        "cifar10-valid/valid_acc": acc("cifar10-valid", "x-valid"),
        "cifar10/test_acc": acc("cifar10", "ori-test"),
        "cifar100/valid_acc": acc("cifar100", "x-valid"),
        "cifar100/test_acc": acc("cifar100", "x-test"),
        "ImageNet16-120/valid_acc": acc("ImageNet16-120", "x-valid"),
        "ImageNet16-120/test_acc": acc("ImageNet16-120", "x-test"),
    }
    for d in EVAL_SETS:
        out[f"{d}/benchmark_params"] = np.mean([r["params"] for r in runs[d]])
        out[f"{d}/benchmark_flops"] = np.mean([r["flop"] for r in runs[d]])
        out[f"{d}/benchmark_latency"] = 1000 * np.mean(
            [r["latency"][0] for r in runs[d]]
        )
    return out


def _dump(obj, path):
    with bz2.BZ2File(path, "wb") as file:
        pickle.dump(obj, file, protocol=4)


@pytest.fixture(scope="module")
def records():
    rng = np.random.default_rng(0)
    return {
        index: OrderedDict((hp, _arch_results(rng, index, hp)) for hp in ("12", "200"))
        for index in INDICES
    }


def _meta():
    return {
        "meta_archs": list(benchmark_strings()),
        "total_archs": 15625,
        "arch2infos": None,
        "evaluated_indexes": set(),
    }


@pytest.fixture
def simple_dir(tmp_path, records):
    folder = tmp_path / nats.SIMPLE_DIR
    folder.mkdir()
    _dump(_meta(), folder / "meta.pickle")
    (folder / "meta.pickle").rename(folder / nats.META_FILE)
    for index, per_hp in records.items():
        _dump(per_hp, folder / f"{index:06d}.pickle.pbz2")
    return folder


def _archs(indices):
    return np.asarray(NB201Space().from_benchmark_index(np.asarray(indices)))


@pytest.mark.parametrize("hp", ["200", "12"])
def test_simple_archive_values_by_architecture(simple_dir, records, hp):
    table = nats.load_nats_simple(simple_dir, hp=hp)
    suffix = "" if hp == "200" else "_12ep"
    assert table.num_rows == len(INDICES)
    archs = _archs(INDICES)
    for name in _expected(records[0], hp):
        column = name + suffix if "acc" in name else name
        want = np.asarray([_expected(records[i], hp)[name] for i in INDICES])
        np.testing.assert_allclose(
            np.asarray(table.query(archs, column)), want, rtol=1e-6
        )
    # an architecture without a file is NaN, not a neighbour's row
    assert np.isnan(
        float(table.query(_archs([1])[0], "cifar100" + "/valid_acc" + suffix))
    )


def test_simple_archive_queries_inside_jit(simple_dir, records):
    table = nats.load_nats_simple(simple_dir)
    got = jax.jit(lambda t, a: t.query(a, "cifar10/test_acc"))(table, _archs(INDICES))
    want = [_expected(records[i], "200")["cifar10/test_acc"] for i in INDICES]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_unpadded_file_names_are_read(simple_dir, records):
    (simple_dir / "006111.pickle.pbz2").rename(simple_dir / "6111.pickle.pbz2")
    table = nats.load_nats_simple(simple_dir)
    assert table.num_rows == 3
    want = _expected(records[6111], "200")["cifar100/test_acc"]
    np.testing.assert_allclose(
        float(table.query(_archs([6111])[0], "cifar100/test_acc")), want, rtol=1e-6
    )


def test_meta_in_wrong_order_is_refused(simple_dir):
    meta = _meta()
    meta["meta_archs"][1], meta["meta_archs"][2] = (
        meta["meta_archs"][2],
        meta["meta_archs"][1],
    )
    _dump(meta, simple_dir / nats.META_FILE)
    with pytest.raises(DataError, match=r"meta\.pickle\.pbz2.*meta_archs\[1\]"):
        nats.load_nats_simple(simple_dir)


def test_corrupt_arch_file_is_named(simple_dir):
    (simple_dir / "009930.pickle.pbz2").write_bytes(b"not bz2 at all")
    with pytest.raises(DataError, match="009930.pickle.pbz2"):
        nats.load_nats_simple(simple_dir)


def test_arch_file_of_another_architecture_is_refused(simple_dir, records):
    _dump(records[0], simple_dir / "000005.pickle.pbz2")  # arch 0's data under index 5
    with pytest.raises(DataError, match=r"000005\.pickle\.pbz2.*arch 5.*arch_str"):
        nats.load_nats_simple(simple_dir)


def test_wrong_structure_and_missing_hp(simple_dir, records):
    with pytest.raises(DataError, match=r"hp '90'.*\['12', '200'\]"):
        nats.load_nats_simple(simple_dir, hp="90")
    broken = OrderedDict(records[0])
    broken["200"] = {k: v for k, v in broken["200"].items() if k != "dataset_seed"}
    _dump(broken, simple_dir / "000000.pickle.pbz2")
    with pytest.raises(DataError, match=r"000000\.pickle\.pbz2.*dataset_seed"):
        nats.load_nats_simple(simple_dir)


def test_foreign_objects_are_not_unpickled(simple_dir, records):
    evil = OrderedDict(records[0])
    evil["200"] = dict(evil["200"], extra=datetime.date(2020, 1, 1))
    _dump(evil, simple_dir / "000000.pickle.pbz2")
    with pytest.raises(DataError, match=r"000000\.pickle\.pbz2.*datetime\.date"):
        nats.load_nats_simple(simple_dir)


def test_missing_folder_and_meta(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        nats.load_nats_simple(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"meta\.pickle\.pbz2"):
        nats.load_nats_simple(tmp_path)


def test_single_file_archive(tmp_path, records):
    path = tmp_path / nats.ARCHIVE_FILE
    data = dict(_meta(), arch2infos=dict(records), evaluated_indexes=set(records))
    _dump(data, path)
    table = nats.load_archive_in(tmp_path)
    want = [_expected(records[i], "200")["ImageNet16-120/valid_acc"] for i in INDICES]
    got = table.query(_archs(INDICES), "ImageNet16-120/valid_acc")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_pth_without_torch_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    path = tmp_path / nats.NB201_PTH_FILES[0]
    path.write_bytes(b"")
    with pytest.raises(
        DataError,
        match=r"NAS-Bench-201-v1_1-096897\.pth.*needs torch: pip "
        r"install 'nasjax\[torch\]'",
    ):
        nats.load_nb201_pth(path)
    with pytest.raises(DataError, match="needs torch"):
        nats.load_nb201_pth_in(tmp_path)
