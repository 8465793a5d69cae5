"""FBNet: space, chain encoding, analytic costs, lookup-table and HELP loaders."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax.data import DataError
from nasjax.data import fbnet as fbnet_data
from nasjax.encodings import fbnet as enc
from nasjax.hardware import fbnet_costs
from nasjax.spaces.fbnet import MACRO, OPS, SKIP, FBNetSpace, Layer, fbnet

HELP_ROW0 = "7 8 1 8 4 8 8 8 7 4 1 4 7 3 2 7 3 2 4 2 4 5"


@pytest.fixture
def space():
    return fbnet()


@pytest.fixture
def archs():
    """16 FBNet architectures from a fixed NumPy seed."""
    return np.random.default_rng(0).integers(0, 9, (16, 22)).astype(np.int32)


def _query(table, archs, column):
    """Column values of a batch of archs (vmapped single-arch queries)."""
    return np.asarray(jax.vmap(lambda a: table.query(a, column))(jnp.asarray(archs)))


# ------------------------------------------------------------------ the space
def test_space_shape(space):
    assert space.name == "fbnet" and space.num_slots == 22
    assert space.num_choices == (9,) * 22
    assert OPS[SKIP] == "skip" and OPS[1] == "k3_e1_g2"


def test_string_round_trip(space, archs):
    for arch in archs:
        text = space.to_string(arch)
        assert len(text.split(" ")) == 22
        np.testing.assert_array_equal(space.from_string(text), arch)
    help_names = " ".join(OPS[int(i)] for i in HELP_ROW0.split())
    np.testing.assert_array_equal(
        space.from_string(help_names), [int(i) for i in HELP_ROW0.split()]
    )
    assert help_names.startswith("k5_e6 skip k3_e1_g2")
    np.testing.assert_array_equal(space.from_strings([help_names]).shape, (1, 22))


@pytest.mark.parametrize(
    "text, problem",
    [
        ("k3_e1 " * 21, "21 op names"),
        ("k3_e1 " * 21 + "conv7x7", "unknown ops ['conv7x7']"),
        ("", "0 op names"),
    ],
)
def test_malformed_strings(space, text, problem):
    with pytest.raises(ValueError) as info:
        space.from_string(text)
    assert problem in str(info.value) and "k5_e1_g2" in str(info.value)


def test_to_string_rejects_bad_arch(space):
    with pytest.raises(ValueError):
        space.to_string([9] * 22)
    with pytest.raises(ValueError):
        space.to_string([0] * 21)


def test_sample_and_mutate_valid(space, key):
    k_sample, k_mutate = jax.random.split(key)
    archs = jax.jit(lambda k: space.sample(k, 16))(k_sample)
    chex.assert_shape(archs, (16, 22))
    assert bool(jnp.all(space.is_valid(archs)))
    mutate = jax.jit(jax.vmap(space.mutate))
    children = mutate(jax.random.split(k_mutate, 16), archs)
    assert bool(jnp.all(space.is_valid(children)))
    np.testing.assert_array_equal(np.sum(np.asarray(children != archs), axis=1), 1)
    # all 9 ops are drawn somewhere
    assert len(np.unique(np.asarray(archs))) == 9


def test_space_is_hashable_and_static(space):
    assert hash(space) == hash(FBNetSpace())


# ------------------------------------------------------------ macro networks
def test_cifar100_schedule_matches_hw_nas_bench():
    net = MACRO["cifar100"]
    expected = (
        [(32, 16, 16, 1), (32, 16, 24, 1)]
        + [(32, 24, 24, 1)] * 3
        + [(32, 24, 32, 2)]
        + [(16, 32, 32, 1)] * 3
        + [(16, 32, 64, 2)]
        + [(8, 64, 64, 1)] * 3
        + [(8, 64, 112, 1)]
        + [(8, 112, 112, 1)] * 3
        + [(8, 112, 184, 2)]
        + [(4, 184, 184, 1)] * 3
        + [(4, 184, 352, 1)]
    )
    assert [tuple(la) for la in net.layers] == expected
    assert net.stem == Layer(32, 3, 16, 1)
    assert net.head == Layer(4, 352, 1504, 1)
    assert (net.pool_size, net.num_classes) == (4, 100)


def test_imagenet_schedule():
    net = MACRO["ImageNet"]
    assert net.stem == Layer(224, 3, 16, 2)
    assert net.layers[0] == Layer(112, 16, 16, 1)
    assert net.layers[1] == Layer(112, 16, 24, 2)
    assert [la.size for la in net.layers[2:5]] == [56] * 3
    assert net.head == Layer(7, 352, 1984, 1)
    assert (net.pool_size, net.num_classes) == (7, 1000)


# -------------------------------------------------------------- chain graphs
def test_chain_encoding_shapes(archs):
    archs = jnp.asarray(archs[:4])
    graphs = jax.jit(enc.batch)(archs)
    num_nodes = 25  # 24 + global
    chex.assert_shape(graphs.nodes["features"], (4 * num_nodes, 12))
    assert enc.node_feature_names()[-3:] == ("input", "output", "global")
    assert len(enc.node_feature_names()) == 12
    np.testing.assert_array_equal(graphs.n_node, [num_nodes] * 4)
    # chain: 23 edges + 24 to global + 24 from global per graph
    assert int(graphs.edges["mask"].sum()) == 4 * (23 + 48)
    one = enc.chain(archs[0], global_node=False)
    feats = np.asarray(one.nodes["features"])
    np.testing.assert_array_equal(np.argmax(feats[1:23], axis=1), np.asarray(archs[0]))
    assert feats[0, 9] == 1 and feats[23, 10] == 1
    live = np.asarray(one.edges["mask"])
    pairs = set(zip(np.asarray(one.senders)[live], np.asarray(one.receivers)[live]))
    assert pairs == {(i, i + 1) for i in range(23)}


def test_chain_prune_bypasses_skip():
    arch = jnp.array([SKIP, 0, SKIP, SKIP] + [1] * 17 + [SKIP])
    graph = enc.chain(arch, prune=True, global_node=False)
    mask = np.asarray(graph.nodes["mask"])
    np.testing.assert_array_equal(np.flatnonzero(~mask), [1, 3, 4, 22])
    live = np.asarray(graph.edges["mask"])
    pairs = set(
        zip(
            np.asarray(graph.senders)[live].tolist(),
            np.asarray(graph.receivers)[live].tolist(),
        )
    )
    assert (0, 2) in pairs and (2, 5) in pairs and (21, 23) in pairs
    assert len(pairs) == 24 - 4 - 1
    assert graph.nodes["features"].shape == (24, 10)
    assert "skip" not in enc.node_feature_names(prune=True)


# ------------------------------------------------------------- analytic costs
def test_block_flops_by_hand():
    layer = MACRO["cifar100"].layers[0]  # 32x32, 16 -> 16, stride 1
    # k3_e1: 1x1 16->16, 3x3 depthwise 16, 1x1 16->16, all at 32x32
    assert fbnet_costs.block_flops(layer, 0) == 1024 * (256 + 9 * 16 + 256)
    assert fbnet_costs.block_params(layer, 0) == 256 + 32 + 144 + 32 + 256 + 32
    # k3_e1_g2 halves the 1x1 convs
    assert fbnet_costs.block_flops(layer, 1) == 1024 * (128 + 9 * 16 + 128)
    # skip is free where it is the identity, a 1x1 conv where the stride is 2
    assert fbnet_costs.block_flops(layer, SKIP) == 0
    reduce = MACRO["cifar100"].layers[5]  # 32x32, 24 -> 32, stride 2
    assert fbnet_costs.block_flops(reduce, SKIP) == 16 * 16 * 24 * 32
    assert fbnet_costs.block_params(reduce, SKIP) == 24 * 32 + 64
    # k5_e6 at the stride-2 layer: expansion at 32x32, the rest at 16x16
    mid = 24 * 6
    assert fbnet_costs.block_flops(reduce, 7) == 1024 * 24 * mid + 256 * (
        25 * mid + mid * 32
    )


@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet"])
def test_all_skip_is_cheapest(dataset, archs):
    flops = fbnet_costs.fbnet_flops(archs, dataset)
    params = fbnet_costs.fbnet_params(archs, dataset)
    skip = jnp.full((22,), SKIP)
    assert bool(jnp.all(flops > fbnet_costs.fbnet_flops(skip, dataset)))
    assert bool(jnp.all(params > fbnet_costs.fbnet_params(skip, dataset)))
    np.testing.assert_allclose(
        fbnet_costs.fbnet_params(skip, dataset),
        fbnet_costs.fixed_params(dataset)
        + fbnet_costs.per_slot_params(dataset)[:, SKIP].sum(),
        rtol=1e-6,
    )
    assert fbnet_costs.per_slot_flops(dataset).argmax(axis=1).tolist() == [7] * 22


def test_stem_and_head_costs():
    # cifar100: stem 32*32*27*16, head 4*4*352*1504, fc 1504*100 + 100
    flops = (32 * 32 * 27 * 16 + 16 * 352 * 1504 + 1504 * 100 + 100) / 1e6
    params = (27 * 16 + 32 + 352 * 1504 + 2 * 1504 + 1504 * 100 + 100) / 1e6
    assert fbnet_costs.fixed_flops("cifar100") == pytest.approx(flops)
    assert fbnet_costs.fixed_params("cifar100") == pytest.approx(params)


def test_analytic_cost_table(archs):
    table = fbnet_data.analytic_costs()
    assert table.num_rows == 0
    assert set(table.column_names) == {
        f"{d}/{m}" for d in ("cifar100", "ImageNet") for m in ("flops", "params")
    }
    np.testing.assert_allclose(
        _query(table, archs, "ImageNet/flops"),
        fbnet_costs.fbnet_flops(archs, "ImageNet"),
        rtol=1e-6,
    )


# ------------------------------------------------------------ lookup table
def test_lut_reproduces_reference_values(data_folder):
    table = fbnet_data.load_fbnet_lut(data_folder)
    assert len(table.column_names) == 16 and table.num_rows == 0
    zeros = jnp.zeros((22,), jnp.int32)
    expect = {
        "cifar100/edgegpu_latency": 15.804523468017578,
        "cifar100/fpga_energy": 75.17664,
        "ImageNet/edgegpu_latency": 16.431164979934692,
        "ImageNet/raspi4_latency": 57.65650005702628,
    }
    for column, value in expect.items():
        np.testing.assert_allclose(table.query(zeros, column), value, rtol=1e-6)
    # [0]*21 + [1]: only the last layer's block changes, to its group-2 variant.
    lut = json.loads((data_folder / fbnet_data.LUT_FILE).read_text())
    last = "ConvBlock_H4_W4_Cin184_Cout352_exp1_kernel3_stride1_group"
    for metric in fbnet_data.METRICS:
        column = f"cifar100/{metric}"
        delta = lut[metric][last + "2"] - lut[metric][last + "1"]
        np.testing.assert_allclose(
            table.query(zeros.at[-1].set(1), column),
            float(table.query(zeros, column)) + delta,
            rtol=1e-6,
        )
    # the stride-2 layer 5 of cifar100 uses the stride2 key
    per_slot = np.asarray(table.columns["cifar100/edgegpu_latency"].per_slot)
    np.testing.assert_allclose(
        per_slot[5, SKIP],
        lut["edgegpu_latency"]["Skip_H32_W32_Cin24_Cout32_stride2"],
        rtol=1e-6,
    )


def test_lut_missing_key_names_it(data_folder):
    lut = json.loads((data_folder / fbnet_data.LUT_FILE).read_text())
    del lut["fpga_energy"]["FC_Cin1984_Cout1000"]
    fbnet_data.lut_table(lut, "cifar100")  # cifar100 does not need that key
    with pytest.raises(DataError, match="FC_Cin1984_Cout1000"):
        fbnet_data.lut_table(lut, "ImageNet")
    with pytest.raises(DataError, match="raspi4_latency"):
        fbnet_data.lut_table(
            {m: lut[m] for m in ("edgegpu_latency", "edgegpu_energy")}, "cifar100"
        )


def test_lut_file_errors(tmp_path):
    with pytest.raises(DataError, match="missing data file"):
        fbnet_data.load_fbnet_lut(tmp_path)
    (tmp_path / "raw").mkdir()
    (tmp_path / fbnet_data.LUT_FILE).write_text("{not json")
    with pytest.raises(DataError, match="as JSON"):
        fbnet_data.load_fbnet_lut(tmp_path)
    (tmp_path / fbnet_data.LUT_FILE).write_text("[1, 2]")
    with pytest.raises(DataError, match="expected a dict"):
        fbnet_data.load_fbnet_lut(tmp_path)


# ------------------------------------------------------------------- HELP
def test_help_loader(data_folder):
    table = fbnet_data.load_fbnet_help(data_folder)
    assert table.num_rows == 5000
    assert "help/titan_rtx_1" in table.columns and "help/eyeriss" in table.columns
    arch = jnp.asarray([int(i) for i in HELP_ROW0.split()])
    np.testing.assert_allclose(table.query(arch, "help/eyeriss"), 5.229984, rtol=1e-6)
    np.testing.assert_allclose(table.query(arch, "help/fpga"), 25.30272, rtol=1e-6)
    assert np.isnan(table.query(jnp.zeros(22, jnp.int32), "help/eyeriss"))
    # HELP's HW-NAS-Bench devices equal the lookup-table sums (cifar100)
    lut = fbnet_data.load_fbnet_lut(data_folder)
    archs = table.archs[:64]
    for device in ("eyeriss", "fpga", "pixel3", "raspi4"):
        np.testing.assert_allclose(
            np.asarray(table.columns[f"help/{device}"])[:64],
            _query(lut, archs, f"cifar100/{device}_latency"),
            rtol=1e-6,
        )


def test_help_loader_errors(tmp_path):
    import pandas as pd

    with pytest.raises(DataError, match=fbnet_data.HELP_FILE):
        fbnet_data.load_fbnet_help(tmp_path)
    frame = pd.DataFrame({"arch_id": np.arange(5000), "op_idx_list": ["0 1 2"] * 5000})
    frame.to_parquet(tmp_path / fbnet_data.HELP_FILE)
    with pytest.raises(DataError, match="op_idx_list"):
        fbnet_data.load_fbnet_help(tmp_path)
