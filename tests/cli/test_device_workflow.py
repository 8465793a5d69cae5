"""The workflow for a user's own device: ``nasjax measure --select``, ``nasjax adapt``,
user latency files and column files, ``nasjax search --constraint FILE --verify``."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from nasjax import fewshot, spaces
from nasjax.cli import adapt as adapt_cli
from nasjax.data import user

NB201 = spaces.nb201()
FBNET = spaces.fbnet()
# Tiny timings: the smallest NAS-Bench-201 networks, no warm-up, two timed runs.
TINY = ["--dataset", "ImageNet16-120", "--warmup", "0", "--repeats", "2"]
A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"  # noqa: E501
B = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"  # noqa: E501
C = "|nor_conv_1x1~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"


@pytest.fixture(autouse=True)
def no_data_folder(monkeypatch):
    """The shipped tables only, as a new user has them."""
    monkeypatch.delenv("NASJAX_DATA", raising=False)


def _one_line(err: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("nasjax") and "Traceback" not in err


def _csv(path, strings, latencies, column="latency_ms"):
    pd.DataFrame({"arch_str": strings, column: latencies}).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ round trip
def test_select_measure_adapt_and_the_column_file(run_cli, tmp_path):
    measured, column_file = tmp_path / "my_cpu.parquet", tmp_path / "my_cpu.csv"
    code, out, err = run_cli(
        ["measure", "--select", "2", *TINY, "--out", str(measured), "--json"]
    )
    assert code == 0, err
    frame = pd.read_parquet(measured)
    nb201_table, prior, _ = adapt_cli.hardware_prior("nb201")
    pool = adapt_cli.candidates("nb201", nb201_table)
    expected = pool[np.asarray(fewshot.select(prior, NB201, pool, 2))]
    assert list(frame["arch_str"]) == [NB201.to_string(a) for a in expected]

    code, out, err = run_cli(
        ["adapt", "--measured", str(measured), "--out", str(column_file), "--json"]
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["samples"] == 2 and report["column"] == "user/my_cpu_latency"
    assert report["prior_devices"] >= 20 and set(report["seconds"]) >= {"adapt"}

    table = user.load_user_table(column_file, NB201)
    assert table.num_rows == 15625 and np.all(table.values("user/my_cpu_latency") > 0)
    # The file holds the predictor adapted to the measurements, arch by arch.
    archs = NB201.from_strings(list(frame["arch_str"]))
    adapted = fewshot.adapt(prior, NB201, archs, frame["latency_ms"].to_numpy())
    everything = np.asarray(table.archs)
    expected = np.maximum(
        np.asarray(fewshot.predict(adapted, NB201, everything)),
        adapt_cli.FLOOR_SHARE * frame["latency_ms"].min(),
    )
    np.testing.assert_allclose(
        np.asarray(table.values("user/my_cpu_latency")), expected, rtol=1e-4
    )

    # Search under a limit on the file, then a front against it, verified here.
    limit = float(np.median(expected))
    common = ["--queries", "12", "--seeds", "2", "--json", "--quiet"]
    code, out, err = run_cli(
        ["search", "--strategy", "rea", "--constraint", str(column_file)]
        + ["--limit", str(limit), *common, "--out", str(tmp_path / "rea")]
    )
    assert code == 0, err
    config = json.loads(out)["config"]
    assert config["constraint"] == "user/my_cpu_latency" and config["limit"] == limit
    best = NB201.from_strings(
        json.loads((tmp_path / "rea" / "results.json").read_text())["best_archs"]
    )
    assert np.all(np.asarray(table.query(best, "user/my_cpu_latency")) <= limit)

    code, out, err = run_cli(
        ["search", "--strategy", "mo-rea", "--device", str(column_file)]
        + ["--dataset", "ImageNet16-120", "--verify", "2"]  # the smallest networks
        + [*common, "--out", str(tmp_path / "mo-rea")]
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["config"]["objectives"] == [
        "ImageNet16-120/valid_acc",
        "user/my_cpu_latency",
    ]
    verified = result["config"]["verify"]
    front = {row["arch"]: row["user/my_cpu_latency"] for row in result["front"]}
    assert len(verified["archs"]) == min(2, len(front))
    for arch, predicted, measured in zip(
        verified["archs"], verified["predicted_ms"], verified["measured_ms"]
    ):
        assert predicted == pytest.approx(front[arch], rel=1e-5) and measured > 0
    ratio = np.median(np.divide(verified["measured_ms"], verified["predicted_ms"]))
    assert verified["median_ratio"] == pytest.approx(ratio)


def test_select_is_greedy_and_unique_picks_class_representatives():
    five = adapt_cli.select_archs("nb201", 5, show=False)
    three = adapt_cli.select_archs("nb201", 3, show=False)
    np.testing.assert_array_equal(five[:3], three)
    assert len(np.unique(five, axis=0)) == 5 and np.all(NB201.is_connected(five))
    unique = adapt_cli.select_archs("nb201", 4, unique=True, show=False)
    np.testing.assert_array_equal(np.asarray(NB201.canonical(unique)), unique)


def test_select_more_than_the_candidates_fails_in_one_sentence(run_cli, tmp_path):
    out = tmp_path / "m.parquet"
    code, _, err = run_cli(
        ["measure", "--select", "9999", "--unique", "--out", str(out)]
    )
    assert code == 2 and _one_line(err), err
    assert re.search(r"--select takes 1 to \d+ nb201 architectures, got 9999", err)
    assert not out.exists()


def test_adapt_holdout_reports_spearman(run_cli, tmp_path, nb201_table):
    archs = np.random.default_rng(0).integers(0, 5, (12, NB201.num_slots))
    latency = np.asarray(nb201_table.query(archs, "help/pixel2"))
    measured = _csv(tmp_path / "m.csv", [NB201.to_string(a) for a in archs], latency)
    argv = ["adapt", "--measured", str(measured), "--holdout", "4", "--json"]
    code, out, err = run_cli([*argv, "--out", str(tmp_path / "p.csv")])
    assert code == 0, err
    held = json.loads(out)["holdout"]
    assert held["rows"] == 4 and held["spearman"] > 0.5


# --------------------------------------------------------------- column files
def test_nb201_column_file_round_trips(tmp_path, nb201_table):
    archs = np.asarray(nb201_table.archs)
    latency = np.random.default_rng(0).uniform(0.5, 50.0, len(archs))
    path = tmp_path / "dev.csv"
    user.write_column_file(path, NB201, archs=archs, latencies=latency)
    table = user.load_user_table(path, NB201)
    np.testing.assert_allclose(
        np.asarray(table.query(archs, "user/dev_latency")), latency, rtol=1e-5
    )
    merged, column = user.resolve_column(nb201_table, str(path))
    assert column == "user/dev_latency" and merged.num_rows == nb201_table.num_rows
    assert "cifar10/test_acc" in merged.columns


def test_fbnet_cost_table_is_the_adapted_predictor(tmp_path):
    rng = np.random.default_rng(1)
    dims = fewshot.model.num_features(FBNET)
    adapted = fewshot.Adapted(
        weights=rng.normal(0.05, 0.02, dims).astype(np.float32),
        scale=np.float32(12.0),
        hyperparameters=np.ones(3, np.float32),
        log_evidence=np.float32(0.0),
        num_samples=np.int32(10),
    )
    path = tmp_path / "fpga.json"
    costs = adapt_cli.additive_costs(adapted, FBNET)
    user.write_column_file(path, FBNET, additive=costs)
    table = user.load_user_table(path, FBNET)
    archs = np.random.default_rng(2).integers(0, 9, (64, FBNET.num_slots))
    np.testing.assert_allclose(
        np.asarray(table.query(archs, "user/fpga_latency")),
        np.asarray(fewshot.predict(adapted, FBNET, archs)),
        rtol=1e-4,
    )


@pytest.mark.parametrize(
    "document, message",
    [
        ({"format": "other"}, "is not a cost table written by `nasjax adapt`"),
        ({"format": user.ADDITIVE_FORMAT, "space": "nb201"}, "of the nb201 space"),
        (
            {"format": user.ADDITIVE_FORMAT, "space": "fbnet", "per_slot": [[1.0]]},
            "lacks numeric",
        ),
        (
            {
                "format": user.ADDITIVE_FORMAT,
                "space": "fbnet",
                "offset": 1.0,
                "per_slot": [[1.0] * 9] * 21,
            },
            "per_slot has shape (21, 9)",
        ),
    ],
)
def test_bad_cost_tables_raise(tmp_path, document, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        user.load_user_table(path, FBNET)


def test_a_column_name_is_left_to_the_caller(nb201_table):
    assert user.resolve_column(nb201_table, "cifar10/fpga_latency") == (
        nb201_table,
        "cifar10/fpga_latency",
    )
    assert user.resolve_column(nb201_table, "nope")[1] == "nope"


# ------------------------------------------------------------------ bad input
def _measure_like(path, space_name):
    frame = pd.DataFrame({"arch_str": [A, B], "latency_ms": [1.0, 2.0]})
    frame["space"] = space_name
    frame.to_parquet(path)
    return path


BAD_FILES = {
    "another space": (
        lambda p: _measure_like(p / "m.parquet", "fbnet"),
        "holds measurements of the fbnet space, not nb201",
    ),
    "fbnet strings": (
        lambda p: _csv(p / "m.csv", [" ".join(["skip"] * 22)] * 2, [1.0, 2.0]),
        "row 1: 'skip skip",
    ),
    "unknown arch string": (
        lambda p: _csv(p / "m.csv", [A, "|conv~0|+|"], [1.0, 2.0]),
        "row 2: '|conv~0|+|' is not a nb201 architecture string",
    ),
    "too few rows": (lambda p: _csv(p / "m.csv", [A], [1.0]), "fewer than 2"),
    "duplicates": (
        lambda p: _csv(p / "m.csv", [A, B, A], [1.0, 2.0, 3.0]),
        "rows 1 and 3 hold the same architecture",
    ),
    "NaN": (
        lambda p: _csv(p / "m.csv", [A, B], [1.0, np.nan]),
        "row 2: latency_ms is missing",
    ),
    "zero": (
        lambda p: _csv(p / "m.csv", [A, B], [0.0, 2.0]),
        "row 1: latency_ms '0.0' is not a positive number",
    ),
    "negative": (
        lambda p: _csv(p / "m.csv", [A, B], [1.0, -2.0]),
        "row 2: latency_ms '-2.0' is not a positive number",
    ),
    "text latency": (
        lambda p: _csv(p / "m.csv", [A, B], [1.0, "fast"]),
        "row 2: latency_ms 'fast' is not a positive number",
    ),
    "no latency column": (
        lambda p: _csv(p / "m.csv", [A, B], [1.0, 2.0], column="ms"),
        "has no 'latency_ms' column (it has: arch_str, ms); name it with "
        "--value-column",
    ),
    "no arch column": (
        lambda p: (
            pd.DataFrame({"arch": [A], "latency_ms": [1.0]}).to_csv(
                p / "m.csv", index=False
            )
            or p / "m.csv"
        ),
        "has no 'arch_str' column",
    ),
    "header only": (lambda p: _csv(p / "m.csv", [], []), "holds no rows"),
    "empty file": (
        lambda p: (p / "m.csv").write_text("") and None or p / "m.csv",
        "cannot read",
    ),
    "not parquet": (
        lambda p: (
            (p / "m.parquet").write_text("arch_str,latency_ms\n") and p / "m.parquet"
        ),
        "as parquet",
    ),
    "missing file": (lambda p: p / "absent.csv", "no latency file"),
    "wrong suffix": (
        lambda p: (p / "m.txt").write_text("x") and p / "m.txt",
        "expected a .csv or .parquet file",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_adapt_refuses_bad_input_in_one_sentence_and_writes_nothing(
    case, run_cli, tmp_path
):
    make, message = BAD_FILES[case]
    measured = make(tmp_path)
    out = tmp_path / "out" / "dev.csv"
    code, stdout, err = run_cli(
        ["adapt", "--measured", str(measured), "--out", str(out)]
    )
    assert code == 2 and message in err and _one_line(err), err
    assert str(measured.name) in err or case == "too few rows"
    assert not out.exists() and not out.parent.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--out", "dev.json"], "--out for nb201 is a CSV of every architecture"),
        (["--space", "fbnet", "--out", "dev.csv"], "--out for fbnet is a JSON"),
        (["--holdout", "2", "--out", "dev.csv"], "--holdout 2 leaves 1 of 3"),
        (["--value-column", "ms", "--out", "dev.csv"], "has no 'ms' column"),
    ],
)
def test_adapt_refuses_bad_options(argv, message, run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path / "m.csv", [A, B, C], [1.0, 2.0, 3.0])
    code, _, err = run_cli(["adapt", "--measured", "m.csv", *argv])
    assert code == 2 and message in err and _one_line(err), err
    assert not (tmp_path / "dev.csv").exists() and not (tmp_path / "dev.json").exists()


def test_user_files_of_any_column_and_the_measure_format_read(tmp_path):
    path = _csv(tmp_path / "m.csv", [A, B, C], [1.0, 2.0, 3.0], column="ms")
    archs, latency = user.read_latencies(path, NB201, value_column="ms")
    np.testing.assert_array_equal(archs, NB201.from_strings([A, B, C]))
    np.testing.assert_array_equal(latency, [1.0, 2.0, 3.0])
    parquet = _measure_like(tmp_path / "m.parquet", "nb201")
    table = user.load_user_table(parquet, NB201)
    assert table.column_names == ("user/m_latency",) and table.num_rows == 2
    with pytest.raises(ValueError, match="fewer than 5"):
        user.read_latencies(path, NB201, value_column="ms", min_rows=5)


def test_a_measure_file_constrains_only_what_it_measured(tmp_path, nb201_table, capsys):
    class Args:
        space, dataset, objectives, device, limit = "nb201", "cifar10", None, None, 5.0
        constraint = str(_measure_like(tmp_path / "mine.parquet", "nb201"))

    table = adapt_cli.apply_user_files(Args, nb201_table, multi=False)
    assert Args.constraint == "user/mine_latency"
    assert int(np.sum(np.isfinite(np.asarray(table.values(Args.constraint))))) == 2
    assert "has latencies of 2 of 15625 architectures" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--constraint", "absent.csv", "--limit", "1"],
            "no latency file 'absent.csv'",
        ),
        (["--constraint", "bad.csv", "--limit", "1"], "row 2: latency_ms '-2.0'"),
        (["--verify", "2"], "--verify compares predicted with measured latency"),
        (["--strategy", "agnet-hw", "--device", "good.csv"], "with nsga2 or mo-rea"),
        (["--constraint", "good.csv", "--limit", "0.5"], "leaves no feasible"),
    ],
)
def test_search_refuses_bad_user_files_in_one_sentence(
    argv, message, run_cli, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path / "bad.csv", [A, B], [1.0, -2.0])
    _csv(tmp_path / "good.csv", [A, B], [1.0, 2.0])
    code, _, err = run_cli(["search", "--quiet", "--out", "out", *argv])
    assert code == 2 and message in err and _one_line(err), err
    assert not (tmp_path / "out").exists()
