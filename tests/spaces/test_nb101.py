"""NAS-Bench-101: space (validity, pruning, canonical form, hash, strings), encoding,
and the TFRecord importer on a small file written here in the official format."""

import base64
import functools
import json
import struct

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import encodings
from nasjax.data import DataError
from nasjax.data import nb101 as nb101_data
from nasjax.encodings import nb101 as nb101_encoding
from nasjax.spaces.nb101 import EDGES, OPS, NB101Space, nb101

CONV3, CONV1, POOL = OPS
TRANSFORMS = pytest.mark.parametrize(
    "transform", [lambda f: f, jax.jit], ids=["eager", "jit"]
)

# A row of nasbench_only108.tfrecord, as quoted in public material (NNI's NAS-Bench
# docs, tests of several NAS projects): its matrix, ops and module hash.
PUBLIC_MATRIX = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
PUBLIC_OPS = ["input", CONV3, POOL, CONV3, CONV3, CONV1, "output"]
PUBLIC_HASH = "00005c142e6f48ac74fdcf73e3439874"


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return nb101()


@pytest.fixture(scope="module")
def samples(space) -> np.ndarray:
    """16 valid cells, sampled once for the tests that only need some cells."""
    return np.asarray(jax.jit(lambda k: space.sample(k, 16))(jax.random.key(1)))


def cell(ops, edges) -> np.ndarray:
    """An encoding from inner ops (nodes 1..5) and a list of ``(source, target)``."""
    bits = [int(e in edges) for e in EDGES]
    return np.array([OPS.index(op) for op in ops] + bits, dtype=np.int32)


def relabel(arch: np.ndarray, perm) -> np.ndarray:
    """Moves inner node ``perm[k]`` (1..5) to position ``k + 1``."""
    order = [0, *perm, 6]
    ops = [OPS[arch[v - 1]] for v in order[1:-1]]
    new = {old: new for new, old in enumerate(order)}
    edges = [(new[s], new[t]) for e, (s, t) in enumerate(EDGES) if arch[5 + e]]
    assert all(s < t for s, t in edges), (
        "relabelling must keep the DAG upper-triangular"
    )
    return cell(ops, edges)


# ------------------------------------------------------------------- space
def test_public_hash(space):
    arch = space.from_spec(PUBLIC_MATRIX, PUBLIC_OPS)
    assert space.graph_hash(arch) == PUBLIC_HASH
    assert bool(space.is_valid(arch))
    assert space.graph_hash(space.canonical(arch)) == PUBLIC_HASH


