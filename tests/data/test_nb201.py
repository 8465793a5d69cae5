"""The NAS-Bench-201 table built from the real data folder, and data errors."""

import json

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from nasjax import data
from nasjax.data import nb201 as nb201_data


def column_max(table, name):
    return float(np.nanmax(np.asarray(table.values(name))))


def test_rows_and_known_optima(nb201_table):
    assert nb201_table.num_rows == 15625
    for name, best in [
        ("cifar10/test_acc", 94.3733),
        ("cifar100/test_acc", 73.5133),
        ("ImageNet16-120/test_acc", 47.3111),
        ("cifar10-valid/valid_acc", 91.6067),
        ("cifar100/valid_acc", 73.4933),
        ("ImageNet16-120/valid_acc", 46.7333),
    ]:
        assert column_max(nb201_table, name) == pytest.approx(best, abs=1e-3), name


def test_hwnasbench_reference_values(nb201_table, nb201_space, data_folder):
    reference = json.loads(
        (data_folder / "hwnasbench_reference_values_idx0-2.json").read_text()
    )
    archs = nb201_space.from_benchmark_index(jnp.arange(3))
    for metric in (
        "eyeriss_latency",
        "fpga_latency",
        "pixel3_latency",
        "raspi4_latency",
        "edgegpu_latency",
        "edgetpu_latency",
        "fpga_energy",
        "eyeriss_energy",
    ):
        expected = [
            reference["nasbench201"]["cifar10"][str(i)][metric] for i in range(3)
        ]
        got = np.asarray(nb201_table.query(archs, f"cifar10/{metric}"))
        if metric.startswith(("edgegpu", "edgetpu")) or metric in (
            "fpga_energy",
            "eyeriss_energy",
        ):
            assert np.isnan(got[0])  # arch 0 is not in the partial HW-NAS-Bench export
            got, expected = got[1:], expected[1:]
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=metric)


def test_edgetpu_minus_one_becomes_nan(nb201_table, data_folder):
    frame = pd.read_parquet(data_folder / nb201_data.HWNASBENCH_FILE)
    assert np.sum(np.isnan(nb201_table.values("cifar10/edgetpu_latency"))) == (
        15625 - len(frame) + int(np.sum(frame["edgetpu_latency"] == -1))
    )


def test_disconnected_cells_sit_at_chance(nb201_table, nb201_space):
    archs = nb201_table.archs
    disconnected = ~nb201_space.is_connected(archs)
    assert int(disconnected.sum()) == 341
    np.testing.assert_allclose(
        nb201_table.values("cifar10/test_acc")[disconnected], 10.0, atol=1e-4
    )


def test_computed_params_equal_benchmark_params_where_formula_holds(nb201_table):
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        ours = np.asarray(nb201_table.values(f"{dataset}/params"), np.float64)
        theirs = np.asarray(
            nb201_table.values(f"{dataset}/benchmark_params"), np.float64
        )
        assert (
            np.sum(np.abs(ours - theirs) < 2e-6) == 15475
        )  # PROVENANCE.md: 15,475 archs
        flops = np.asarray(nb201_table.values(f"{dataset}/flops"))
        assert np.all(flops > 0) and np.corrcoef(flops, ours)[0, 1] > 0.9


def test_missing_data_folder_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("NASJAX_DATA", raising=False)
    with pytest.raises(data.DataError, match="NASJAX_DATA"):
        data.load_table("nb101")  # nasjax ships no NAS-Bench-101 table
    with pytest.raises(data.DataError, match="does not exist"):
        data.load_table("nb201", tmp_path / "nope")


def test_missing_required_column_names_the_missing_file(tmp_path):
    with pytest.raises(data.DataError, match="HW-NAS-Bench-v1_0.pickle"):
        data.load_table("nb201", tmp_path, require=["cifar100/edgegpu_latency"])


def test_corrupt_file_names_the_file(tmp_path):
    (tmp_path / nb201_data.TEST_ACC_FILE).write_bytes(b"not parquet at all")
    with pytest.raises(
        data.DataError, match=f"cannot read .*{nb201_data.TEST_ACC_FILE}"
    ):
        data.load_table("nb201", tmp_path)


def test_mismatched_order_is_refused(tmp_path, data_folder):
    frame = pd.read_parquet(data_folder / nb201_data.TEST_ACC_FILE)
    frame["arch_str"] = frame["arch_str"].iloc[::-1].to_numpy()
    frame.to_parquet(tmp_path / nb201_data.TEST_ACC_FILE)
    with pytest.raises(data.DataError, match="arch_idx order"):
        data.load_table("nb201", tmp_path)


def test_wrong_row_count_is_refused(tmp_path, data_folder):
    frame = pd.read_parquet(data_folder / nb201_data.TEST_ACC_FILE).iloc[:100]
    frame.to_parquet(tmp_path / nb201_data.TEST_ACC_FILE)
    with pytest.raises(data.DataError, match="100 rows, expected 15625"):
        data.load_table("nb201", tmp_path)


def test_search_columns():
    assert data.search_columns("nb201", "cifar10-valid") == (
        "cifar10-valid/valid_acc",
        "cifar10/test_acc",
    )
    with pytest.raises(ValueError, match="choose from"):
        data.search_columns("nb201", "mnist")


def test_non_numeric_columns_are_a_data_error(tmp_path, data_folder):
    frame = pd.read_parquet(data_folder / nb201_data.TEST_ACC_FILE)
    frame["cifar10_test"] = "n/a"
    frame.to_parquet(tmp_path / nb201_data.TEST_ACC_FILE)
    with pytest.raises(data.DataError, match="numeric"):
        data.load_table("nb201", tmp_path)
    report = data.check(tmp_path)  # check reports the error rather than raising
    status = {f["name"]: f["status"] for f in report["spaces"]["nb201"]["files"]}
    assert status[nb201_data.TEST_ACC_FILE] == "error"


def test_device_column_prefers_the_datasets_own_then_cifar10(nb201_table):
    assert (
        data.device_column(nb201_table, "cifar100", "edgegpu")
        == "cifar10/edgegpu_latency"
    )
    assert data.device_column(nb201_table, "cifar10", "gold_6226") == "help/gold_6226"
    assert (
        data.device_column(nb201_table, "cifar10", "fpga", "energy")
        == "cifar10/fpga_energy"
    )
    with pytest.raises(ValueError, match="choose from .*raspi4"):
        data.device_column(nb201_table, "cifar10", "abacus")
