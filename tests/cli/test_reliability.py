"""Issue 16: nothing lost, nothing silently wrong. One test (or case) per failure
kind found by probing the CLI: outputs checked before work, file modes, broken store
entries, resume validation, implausible data, user files, numbers out of range, usage
messages (concurrent writers: ``tests/end_to_end/test_concurrent_runs.py``)."""

import json
import os
import pathlib
import stat

import numpy as np
import pandas as pd
import pytest

from nasjax import data, measure, sweep
from nasjax import io as _io
from nasjax.data import measured
from nasjax.spaces import nb201

TINY = dict(dataset="ImageNet16-120", warmup=0, repeats=2)
# Cheap cells (few convs) keep compiles short.
CELLS = (
    "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",
)
TEST_FILE = "nb201_test_acc_200ep_natstss.parquet"


def _one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ------------------------------------------------ outputs checked before work
def _commands(out: str) -> list[list[str]]:
    return [
        ["search", "--queries", "10", "--seeds", "2", "--out", out],
        ["predict", "--column", "cifar100/valid_acc", "--out", out],
        ["sweep", "--strategies", "rea", "--out", out],
        ["sweep", "--summary", "--out", out],
        ["measure", "--sample", "2", "--out", out + ".parquet"],
    ]


@pytest.mark.parametrize("index", range(5))
def test_an_unwritable_out_fails_before_any_work(index, run_cli, tmp_path):
    blocker = tmp_path / "FILE"
    blocker.write_text("a regular file")
    too_long = str(tmp_path / ("x" * 300))
    for out, expected in ((str(blocker / "sub"), "is a file"), (too_long, "longer")):
        code, printed, err = run_cli(_commands(out)[index])
        assert code == 2 and expected in err and _one_line(err), err
        assert "loading" not in err and not printed  # failed before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


def test_measure_out_that_is_a_folder_fails_before_timing(run_cli, tmp_path):
    code, _, err = run_cli(["measure", "--sample", "1", "--out", str(tmp_path)])
    assert code == 2 and "is a folder, not a file" in err and _one_line(err)


def test_output_problem_creates_nothing_and_accepts_new_folders(tmp_path):
    assert _io.output_problem(tmp_path / "a" / "b", folder=True) is None
    assert _io.output_problem(tmp_path / "a" / "f.parquet", folder=False) is None
    assert "not a usable path" in _io.output_problem("a\0b", folder=True)
    assert not (tmp_path / "a").exists()


# ------------------------------------------------------------ file modes
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664)])
def test_atomic_writes_get_the_umask_mode(umask, mode, tmp_path):
    old = os.umask(umask)
    try:
        _io.write_atomic(tmp_path / "results.json", b"{}")
        frame = measured.empty_measurements()
        measured.write_measurements(tmp_path / "m.parquet", frame)
    finally:
        os.umask(old)
    for name in ("results.json", "m.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet", "results.json"]


# ------------------------------------------------- JSON never holds NaN
def test_dumps_json_writes_null_for_non_finite_numbers():
    value = {"a": float("nan"), "b": [np.float32("inf"), 1.5], "c": np.array([np.nan])}
    assert _io.dumps_json(value) == '{"a": null, "b": [null, 1.5], "c": [null]}'


# ------------------------------------------------------------- sweep store
SPEC = dict(strategies=("rea", "random"), seeds=2, queries=10)