def test_validity_and_pruning(space):
    chain = cell([CONV3] * 5, [(0, 1), (1, 6)])
    adjacency, node_mask = space.prune(chain)
    np.testing.assert_array_equal(node_mask, [1, 1, 0, 0, 0, 0, 1])
    assert int(adjacency.sum()) == 2 and bool(space.is_valid(chain))

    dangling = cell([CONV3] * 5, [(0, 1), (1, 6), (0, 2), (3, 6), (4, 5)])
    adjacency, node_mask = space.prune(dangling)
    np.testing.assert_array_equal(node_mask, [1, 1, 0, 0, 0, 0, 1])
    assert int(adjacency.sum()) == 2 and bool(space.is_valid(dangling))
    matrix, ops = space.to_spec(dangling, prune=True)
    np.testing.assert_array_equal(matrix, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert ops == ["input", CONV3, "output"]

    disconnected = cell([CONV3] * 5, [(0, 1), (2, 6)])
    assert not bool(space.is_valid(disconnected))
    assert not np.any(space.prune(disconnected)[1])

    ten_live = cell(
        [CONV1] * 5, [(0, v) for v in range(1, 6)] + [(v, 6) for v in range(1, 6)]
    )
    assert not bool(space.is_valid(ten_live))
    # 10 edges before pruning, 9 after: valid, as in the official ModelSpec + API.
    nine_live = [(0, v) for v in range(1, 5)] + [(v, 6) for v in range(1, 5)] + [(0, 6)]
    ten_raw = cell([CONV1] * 5, [*nine_live, (0, 5)])
    assert int(space.num_pruned_edges(ten_raw)) == 9 and bool(space.is_valid(ten_raw))

    out_of_range = chain.copy()
    out_of_range[0] = 3
    assert not bool(space.is_valid(out_of_range))
    batch = jnp.stack([chain, dangling, disconnected, ten_live, ten_raw, out_of_range])
    np.testing.assert_array_equal(jax.jit(space.is_valid)(batch), [1, 1, 0, 0, 1, 0])


def test_canonical_isomorphic_pair(space):
    # 0 -> conv3 -> conv1 -> 6 and 0 -> pool -> 6, written in two node orders, with
    # different ops and dangling edges on the pruned nodes.
    a = cell(
        [CONV3, POOL, CONV1, CONV3, CONV3],
        [(0, 1), (1, 3), (3, 6), (0, 2), (2, 6), (0, 4)],
    )
    b = cell(
        [POOL, CONV3, CONV1, POOL, CONV1],
        [(0, 1), (1, 6), (0, 2), (2, 3), (3, 6), (4, 5), (5, 6)],
    )
    other = cell(
        [CONV3, POOL, CONV3, CONV3, CONV3], [(0, 1), (1, 3), (3, 6), (0, 2), (2, 6)]
    )
    canonical = jax.jit(space.canonical)(jnp.stack([a, b, other]))
    np.testing.assert_array_equal(canonical[0], canonical[1])
    assert not np.array_equal(canonical[0], canonical[2])
    assert space.graph_hash(a) == space.graph_hash(b) != space.graph_hash(other)
    np.testing.assert_array_equal(space.is_valid(canonical), [1, 1, 1])
    np.testing.assert_array_equal(space.canonical(canonical), canonical)  # idempotent


def _random_relabel(space, arch, rng) -> np.ndarray:
    """An isomorphic spelling of ``arch``: a random upper-triangular reordering of
    its inner nodes (identity if 20 tries fail) and random ops on pruned nodes."""
    for _ in range(20):
        try:
            arch = relabel(arch, rng.permutation(np.arange(1, 6)))
            break
        except AssertionError:
            continue
    _, node_mask = space.prune(arch)
    ops = np.where(np.asarray(node_mask)[1:-1], arch[:5], rng.integers(0, 3, 5))
    return np.concatenate([ops, arch[5:]]).astype(np.int32)


def test_canonical_agrees_with_graph_hash(space, key):
    rng = np.random.default_rng(0)
    k_sample, k_mutate = jax.random.split(key)
    archs = np.asarray(space.sample(k_sample, 128))
    mutants = np.asarray(
        jax.vmap(space.mutate)(jax.random.split(k_mutate, 128), jnp.asarray(archs))
    )
    relabelled = np.stack([_random_relabel(space, arch, rng) for arch in archs])
    assert np.mean(np.any(relabelled != archs, axis=-1)) > 0.5
    everything = np.concatenate([archs, mutants, relabelled])
    everything = everything[np.asarray(space.is_valid(everything))]
    canonical = np.asarray(jax.jit(space.canonical)(everything))
    hashes = np.array([space.graph_hash(a) for a in everything])
    same_canonical = np.all(canonical[:, None] == canonical[None], axis=-1)
    same_hash = hashes[:, None] == hashes[None]
    np.testing.assert_array_equal(same_canonical, same_hash)
    assert not np.all(same_hash) and np.all(np.diag(same_hash))
    np.testing.assert_array_equal(space.canonical(relabelled), space.canonical(archs))
    assert [space.graph_hash(c) for c in canonical] == hashes.tolist()


def test_string_and_spec_round_trip(space, samples):
    archs = samples
    for arch in archs:
        text = space.to_string(arch)
        np.testing.assert_array_equal(space.from_string(text), arch)
        np.testing.assert_array_equal(space.from_spec(*space.to_spec(arch)), arch)
        pruned = space.from_spec(*space.to_spec(arch, prune=True))
        np.testing.assert_array_equal(space.canonical(pruned), space.canonical(arch))
    np.testing.assert_array_equal(
        space.from_string("010001000|input,conv1x1-bn-relu,output"),
        cell([CONV1, CONV3, CONV3, CONV3, CONV3], [(0, 1), (1, 6)]),
    )
    np.testing.assert_array_equal(
        space.from_strings([space.to_string(archs[0])]), archs[:1]
    )
    np.testing.assert_array_equal(
        space.from_string("0100|input,output"), cell([CONV3] * 5, [(0, 6)])
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "011|input,output",
        "0110|input,output",  # lower triangle
        "010001000|input,conv5x5,output",
        "010001000|conv3x3-bn-relu,conv1x1-bn-relu,output",
        "010001002|input,conv1x1-bn-relu,output",
        "010001000",
    ],
)
def test_malformed_strings_raise(space, text):
    with pytest.raises(ValueError, match="NAS-Bench-101"):
        space.from_string(text)


def test_bad_specs_raise(space):
    with pytest.raises(ValueError, match="upper triangular"):
        space.from_spec([[0, 0], [1, 0]], ["input", "output"])
    with pytest.raises(ValueError, match="2..7 nodes"):
        space.from_spec(np.zeros((8, 8)), ["input", *[CONV3] * 6, "output"])
    with pytest.raises(ValueError, match="not a NAS-Bench-101 architecture"):
        space.to_string([5] * 26)
    with pytest.raises(ValueError, match="no input-output path"):
        space.graph_hash(cell([CONV3] * 5, []))


