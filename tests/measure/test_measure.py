"""On-device measurement: timings, the resumable file, isomorphic copies, devices,
the CLI, and the shipped CPU table. Nothing here checks a timing's size."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from nasjax import data, measure, networks
from nasjax.data import measured
from nasjax.spaces import fbnet, nb201

# Cheap cells (few convs) at 16x16 keep compiles short.
A = "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"
A_ISOMORPHIC = (
    "|none~0|+|skip_connect~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"  # noqa: E501
)
B = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
C = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
TINY = dict(dataset="ImageNet16-120", warmup=0, repeats=2)


def _archs(*strings):
    return nb201().from_strings(list(strings))


def test_trimmed_mean_keeps_the_middle_half():
    assert measure.trimmed_mean([1.0, 2.0, 3.0, 4.0, 100.0]) == 3.0


def test_time_network_reports_positive_timings():
    network = networks.network("nb201", _archs(B)[0], "ImageNet16-120")
    timing = measure.time_network(network, warmup=1, repeats=3, batch_size=2)
    assert timing.latency_ms > 0 and np.isfinite(timing.latency_ms)
    assert timing.cv >= 0 and timing.compile_s > 0 and timing.measure_s > 0


def test_resume_times_only_new_archs(tmp_path):
    out = tmp_path / "latency.parquet"
    first = measure.measure("nb201", _archs(A, B), out, **TINY)
    assert len(first.timed) == 2 and first.num_skipped == 0
    second = measure.measure("nb201", _archs(B, C, A), out, **TINY)
    assert list(second.timed["arch_str"]) == [C]
    assert second.num_skipped == 2

    frame = measured.read_measurements(out)
    assert list(frame["arch_str"]) == [A, B, C]
    assert list(frame["measured_as"]) == [A, B, C]
    indices = nb201().to_benchmark_index(_archs(A, B, C))
    np.testing.assert_array_equal(frame["arch_idx"], indices)
    assert frame["latency_ms"].gt(0).all() and frame["cv"].ge(0).all()
    row = frame.iloc[0]
    assert (row["space"], row["dataset"], row["batch_size"]) == (
        "nb201",
        "ImageNet16-120",
        1,
    )
    assert row["backend"] == "cpu" and row["repeats"] == 2
    assert row["jax_version"] and row["device_kind"]

    table = measured.load_measured(out)
    values = table.query(_archs(A, B, C), "ImageNet16-120/local_cpu_latency")
    np.testing.assert_allclose(values, frame["latency_ms"], rtol=1e-6)


def test_unique_times_one_member_per_class_and_max_new_resumes(tmp_path):
    out = tmp_path / "latency.parquet"
    first = measure.measure(
        "nb201", _archs(A, A_ISOMORPHIC, B), out, unique=True, max_new=1, **TINY
    )
    assert len(first.timed) == 1 and first.num_copied == 1 and first.num_left == 1
    frame = first.frame.set_index("arch_str")
    assert frame.loc[A_ISOMORPHIC, "measured_as"] == A
    assert frame.loc[A_ISOMORPHIC, "latency_ms"] == frame.loc[A, "latency_ms"]

    second = measure.measure(
        "nb201", _archs(A, A_ISOMORPHIC, B), out, unique=True, **TINY
    )
    assert list(second.timed["arch_str"]) == [B] and second.num_skipped == 2


def test_fbnet_rows_are_keyed_by_their_string(tmp_path):
    space = fbnet()
    archs = np.full((1, 22), space.ops.index("skip"))
    result = measure.measure(
        "fbnet", archs, tmp_path / "f.parquet", warmup=0, repeats=2
    )
    row = result.frame.iloc[0]
    assert row["arch_str"] == space.to_string(archs[0]) and row["arch_idx"] == -1
    assert (row["space"], row["dataset"], row["latency_ms"] > 0) == (
        "fbnet",
        "cifar100",
        True,
    )
    table = measured.load_measured(tmp_path / "f.parquet", device="here")
    assert table.column_names == ("cifar100/here_latency",)


def test_a_file_of_another_setup_is_refused(tmp_path):
    out = tmp_path / "latency.parquet"
    measure.measure("nb201", _archs(C), out, **TINY)
    with pytest.raises(ValueError, match="dataset 'ImageNet16-120', not 'cifar10'"):
        measure.measure("nb201", _archs(B), out, warmup=0, repeats=2)


def test_unknown_backend_or_device_names_what_exists():
    assert measure.resolve_device("cpu").platform == "cpu"
    assert measure.resolve_device("cpu:0").platform == "cpu"
    with pytest.raises(ValueError, match=r"unknown or unavailable backend 'npu'.*cpu"):
        measure.resolve_device("npu")
    with pytest.raises(ValueError, match=r"no device 'cpu:7'; cpu has devices 0\.\.0"):
        measure.resolve_device("cpu:7")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(repeats=1), "repeats >= 2"),
        (dict(max_new=-1), "max_new must be >= 0"),
        (dict(dataset="ImageNet"), "unknown nb201 dataset"),
        (dict(archs=np.zeros((2, 5), int)), r"archs must be \[A, 6\]"),
        (dict(archs=[[0, 1, 2, 3, 4, 5]]), "not a NAS-Bench-201 architecture"),
    ],
)
def test_bad_arguments_raise(tmp_path, kwargs, message):
    kwargs = {"archs": _archs(C), **kwargs}
    with pytest.raises(ValueError, match=message):
        measure.measure("nb201", out=tmp_path / "x.parquet", **kwargs)


def test_cli_measures_resumes_and_fails_in_one_sentence(run_cli, tmp_path):
    archs_file, out = tmp_path / "archs.txt", tmp_path / "latency.parquet"
    archs_file.write_text(f"{B}\n\n{C}\n")
    argv = ["measure", "--archs", str(archs_file), "--dataset", "ImageNet16-120"]
    argv += ["--warmup", "0", "--repeats", "2", "--out", str(out), "--json"]
    code, stdout, _ = run_cli(argv)
    assert code == 0
    report = json.loads(stdout)
    assert (report["timed"], report["rows"]) == (2, 2)
    assert report["setup"]["backend"] == "cpu" and report["median_cv"] >= 0

    code, stdout, _ = run_cli(argv)
    assert code == 0 and json.loads(stdout)["skipped"] == 2

    code, _, stderr = run_cli([*argv, "--device", "tpu:3"])
    assert code == 2 and "unknown or unavailable backend 'tpu'" in stderr
    assert len(stderr.strip().splitlines()) == 1
    archs_file.write_text("|nor_conv_5x5~0|+|none~0|none~1|\n")
    code, _, stderr = run_cli(argv)
    assert code == 2 and "not a NAS-Bench-201 arch string" in stderr
    code, _, stderr = run_cli(["measure", "--space", "fbnet", "--out", str(out)])
    assert code == 2 and "--sample N or --archs FILE" in stderr


def test_class_latencies_round_trip(tmp_path):
    out = tmp_path / "latency.parquet"
    frame = measure.measure("nb201", _archs(A, A_ISOMORPHIC), out, unique=True, **TINY)
    per_class = measured.nb201_class_latencies(frame.frame)
    assert per_class.shape == (6466,) and np.sum(~np.isnan(per_class)) == 1
    classes = measured.nb201_class_of_benchmark_index()
    index = np.asarray(nb201().to_benchmark_index(_archs(A_ISOMORPHIC)))
    assert per_class[classes[index]][0] == np.float32(frame.frame["latency_ms"][0])


def test_shipped_table_needs_no_data_folder(nb201_space):
    table = measured.shipped_latency()
    assert table.num_rows == 15625
    archs = _archs(A, A_ISOMORPHIC)
    values = np.asarray(table.query(archs, measured.SHIPPED_COLUMN))
    assert values[0] == values[1] or np.isnan(values).all()
    known = np.asarray(table.values(measured.SHIPPED_COLUMN))
    known = known[~np.isnan(known)]
    assert known.size and np.all(known > 0)
    metadata = measured.shipped_metadata()
    assert metadata["backend"] == "cpu" and metadata["classes_measured"] > 0


def test_shipped_table_is_complete_and_is_the_committed_measurement():
    raw = pathlib.Path(__file__).parents[2] / "experiments" / "measurements"
    frame = measured.read_measurements(raw / "nb201_cifar10_cpu.parquet")
    shipped = measured.shipped_class_latencies()
    assert shipped.shape == (6466,) and np.all(np.isfinite(shipped) & (shipped > 0))
    np.testing.assert_array_equal(shipped, measured.nb201_class_latencies(frame))
    assert measured.shipped_metadata()["classes_measured"] == 6466


def test_registry_exposes_the_shipped_column(nb201_table):
    assert measured.SHIPPED_COLUMN in nb201_table.columns
    column = data.device_column(nb201_table, "cifar100", "nasjax_cpu")
    assert column == measured.SHIPPED_COLUMN


def test_trimmed_mean_of_two_timings_keeps_both():
    assert measure.trimmed_mean([1.0, 3.0]) == 2.0


def test_cores_pins_a_fresh_process_to_one_single_threaded_core(tmp_path):
    core = min(os.sched_getaffinity(0))
    out, archs_file = tmp_path / "latency.parquet", tmp_path / "archs.txt"
    archs_file.write_text(f"{C}\n")
    command = [sys.executable, "-m", "nasjax.cli", "measure"]
    command += [
        "--archs",
        str(archs_file),
        "--dataset",
        "ImageNet16-120",
        "--warmup",
        "0",
        "--repeats",
        "2",
    ]
    command += ["--cores", str(core)]
    command += ["--out", str(out), "--json"]
    env = {**os.environ, "XLA_FLAGS": ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["setup"]["host_cpu"].endswith(" x1")


def test_cores_fails_in_one_sentence(run_cli, tmp_path):
    argv = ["measure", "--sample", "1", "--out", str(tmp_path / "x.parquet")]
    jax.devices()  # this process has started its backends
    for cores, message in [
        ("a", "cores takes core numbers separated by commas"),
        ("999", "cores must be some of"),
        (str(min(os.sched_getaffinity(0))), "before JAX starts its backends"),
    ]:
        code, _, stderr = run_cli([*argv, "--cores", cores])
        assert code == 2 and message in stderr
        assert len(stderr.strip().splitlines()) == 1
