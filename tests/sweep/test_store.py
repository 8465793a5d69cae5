"""Sweep runs and the store: constraints, hypervolume, the record shared with
``nasjax search``, a store written before the package split, the summary."""

import json
import pathlib
import shutil

import numpy as np
import pytest

from nasjax import sweep

SMALL = {"seeds": 3, "queries": 20}
STORE_V1 = pathlib.Path(__file__).parent / "store_v1"  # by the sweep of 2026-12-03


# ----------------------------------------------------- runs, constraint, HV
def test_constraint_respected_and_hypervolume(nb201_table):
    limit = 3.0
    column = "cifar10/edgegpu_latency"
    for name in ("rea", "nsga2"):
        config = sweep.SweepSpec(
            strategies=(name,), devices=("edgegpu",), limits=(limit,), **SMALL
        ).configs()[0]
        record, result = sweep.run_config(config, nb201_table)
        made = result.archs[result.archs[..., 0] >= 0]
        assert len(made) == 3 * 20  # every seed used its whole budget
        latency = np.asarray(nb201_table.query(made, column))
        assert np.all(latency <= limit)
        assert max(record["constraint_max"]) <= limit
        hv = record["hypervolume"]
        curves = np.array(hv["curves"])
        assert curves.shape == (3, 20)
        assert np.all(np.diff(curves, axis=1) >= -1e-6)  # HV never decreases
        assert np.all(curves[:, -1] <= hv["table_hv"] + 1e-6)
        assert all(p[1] <= limit for front in hv["fronts"] for p in front)
        assert max(p[1] for p in hv["table_front"]) <= limit
        assert record["columns"]["objectives"][0] == "cifar10-valid/valid_acc"


@pytest.fixture
def no_data_folder(monkeypatch):
    monkeypatch.delenv("NASJAX_DATA", raising=False)


@pytest.mark.usefixtures("no_data_folder")
@pytest.mark.parametrize("strategy", ["rea", "nsga2"])
def test_search_and_sweep_write_the_same_record(
    strategy, run_cli, nb201_table, tmp_path
):
    argv = ["search", "--strategy", strategy, "--device", "edgegpu", "--limit", "4"]
    argv += ["--seeds", "2", "--queries", "6", "--out", str(tmp_path), "--json"]
    code, _, err = run_cli(argv)
    assert code == 0, err
    searched = json.loads((tmp_path / "results.json").read_text())
    spec = sweep.SweepSpec(
        strategies=(strategy,), devices=("edgegpu",), limits=(4.0,), seeds=2, queries=6
    )
    record, _ = sweep.run_config(spec.configs()[0], nb201_table)
    if strategy == "rea":
        for part in ("labels", "curves", "num_queries"):
            assert searched[part] == record[part]
        assert searched["final"]["best_valid"]["mean"] == pytest.approx(
            np.mean(record["final"]["best_valid"])
        )
    else:
        assert searched["hypervolume"] == record["hypervolume"]


def test_a_store_written_before_the_split_loads_and_resumes(
    nb201_table, run_cli, tmp_path
):
    shutil.copytree(STORE_V1 / "configs", tmp_path / sweep.CONFIGS_DIR)
    spec = sweep.load_spec(STORE_V1 / "spec.json")
    files = sorted((tmp_path / sweep.CONFIGS_DIR).glob("*.json"))
    before = {path: path.read_bytes() for path in files}
    skipped = []
    statuses = sweep.run_sweep(
        spec, tmp_path, table=nb201_table, skipped=skipped.append
    )
    assert [s["status"] for s in statuses] == ["stored", "stored"]
    assert len(skipped) == 2 and all("in the store" in m for m in skipped)
    assert all(path.read_bytes() == content for path, content in before.items())
    records = sweep.load_store(tmp_path)
    assert [r["config"]["strategy"] for r in records] == ["nsga2", "rea"]
    code, printed, err = run_cli(["sweep", "--summary", "--out", str(tmp_path)])
    assert code == 0, err
    rows = [line for line in printed.splitlines() if line.startswith("| ")][2:]
    assert len(rows) == 2 and all(r.split("|")[4].strip() == "4" for r in rows)
    assert all("±" in r.split("|")[10] for r in rows)  # HV of both records


def test_summary_of_empty_store_exits_2(run_cli, tmp_path):
    code, _, err = run_cli(["sweep", "--summary", "--out", str(tmp_path)])
    assert code == 2 and "run a sweep first" in err
