"""The official HW-NAS-Bench pickle importer, on small pickles written by the tests."""

import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax.data import DataError, hwnasbench
from nasjax.data import fbnet as fbnet_data
from nasjax.spaces.fbnet import OPS
from nasjax.spaces.nb201 import NUM_ARCHS, NB201Space


def _fake_lut(seed=0):
    """A lookup table in HW-NAS-Bench's format with every key both networks need."""
    rng = np.random.default_rng(seed)
    keys = set()
    for dataset in ("cifar100", "ImageNet"):
        per_slot, fixed = fbnet_data.lut_keys(dataset)
        keys.update(k for row in per_slot for k in row)
        keys.update(fixed)
    keys = sorted(keys)
    lut = {
        "devices": ["edgegpu", "raspi4", "pixel3", "eyeriss", "fpga"],
        "architecture_length": 22,
    }
    for metric in fbnet_data.METRICS:
        lut[metric] = dict(zip(keys, rng.uniform(0.1, 2.0, len(keys)).tolist()))
    return lut


def _official(nb201_values, lut):
    """The pickle's structure: HW_metrics['nasbench201'][dataset][metric][arch_idx]."""
    part = {}
    for dataset in hwnasbench.NB201_DATASETS:
        part[dataset] = {"config": [{"name": "infer.tiny"}] * NUM_ARCHS}
        for metric in hwnasbench.NB201_METRICS:
            values = [-1.0] * NUM_ARCHS
            for index, metrics in nb201_values.get(dataset, {}).items():
                values[int(index)] = metrics[metric]
            part[dataset][metric] = values
    return {"nasbench201": part, "fbnet": lut}


def _write(tmp_path, obj, name="HW-NAS-Bench-v1_0.pickle"):
    path = tmp_path / name
    with open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


def _query(table, archs, column):
    return np.asarray(jax.jit(lambda t, a: t.query(a, column))(table, archs))


def test_reference_values(tmp_path, data_folder):
    reference = json.loads(
        (data_folder / "hwnasbench_reference_values_idx0-2.json").read_text()
    )["nasbench201"]
    path = _write(tmp_path, _official(reference, _fake_lut()))
    tables = hwnasbench.load_hwnasbench_pickle(path)
    assert set(tables) == {"nb201", "fbnet"}
    table = tables["nb201"]
    assert table.num_rows == NUM_ARCHS
    space = NB201Space()
    archs = space.from_benchmark_index(jnp.arange(3))
    metrics = (*hwnasbench.NB201_METRICS, "average_hw_metric")
    assert len(reference) == 3
    got = jax.jit(
        lambda t, a: {
            f"{d}/{m}": t.query(a, f"{d}/{m}") for d in reference for m in metrics
        }
    )(table, archs)
    for dataset, by_index in reference.items():
        for metric in metrics:
            expected = [by_index[str(i)][metric] for i in range(3)]
            np.testing.assert_allclose(
                got[f"{dataset}/{metric}"],
                expected,
                rtol=1e-6,
                err_msg=f"{dataset}/{metric}",
            )
    # index 0 is |avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|...|
    arch0 = space.from_string(
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|"
        "skip_connect~1|skip_connect~2|"
    )
    np.testing.assert_allclose(
        _query(table, jnp.asarray(arch0), "cifar10/edgegpu_latency"),
        5.807418537139893,
        rtol=1e-6,
    )


def test_synthetic_pickle(tmp_path):
    rng = np.random.default_rng(1)
    values = {
        "cifar100": {
            "7": {
                m: float(v)
                for m, v in zip(hwnasbench.NB201_METRICS, rng.uniform(1, 9, 10))
            }
        }
    }
    values["cifar100"]["7"]["edgetpu_latency"] = -1.0
    lut = _fake_lut(2)
    tables = hwnasbench.load_hwnasbench_pickle(_write(tmp_path, _official(values, lut)))
    nb201 = tables["nb201"]
    archs = NB201Space().from_benchmark_index(jnp.array([7, 8]))
    got = _query(nb201, archs, "cifar100/fpga_energy")
    np.testing.assert_allclose(
        got[0], values["cifar100"]["7"]["fpga_energy"], rtol=1e-6
    )
    assert np.isnan(got[1])  # -1 filler -> NaN
    assert np.all(np.isnan(_query(nb201, archs, "cifar100/edgetpu_latency")))
    assert np.all(np.isnan(_query(nb201, archs, "cifar100/average_hw_metric")))
    assert len(nb201.column_names) == 3 * 11
    # FBNet part: the sum HW-NAS-Bench's fbnet_get_metrics computes
    fbnet = tables["fbnet"]
    arch = np.random.default_rng(3).integers(0, len(OPS), 22)
    for dataset in ("cifar100", "ImageNet"):
        per_slot, fixed = fbnet_data.lut_keys(dataset)
        table = lut["eyeriss_energy"]
        expected = sum(table[k] for k in fixed) + sum(
            table[per_slot[s][op]] for s, op in enumerate(arch)
        )
        np.testing.assert_allclose(
            fbnet.query(jnp.asarray(arch), f"{dataset}/eyeriss_energy"),
            expected,
            rtol=1e-6,
        )


def test_errors(tmp_path):
    with pytest.raises(DataError, match="missing HW-NAS-Bench pickle"):
        hwnasbench.load_hwnasbench_pickle(tmp_path / "absent.pickle")
    corrupt = tmp_path / "corrupt.pickle"
    corrupt.write_bytes(b"\x80\x04this is not a pickle")
    with pytest.raises(DataError, match="as a pickle"):
        hwnasbench.load_hwnasbench_pickle(corrupt)
    with pytest.raises(DataError, match="'nasbench201' and 'fbnet'"):
        hwnasbench.load_hwnasbench_pickle(
            _write(tmp_path, {"nasbench201": {}}, "a.pickle")
        )
    broken = _official({}, _fake_lut())
    del broken["nasbench201"]["ImageNet16-120"]["fpga_latency"]
    with pytest.raises(DataError, match="fpga_latency"):
        hwnasbench.load_hwnasbench_pickle(_write(tmp_path, broken, "b.pickle"))
    short = _official({}, _fake_lut())
    short["nasbench201"]["cifar10"]["edgegpu_energy"] = [1.0] * 10
    with pytest.raises(DataError, match="15625 values"):
        hwnasbench.load_hwnasbench_pickle(_write(tmp_path, short, "c.pickle"))
    no_key = _official({}, _fake_lut())
    del no_key["fbnet"]["pixel3_latency"]["FC_Cin1504_Cout100"]
    with pytest.raises(DataError, match="FC_Cin1504_Cout100"):
        hwnasbench.load_hwnasbench_pickle(_write(tmp_path, no_key, "d.pickle"))


def test_folder_loaders(tmp_path):
    _write(tmp_path, _official({}, _fake_lut()))
    assert hwnasbench.load_hwnasbench_nb201(tmp_path).num_rows == NUM_ARCHS
    assert "ImageNet/fpga_latency" in hwnasbench.load_hwnasbench_fbnet(tmp_path).columns