@TRANSFORMS
def test_sample_and_mutate(transform, space, key):
    k_sample, k_mutate = jax.random.split(key)
    archs = transform(lambda k: space.sample(k, 16))(k_sample)
    chex.assert_shape(archs, (16, 26))
    assert archs.dtype == jnp.int32 and bool(jnp.all(space.is_valid(archs)))
    assert len(np.unique(np.asarray(archs), axis=0)) > 12

    children = transform(jax.vmap(space.mutate))(jax.random.split(k_mutate, 16), archs)
    assert bool(jnp.all(space.is_valid(children)))
    np.testing.assert_array_equal(jnp.sum(children != archs, axis=-1), 1)


def test_neighbours_and_crossover(space, samples, key):
    archs = jnp.asarray(samples)
    neighbours, valid = jax.jit(jax.vmap(space.neighbours))(archs)
    chex.assert_shape(neighbours, (16, space.num_neighbours, 26))
    assert space.num_neighbours == 31
    np.testing.assert_array_equal(valid, space.is_valid(neighbours))
    np.testing.assert_array_equal(jnp.sum(neighbours != archs[:, None], axis=-1), 1)

    parents_b = jnp.roll(archs, 1, axis=0)
    kids = jax.jit(jax.vmap(space.crossover))(
        jax.random.split(key, 16), archs, parents_b
    )
    assert bool(jnp.all(space.is_valid(kids)))
    assert bool(jnp.all((kids == archs) | (kids == parents_b)))


def test_mutation_stays_valid_over_many_keys(space, key):
    arch = jnp.asarray(space.from_spec(PUBLIC_MATRIX, PUBLIC_OPS))

    def step(arch, key):
        child = space.mutate(key, arch)
        return child, space.is_valid(child)

    _, valid = jax.jit(lambda k: jax.lax.scan(step, arch, jax.random.split(k, 300)))(
        key
    )
    assert bool(jnp.all(valid))


