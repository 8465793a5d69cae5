"""``nasjax search`` without a data folder: hardware-aware fronts and constraints."""

import csv
import json

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def no_data_folder(monkeypatch):
    monkeypatch.delenv("NASJAX_DATA", raising=False)


def test_multi_objective_search_writes_the_front(run_cli, tmp_path, nb201_table):
    argv = ["search", "--strategy", "nsga2", "--dataset", "cifar100"]
    argv += ["--device", "edgegpu", "--queries", "60", "--seeds", "3"]
    code, out, err = run_cli([*argv, "--out", str(tmp_path)])
    assert code == 0, err
    assert "front over all seeds" in out and "% of the table's exact front" in out
    results = json.loads((tmp_path / "results.json").read_text())
    columns = ["cifar100/valid_acc", "cifar10/edgegpu_latency"]
    assert results["config"]["objectives"] == columns
    front = results["front"]
    assert front and (tmp_path / "front.png").stat().st_size > 0
    # The printed front is non-dominated, and its values are the table's.
    values = np.array([[row[c] for c in columns] for row in front])
    for i, (accuracy, latency) in enumerate(values):
        others = np.delete(values, i, axis=0)
        dominated = (others[:, 0] >= accuracy) & (others[:, 1] <= latency)
        assert not np.any(dominated & np.any(others != values[i], axis=1))
    space = nb201_table.space
    archs = np.stack([space.from_string(row["arch"]) for row in front])
    np.testing.assert_allclose(
        values, np.asarray(nb201_table.query_many(archs, columns)), rtol=1e-6
    )
    summary = results["summary"]
    assert 0 < summary["front_share"] <= 1 + 1e-6
    assert summary["front_share"] >= summary["seed_share"]["mean"] - 1e-6
    with open(tmp_path / "front.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["arch"] for r in rows] == [r["arch"] for r in front]
    # --json: the same summary on stdout, no progress bar on stderr.
    code, out, err = run_cli([*argv, "--out", str(tmp_path / "j"), "--json"])
    assert code == 0 and json.loads(out)["summary"] == summary
    assert "query" not in err


def test_constrained_single_objective_search(run_cli, tmp_path, nb201_table):
    argv = ["search", "--strategy", "rea", "--dataset", "cifar100", "--queries", "40"]
    argv += ["--seeds", "3", "--constraint", "cifar10/edgegpu_latency", "--limit", "3"]
    code, out, err = run_cli([*argv, "--out", str(tmp_path), "--quiet"])
    assert code == 0, err
    assert "cifar10/edgegpu_latency within 3" in out
    results = json.loads((tmp_path / "results.json").read_text())
    space = nb201_table.space
    best = np.stack([space.from_string(a) for a in results["best_archs"]])
    latency = np.asarray(nb201_table.query(best, "cifar10/edgegpu_latency"))
    assert np.all(latency <= 3.0)


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--strategy", "nsga2"], "give --device"),
        (["--objectives", "a,b"], "for multi-objective strategies"),
        (["--strategy", "nsga2", "--objectives", "cifar100/valid_acc"], "two or more"),
        (["--constraint", "cifar10/edgegpu_latency"], "needs --limit"),
        (["--limit", "3"], "needs --constraint"),
        (["--strategy", "nsga2", "--device", "abacus"], "unknown device"),
        (["--constraint", "cifar10/nope", "--limit", "3"], "unknown column"),
        (["--device", "edgegpu", "--limit", "0.01"], "no feasible"),
    ],
)
def test_bad_search_flags_exit_2(extra, expected, run_cli, tmp_path):
    code, _, err = run_cli(["search", "--out", str(tmp_path), *extra])
    assert code == 2 and "Traceback" not in err
    (line,) = [e for e in err.splitlines() if e.startswith("nasjax")]
    assert expected in line and line == err.strip().splitlines()[-1]
