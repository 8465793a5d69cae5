"""LatBench importer on tiny pickles written in eagle's format."""

import datetime
import pickle

import jax
import numpy as np
import pytest

from nasjax.data import DataError, latbench
from nasjax.spaces.nb201 import NB201Space

DEVICE = "desktop-gpu-gtx-1080-ti-fp32"
ARCH_STRS = (
    (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    ),
    (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
        "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    ),
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
)
EAGLE_INDEX = {
    "none": 0,
    "skip_connect": 1,
    "nor_conv_1x1": 2,
    "nor_conv_3x3": 3,
    "avg_pool_3x3": 4,
}


def _eagle_vector(arch_str):
    """eagle's get_arch_vector_from_arch_str, re-derived: ops in string order."""
    nodes = [node[1:-1].split("|") for node in arch_str.split("+")]
    return tuple(EAGLE_INDEX[part.split("~")[0]] for node in nodes for part in node)


@pytest.fixture
def seconds():
    rng = np.random.default_rng(0)
    return {_eagle_vector(s): np.float64(rng.uniform(0.001, 0.05)) for s in ARCH_STRS}


def _write(tmp_path, data, name=DEVICE + ".pickle"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(data))
    return path


def test_vector_is_arch_string_order():
    assert _eagle_vector(ARCH_STRS[0]) == (3, 3, 4, 1, 3, 1)


def test_values_in_ms_by_architecture(tmp_path, seconds):
    table = latbench.load_latbench(_write(tmp_path, seconds))
    column = f"latbench/{DEVICE}_latency"
    assert table.column_names == (column,)
    space = NB201Space()
    archs = np.stack([space.from_string(s) for s in ARCH_STRS])
    want = [1000 * seconds[_eagle_vector(s)] for s in ARCH_STRS]
    np.testing.assert_allclose(np.asarray(table.query(archs, column)), want, rtol=1e-6)
    got = jax.jit(lambda t, a: t.query(a, column))(table, archs)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    assert np.isnan(float(table.query(np.asarray([4, 4, 4, 4, 4, 4]), column)))


def test_device_name_and_op_convention_are_parameters(tmp_path, seconds):
    path = _write(tmp_path, seconds)
    table = latbench.load_latbench(path, device="gpu")
    assert table.column_names == ("latbench/gpu_latency",)
    # a file whose index 2 means conv3x3 and 3 means conv1x1 reads conv ops swapped
    swapped = ("none", "skip_connect", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    table = latbench.load_latbench(path, op_names=swapped)
    vector = _eagle_vector(ARCH_STRS[0])  # (3, 3, 4, 1, 3, 1)
    value = table.query(np.asarray([2, 2, 4, 1, 2, 1]), f"latbench/{DEVICE}_latency")
    np.testing.assert_allclose(float(value), 1000 * seconds[vector], rtol=1e-6)


@pytest.mark.parametrize(
    "data, message",
    [
        ({(0, 1, 2, 3, 4): 0.01}, r"key \(0, 1, 2, 3, 4\) is not"),
        ({(0, 1, 2, 3, 4, 7): 0.01}, "is not a NAS-Bench-201 arch vector"),
        ({"|none~0|": 0.01}, "is not a NAS-Bench-201 arch vector"),
        ({(0, 1, 2, 3, 4, 0): "fast"}, "not a latency"),
        ({(0, 1, 2, 3, 4, 0): -0.01}, "not a duration"),
        ([((0, 1, 2, 3, 4, 0), [[0.01, 0.02]])], "calc_stats"),
        ({}, "non-empty dict"),
        ({(0, 1, 2, 3, 4, 0): datetime.date(2020, 1, 1)}, r"datetime\.date"),
    ],
)
def test_bad_files_name_the_file(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(DataError, match=rf"{DEVICE}\.pickle.*{message}"):
        latbench.load_latbench(path)


def test_unreadable_and_wrong_space(tmp_path, seconds):
    path = tmp_path / "broken.pickle"
    path.write_bytes(b"\x80\x04 truncated")
    with pytest.raises(DataError, match="broken.pickle"):
        latbench.load_latbench(path)
    with pytest.raises(DataError, match="NAS-Bench-201 latencies only"):
        latbench.load_latbench(_write(tmp_path, seconds), space="nb101")


def test_folder_loader_merges_devices(tmp_path, seconds):
    _write(tmp_path, seconds)
    other = {k: v * 2 for k, v in seconds.items()}
    _write(tmp_path, other, name="embeeded-tpu-edgetpu-int8.pickle")
    table = latbench.load_latbench_in(tmp_path)
    assert table.column_names == (
        f"latbench/{DEVICE}_latency",
        "latbench/embeeded-tpu-edgetpu-int8_latency",
    )
    arch = NB201Space().from_string(ARCH_STRS[1])
    np.testing.assert_allclose(
        float(table.query(arch, "latbench/embeeded-tpu-edgetpu-int8_latency")),
        2000 * seconds[_eagle_vector(ARCH_STRS[1])],
        rtol=1e-6,
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no LatBench file"):
        latbench.load_latbench_in(empty)