def test_broken_store_entries_are_named_and_redone(synthetic_table, tmp_path, run_cli):
    spec = sweep.SweepSpec(**SPEC)
    first = sweep.run_sweep(spec, tmp_path, table=synthetic_table)
    assert [s["status"] for s in first] == ["ran", "ran"]
    truncated = pathlib.Path(first[0]["path"])
    content = truncated.read_bytes()
    truncated.write_bytes(content[: len(content) // 2])
    configs = tmp_path / sweep.CONFIGS_DIR
    (configs / "stray.json").write_text("{}")
    (configs / "foreign.json").write_text('{"id": 3, "config": [1]}')

    # The summary names each file it cannot use and tabulates the rest.
    code, printed, err = run_cli(["sweep", "--summary", "--out", str(tmp_path)])
    assert code == 0 and "Traceback" not in err
    for name in (truncated.name, "stray.json", "foreign.json"):
        assert any(name in line and "ignored" in line for line in err.splitlines())
    assert sum(line.startswith("| rand") for line in printed.splitlines()) == 1

    # A rerun names the truncated file and redoes it; the other stays stored.
    warnings = []
    again = sweep.run_sweep(spec, tmp_path, table=synthetic_table, warn=warnings.append)
    assert [s["status"] for s in again] == ["ran", "stored"]
    assert len(warnings) == 1 and truncated.name in warnings[0]
    assert sweep.read_record(truncated, spec.configs()[0])[1] is None
    assert truncated.read_bytes() == content  # the same record, complete again


def test_record_of_another_configuration_or_non_finite_is_refused(synthetic_table):
    spec = sweep.SweepSpec(**SPEC)
    config = spec.configs()[0]
    record, _ = sweep.run_config(config, synthetic_table)
    assert sweep.record_problem(record, config) is None
    other = spec.configs()[1]
    assert "another configuration" in sweep.record_problem(record, other)
    broken = json.loads(json.dumps(record))
    broken["curves"]["best_valid"][0][3] = "NaN"
    assert "curves.best_valid" in sweep.record_problem(broken, config)
    del broken["final"]
    assert "lacks keys ['final']" in sweep.record_problem(broken, config)


# -------------------------------------------------------- measurement files
def test_resume_retimes_rows_it_cannot_trust(tmp_path):
    out = tmp_path / "latency.parquet"
    first = measure.measure("nb201", nb201().from_strings(list(CELLS[:3])), out, **TINY)
    frame = first.frame.copy()
    frame.loc[0, "latency_ms"] = np.nan
    frame.loc[1, "latency_ms"] = -1.0
    frame.loc[2, ["arch_str", "measured_as"]] = "|garbage~0|"
    measured.write_measurements(out, frame)
    archs = nb201().from_strings(list(CELLS[:3]))
    second = measure.measure("nb201", archs, out, **TINY)
    assert sorted(second.timed["arch_str"]) == sorted(CELLS[:3])  # all timed again
    stored = measured.read_measurements(out)
    assert sorted(stored["arch_str"]) == sorted(CELLS[:3])
    assert stored["latency_ms"].gt(0).all()

    measured.write_measurements(out, frame)  # each dropped row is named
    notes = []
    third = measure.measure("nb201", archs, out, note=notes.append, **TINY)
    assert third.num_invalid == 3 and len(notes) == 3
    assert any("garbage" in n for n in notes) and any("nan" in n for n in notes)


# ------------------------------------------------------------ data folder
def _data_copy(data_folder, tmp_path, change) -> pathlib.Path:
    """The data folder with ``TEST_FILE``'s accuracy columns changed."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in data_folder.iterdir():
        if path.name != TEST_FILE:
            (folder / path.name).symlink_to(path)
    frame = pd.read_parquet(data_folder / TEST_FILE)
    for column in [c for c in frame.columns if c.endswith("_test")]:
        frame[column] = change(frame[column])
    frame.to_parquet(folder / TEST_FILE)
    return folder


def _text(column):
    column = column.astype(str)
    column.iloc[3] = "n/a"
    return column


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c * np.nan, "known values"),
        (lambda c: -c, "outside [0, 100]"),
        (_text, TEST_FILE),
    ],
)
def test_implausible_data_file_is_named_and_data_check_goes_on(
    change, expected, data_folder, tmp_path, run_cli
):
    folder = _data_copy(data_folder, tmp_path, change)
    code, printed, err = run_cli(["data", "check", "--data", str(folder)])
    assert code == 0 and "Traceback" not in err
    lines = printed.splitlines()
    bad = [line for line in lines if "error]" in line and TEST_FILE in line]
    assert len(bad) == 1 and expected in bad[0]
    # The other files are still reported (from the folder or the shipped table).
    went_on = [line for line in lines if "nb201_valid_acc" in line]
    assert went_on and not any("error]" in line for line in went_on)
    with pytest.raises(data.DataError, match=TEST_FILE):
        data.load_table("nb201", folder)
    argv = ["search", "--queries", "5", "--seeds", "1", "--data", str(folder), "--json"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "s")])
    assert code == 2 and TEST_FILE in err and _one_line(err)


def test_a_text_value_in_a_latency_file_names_the_file(data_folder, tmp_path):
    name = "nb201_help_latency.parquet"
    folder = tmp_path / "data"
    folder.mkdir()
    frame = pd.read_parquet(data_folder / name)
    column = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])][0]
    frame[column] = _text(frame[column])
    frame.to_parquet(folder / name)
    report = data.check(folder)
    entry = [f for f in report["spaces"]["nb201"]["files"] if f["name"] == name]
    assert entry[0]["status"] == "error" and name in entry[0]["message"]


# ------------------------------------------------------ predict --file
def _user_file(tmp_path, nb201_space, rows, extra=()):
    archs = np.asarray(nb201_space.from_index(np.linspace(0, 15624, rows).astype(int)))
    value = 1.0 + (archs == 3).sum(1) + 0.5 * (archs == 2).sum(1)
    lines = ["arch,latency_ms"]
    lines += [f"{nb201_space.to_string(a)},{v}" for a, v in zip(archs, value)]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join([*lines, *extra]) + "\n")
    return path, [nb201_space.to_string(a) for a in archs]


def test_predict_file_averages_duplicates_and_counts_dropped_rows(
    run_cli, tmp_path, nb201_space
):
    _, strings = _user_file(tmp_path, nb201_space, 30)
    extra = [
        f"{strings[0]},100.0",  # a duplicate with another value
        f"{strings[1]},inf",
        f"{strings[2]},fast",
        f"{strings[3]},",
    ]
    path, _ = _user_file(tmp_path, nb201_space, 30, extra)
    out = tmp_path / "out"
    argv = ["predict", "--file", str(path), "--value-column", "latency_ms"]
    argv += ["--train", "12", "--epochs", "2", "--out", str(out), "--json"]
    code, printed, err = run_cli(argv)
    assert code == 0, err
    assert "dropped 3 of 34 rows" in err and "1 empty, 1 text, 1 infinite" in err
    assert "1 architectures appear on several rows" in err
    report = json.loads(printed)
    assert report["config"]["file_rows"] == {
        "dropped": {"empty": 1, "text": 1, "infinite": 1},
        "averaged": 1,
    }
    rows = (out / "predictions.csv").read_text().splitlines()[1:]
    archs = [row.split(",")[0] for row in rows]
    assert len(archs) == len(set(archs)) == 30  # one row per architecture
    first = [row for row in rows if row.startswith(strings[0] + ",")][0]
    expected = 1.0 + strings[0].count("conv_3x3") + 0.5 * strings[0].count("1x1")
    assert float(first.split(",")[1]) == pytest.approx((expected + 100.0) / 2)

    def refuse(name):
        raise ValueError(name)

    json.loads((out / "metrics.json").read_text(), parse_constant=refuse)


@pytest.mark.parametrize(
    "rows, extra, argv, expected",
    [
        (30, ["{0},-2.5"], [], "value <= 0"),
        (30, ["{0},0"], [], "a cost must be positive"),
        (0, [], [], "holds no rows"),
        (15, [], ["--train", "8"], "fewer than 10 architectures to test"),
        (30, [], ["--seed", "-5"], "argument --seed"),
        (30, [], ["--train", "10000000000"], "argument --train"),
    ],
)
def test_bad_user_files_exit_2_before_training(
    rows, extra, argv, expected, run_cli, tmp_path, nb201_space
):
    if rows:
        _, strings = _user_file(tmp_path, nb201_space, rows)
        extra = [e.format(strings[0]) for e in extra]
        path, _ = _user_file(tmp_path, nb201_space, rows, extra)
    else:
        path = tmp_path / "header.csv"
        path.write_text("arch,latency_ms\n")
    args = ["predict", "--file", str(path), "--value-column", "latency_ms"]
    code, _, err = run_cli([*args, *argv, "--out", str(tmp_path / "o")])
    assert code == 2 and expected in err and _one_line(err), err
    assert not (tmp_path / "o").exists()


def test_predict_unknown_column_lists_the_valid_columns(run_cli, data_folder, tmp_path):
    argv = ["predict", "--column", "cifar100/bogus", "--data", str(data_folder)]
    argv += ["--json"]
    code, _, err = run_cli([*argv, "--out", str(tmp_path / "o")])
    assert code == 2 and _one_line(err)
    assert "'cifar100/valid_acc'" in err and "'cifar10/edgegpu_latency'" in err


# ------------------------------------------------------ numbers and usage
@pytest.mark.parametrize(
    "argv, flag",
    [
        (["search", "--seed", "1180591620717411303424"], "--seed"),
        (["search", "--queries", "10000000000"], "--queries"),
        (["search", "--seeds", "-1"], "--seeds"),
        (["sweep", "--out", "o", "--seed", "99999999999999999999999"], "--seed"),
        (["sweep", "--out", "o", "--queries", "10000000000"], "--queries"),
        (["measure", "--out", "o.parquet", "--sample", "10000000000"], "--sample"),
        (["measure", "--out", "o.parquet", "--repeats", "1"], "--repeats"),
        (["predict", "--column", "x", "--seed", "-5"], "--seed"),
        (["predict", "--column", "x", "--epochs", "99999999999999"], "--epochs"),
    ],
)
def test_integer_flags_are_bounded_and_named(argv, flag, run_cli, tmp_path):
    code, _, err = run_cli(argv)
    assert code == 2 and f"argument {flag}: must be" in err and _one_line(err), err


def test_a_spec_file_integer_out_of_range_exits_2(run_cli, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"seed": 2**70, "queries": 10}))
    code, _, err = run_cli(["sweep", "--spec", str(spec), "--out", str(tmp_path)])
    assert code == 2 and "seed must be in [0, 4294967295]" in err and _one_line(err)


@pytest.mark.parametrize(
    "argv, commands",
    [([], ("data", "search", "sweep", "measure", "predict")), (["data"], ("check",))],
)
def test_a_command_without_its_subcommand_lists_them(argv, commands, run_cli):
    code, _, err = run_cli(argv)
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("nasjax") and all(c in last for c in commands)


def test_a_measurement_file_with_implausible_latencies_is_refused(tmp_path):
    frame = measured.empty_measurements()
    for i, (cell, latency) in enumerate(zip(CELLS[:2], (1.5, -2.0))):
        frame.loc[i] = {
            **dict.fromkeys(measured.COLUMNS, 0),
            "arch_str": cell,
            "measured_as": cell,
            "latency_ms": latency,
            **dict(space="nb201", dataset="cifar10", backend="cpu", device_kind="c"),
            **dict(host_cpu="x", jax_version="x"),
        }
    path = tmp_path / "latency.parquet"
    measured.write_measurements(path, frame.astype(measured.COLUMNS))
    with pytest.raises(data.DataError, match=r"latency.parquet.*values <= 0"):
        measured.load_measured(path)