# ---------------------------------------------------------------- encoding
def test_encoding_shapes_and_masks(samples):
    arch = cell(
        [CONV3, POOL, CONV1, CONV3, CONV3],
        [(0, 1), (1, 3), (3, 6), (0, 2), (2, 6), (0, 4)],
    )
    graph = jax.jit(nb101_encoding.dag)(arch)
    chex.assert_shape(graph.nodes["features"], (8, 6))
    chex.assert_shape(graph.edges["mask"], (21 + 14,))
    assert nb101_encoding.node_feature_names() == (*OPS, "input", "output", "global")
    np.testing.assert_array_equal(graph.nodes["mask"], [1, 1, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(
        graph.nodes["features"][:7].argmax(-1) * graph.nodes["mask"][:7],
        [3, 0, 2, 1, 0, 0, 4],
    )
    assert int(graph.edges["mask"][:21].sum()) == 5  # the pruned (0, 4) is masked
    plain = jax.jit(functools.partial(nb101_encoding.dag, global_node=False))(arch)
    chex.assert_shape(plain.nodes["features"], (7, 5))

    graphs = jax.jit(nb101_encoding.batch)(samples[:4])
    chex.assert_shape(graphs.nodes["features"], (4 * 8, 6))
    chex.assert_shape(graphs.senders, (4 * 35,))
    np.testing.assert_array_equal(graphs.n_node, [8] * 4)


def test_padded_entries_do_not_reach_live_nodes(space, key):
    arch = cell(
        [CONV3, POOL, CONV1, CONV3, CONV3],
        [(0, 1), (1, 3), (3, 6), (0, 2), (2, 6), (0, 4), (4, 5)],
    )
    # The same cell with other ops and edges on its pruned nodes 4 and 5.
    noisy = cell(
        [CONV3, POOL, CONV1, POOL, CONV1],
        [(0, 1), (1, 3), (3, 6), (0, 2), (2, 6), (5, 6)],
    )
    both = jax.jit(jax.vmap(nb101_encoding.dag))(jnp.stack([arch, noisy]))
    graph, other = (jax.tree.map(lambda x, i=i: x[i], both) for i in (0, 1))
    live = np.asarray(graph.nodes["mask"])
    assert not live[4] and not live[5]
    np.testing.assert_array_equal(other.nodes["mask"], live)
    np.testing.assert_array_equal(other.edges["mask"], graph.edges["mask"])
    values = jax.random.normal(key, (8, 3))
    base = encodings.aggregate(graph, values)
    edited = values.at[~live].set(100.0)  # garbage on the padded node rows
    for g in (graph, other):
        for reverse in (False, True):
            out = encodings.aggregate(g, edited, reverse=reverse)
            ref = encodings.aggregate(graph, values, reverse=reverse)
            chex.assert_trees_all_close(out[live], ref[live])
    chex.assert_trees_all_close(base[~live], jnp.zeros((2, 3)))
    feats = graph.nodes["features"].at[~live].set(7.0)
    chex.assert_trees_all_close(
        encodings.aggregate(graph, feats)[live],
        encodings.aggregate(graph, graph.nodes["features"])[live],
    )


# ---------------------------------------------------------------- importer
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _double(number: int, value: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", value)


def _message(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _metrics(params: int, time_s: float, valid: float, test: float) -> str:
    evaluations = b""
    for fraction in (0.0, 0.5, 1.0):
        evaluation = (
            _double(1, 108 * fraction)
            + _double(2, time_s * fraction)
            + _double(3, 0.9 * fraction)
            + _double(4, valid * fraction)
            + _double(5, test * fraction)
            + _message(6, b"/tmp/model.ckpt")
        )
        evaluations += _message(1, evaluation)
    raw = evaluations + _varint(2 << 3) + _varint(params) + _double(3, 2 * time_s)
    return base64.b64encode(raw).decode()


def _record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", nb101_data.masked_crc32c(length))
        + data
        + struct.pack("<I", nb101_data.masked_crc32c(data))
    )


def _row(space, arch, epochs, metrics) -> bytes:
    matrix, ops = space.to_spec(arch, prune=True)  # the file stores pruned cells
    row = [
        space.graph_hash(arch),
        epochs,
        "".join(map(str, matrix.reshape(-1))),
        ",".join(ops),
        metrics,
    ]
    return _record(json.dumps(row).encode())


@pytest.fixture(scope="module")
def tfrecord(tmp_path_factory, space):
    a = cell(
        [CONV3, POOL, CONV1, CONV3, CONV3], [(0, 1), (1, 3), (3, 6), (0, 2), (2, 6)]
    )
    b = space.from_spec(PUBLIC_MATRIX, PUBLIC_OPS)
    rows = [
        _row(space, a, 108, _metrics(1_234_567, 100.0, 0.90, 0.89)),
        _row(space, b, 108, _metrics(8_555_530, 1700.0, 0.93, 0.92)),
        _row(space, a, 36, _metrics(1_234_567, 30.0, 0.50, 0.40)),
        _row(space, a, 108, _metrics(1_234_567, 110.0, 0.92, 0.90)),
        _row(space, a, 108, _metrics(1_234_567, 120.0, 0.91, 0.94)),
    ]
    path = tmp_path_factory.mktemp("nb101") / "nasbench_only108.tfrecord"
    path.write_bytes(b"".join(rows))
    return path, a, b


def test_crc32c_check_value():
    assert nb101_data.crc32c(b"123456789") == 0xE3069283


def test_tfrecord_importer(tfrecord, space):
    path, _, b = tfrecord
    table = nb101_data.load_nb101_tfrecord(path)
    assert table.num_rows == 2 and table.canonical_keys
    assert set(table.column_names) == set(nb101_data.COLUMNS)
    # An isomorphic, non-canonical spelling of a: other node order, junk pruned node.
    query = cell(
        [POOL, CONV3, CONV1, CONV1, POOL],
        [(0, 1), (1, 6), (0, 2), (2, 3), (3, 6), (4, 5)],
    )
    assert not np.array_equal(space.canonical(query), query)
    archs = jnp.stack([query, b, cell([CONV3] * 5, [(0, 6)])])
    got = jax.jit(lambda t, x: t.query_many(x, nb101_data.COLUMNS))(table, archs)
    expected = [
        [91.0, 91.0, 110.0, 1.234567],
        [93.0, 92.0, 1700.0, 8.55553],
        [np.nan] * 4,
    ]
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5)

    table36 = nb101_data.load_nb101_tfrecord(path, epochs=36, check_all_crcs=True)
    np.testing.assert_allclose(
        table36.query(query, "cifar10/valid_acc"), 50.0, rtol=1e-6
    )
    with pytest.raises(DataError, match="no record with 12 epochs"):
        nb101_data.load_nb101_tfrecord(path, epochs=12)


@pytest.mark.parametrize("damage", ["length", "data", "truncate", "garbage", "json"])
def test_corrupt_tfrecord_raises(tfrecord, tmp_path, damage):
    data = bytearray(tfrecord[0].read_bytes())
    if damage == "length":
        data[0] ^= 0xFF
    elif damage == "data":
        data[20] ^= 0x01
    elif damage == "truncate":
        data = data[:-7]
    elif damage == "garbage":
        data = bytearray(b"PAR1 this is not a tfrecord at all" * 10)
    else:
        data = bytearray(_record(b'["abc", 108, "01", "input"]'))
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="nasbench_only108.tfrecord") as info:
        nb101_data.load_nb101_tfrecord(path)
    assert "github.com/google-research/nasbench" in str(info.value)
    with pytest.raises(DataError, match="missing"):
        nb101_data.load_nb101(tmp_path / "elsewhere")
