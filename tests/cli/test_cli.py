"""The ``nasjax`` command: exit codes, one-line errors, outputs."""

import json

import pytest


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["search", "--strategy", "bayes"], "'random', 'rea')"),
        (["search", "--dataset", "mnist"], "invalid choice"),
        (["search", "--queries", "0"], "positive"),
        (["search", "--batch-size", "0"], "positive"),
        (["search", "--strategy", "random", "--batch-size", "-3"], "positive"),
        (["search", "--queries", "ten"], "argument --queries: must be a positive"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, expected, run_cli):
    code, _, err = run_cli(argv)
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1


def test_missing_data_exits_2(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("NASJAX_DATA", raising=False)
    code, _, err = run_cli(["data", "check", "--data", str(tmp_path / "nope")])
    assert code == 2 and "does not exist" in err.splitlines()[-1]
    argv = ["search", "--space", "nb101", "--out", str(tmp_path), "--json"]
    code, _, err = run_cli(argv)  # nasjax ships no NAS-Bench-101 table
    assert code == 2 and "NASJAX_DATA" in err.splitlines()[-1]


def test_data_check_json(run_cli, data_folder):
    code, out, _ = run_cli(["data", "check", "--json", "--data", str(data_folder)])
    assert code == 0
    nb201 = json.loads(out)["spaces"]["nb201"]
    assert nb201["rows"] == 15625
    maxima = [
        nb201["columns"][f"{d}/test_acc"]["max"]
        for d in ("cifar10", "cifar100", "ImageNet16-120")
    ]
    assert [round(m, 2) for m in maxima] == [94.37, 73.51, 47.31]
    status = {f["name"]: f["status"] for f in nb201["files"]}
    assert status["nb201_test_acc_200ep_natstss.parquet"] == "found"
    assert status["HW-NAS-Bench-v1_0.pickle"] == "missing"  # an optional download


def test_search_writes_results_and_plot(run_cli, tmp_path):
    argv = [
        "search",
        "--dataset",
        "cifar100",
        "--strategy",
        "rea",
        "--queries",
        "20",
        "--seeds",
        "3",
        "--out",
        str(tmp_path),
        "--json",
    ]
    code, out, _ = run_cli(argv)
    assert code == 0
    summary = json.loads(out)
    assert summary["config"]["seeds"] == 3
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["curves"]["test_of_best_valid"]) == 3
    assert len(results["curves"]["best_test"][0]) == 20
    assert results["num_queries"] == [20, 20, 20]
    best = summary["final"]["best_test"]["mean"]
    assert 60 < summary["final"]["test_of_best_valid"]["mean"] <= best <= 73.52
    assert (tmp_path / "curves.png").stat().st_size > 1000
