"""The shipped tables: reproducible, equal to the folder's, replaceable by it."""

import os
import pathlib

import jax
import numpy as np
import pandas as pd
import pytest

from nasjax import data, search, spaces
from nasjax.data import embedded
from nasjax.data import nb201 as nb201_data

SHARED_DATA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def shared_data() -> pathlib.Path:
    """The project's data folder (``$NASJAX_DATA`` or ``../shared/data``)."""
    folder = pathlib.Path(os.environ.get("NASJAX_DATA") or SHARED_DATA)
    if not (folder / nb201_data.TEST_ACC_FILE).is_file():
        pytest.skip("the project's data folder (../shared/data) is not here")
    return folder


@pytest.fixture
def no_folder(monkeypatch):
    monkeypatch.delenv("NASJAX_DATA", raising=False)


def test_rebuild_from_the_data_folder_gives_the_shipped_bytes(shared_data, tmp_path):
    written = embedded.build(shared_data, tmp_path)
    assert sorted(written) == sorted(embedded.SOURCES)
    for space, path in written.items():
        shipped = embedded.resource_path(space)
        assert path.name == shipped.name
        assert path.read_bytes() == shipped.read_bytes(), f"{shipped} is stale"


def test_encoding_is_deterministic_and_round_trips(tmp_path):
    shipped = embedded.load("fbnet")
    parts = {"a.parquet": shipped.table}
    first = embedded.encode("fbnet", parts)
    assert first == embedded.encode("fbnet", parts)
    (tmp_path / "fbnet.npz").write_bytes(first)
    decoded = embedded.decode(tmp_path / "fbnet.npz")
    assert set(decoded.sources.values()) == {"a.parquet"}
    decoded_leaves = jax.tree_util.tree_leaves_with_path(decoded.table)
    shipped_leaves = jax.tree_util.tree_leaves_with_path(shipped.table)
    assert [path for path, _ in decoded_leaves] == [path for path, _ in shipped_leaves]
    for (path, ours), (_, theirs) in zip(decoded_leaves, shipped_leaves):
        np.testing.assert_array_equal(ours, theirs, err_msg=str(path))


@pytest.mark.parametrize("space", sorted(embedded.SOURCES))
def test_stored_computed_columns_equal_what_nasjax_computes(space):
    shipped = embedded.load(space)
    computed = data.COMPUTED[space]()
    stored = {n for n, s in shipped.sources.items() if s == embedded.COMPUTED_SOURCE}
    assert stored == set(computed.columns)
    archs = np.asarray(computed.archs if computed.num_rows else shipped.table.archs)
    for name in stored:
        np.testing.assert_array_equal(
            shipped.table.query(archs, name), computed.query(archs, name)
        )


def test_no_folder_loads_the_shipped_tables(no_folder):
    table = data.load_table("nb201", require=("cifar100/valid_acc",))
    assert table.num_rows == 15625
    maxima = [
        float(np.nanmax(table.values(f"{d}/test_acc")))
        for d in ("cifar10", "cifar100", "ImageNet16-120")
    ]
    assert [round(m, 2) for m in maxima] == [94.37, 73.51, 47.31]
    assert table.coverage()["cifar10/edgegpu_latency"] == 12554
    assert len([c for c in table.columns if c.startswith("help/")]) == 23
    assert "cifar10/nasjax_cpu_latency" in table.columns
    fbnet = data.load_table("fbnet")
    assert fbnet.coverage()["help/titan_rtx_1"] == 5000
    assert "cifar100/edgegpu_latency" in fbnet.columns
    with pytest.raises(data.DataError, match="NASJAX_DATA"):
        data.load_table("nb101")


def test_the_same_tables_from_the_package_and_the_folder(shared_data, no_folder):
    for space in embedded.SOURCES:
        shipped, folder = data.load_table(space), data.load_table(space, shared_data)
        assert shipped.column_names == folder.column_names
        np.testing.assert_array_equal(shipped.archs, folder.archs)
        for name in shipped.column_names:
            np.testing.assert_array_equal(
                shipped.values(name), folder.values(name), err_msg=name
            )


def test_the_same_search_from_the_package_and_the_folder(shared_data, no_folder):
    space = spaces.nb201()
    keys = jax.random.split(jax.random.key(3), 4)
    columns = ("cifar100/valid_acc", "cifar10/edgegpu_latency")
    runs = [
        (search.regularized_evolution(space), {"objective": columns[0]}),
        (search.nsga2(space), {"objective": columns}),
    ]
    tables = data.load_table("nb201"), data.load_table("nb201", shared_data)
    for strategy, options in runs:
        shipped, folder = (
            search.run_seeds(
                strategy, t, keys, 40, report="cifar100/test_acc", **options
            )
            for t in tables
        )
        for field in ("archs", "objective", "report", "best_objective_report"):
            np.testing.assert_array_equal(
                getattr(shipped, field), getattr(folder, field), err_msg=field
            )


def test_folder_files_replace_shipped_columns(tmp_path, no_folder):
    shipped = data.load_table("nb201")
    archs = nb201_data.benchmark_archs()
    frame = pd.DataFrame(
        {
            "arch_idx": np.arange(len(archs)),
            "cifar10_test": np.asarray(shipped.query(archs, "cifar10/test_acc")),
            "cifar100_test": np.asarray(shipped.query(archs, "cifar100/test_acc")) - 1,
            "imagenet16_120_test": 0.0,
        }
    )
    frame.to_parquet(tmp_path / nb201_data.TEST_ACC_FILE)
    table = data.load_table("nb201", tmp_path)
    np.testing.assert_allclose(
        table.query(archs, "cifar100/test_acc"),
        np.asarray(shipped.query(archs, "cifar100/test_acc")) - 1,
        rtol=1e-6,
    )
    assert float(np.max(table.values("ImageNet16-120/test_acc"))) == 0.0
    np.testing.assert_array_equal(  # columns of other files stay the shipped ones
        table.values("cifar100/valid_acc"), shipped.values("cifar100/valid_acc")
    )
    report = data.check(tmp_path)["spaces"]["nb201"]
    sources = {n: c["source"] for n, c in report["columns"].items()}
    assert sources["cifar100/test_acc"] == "folder"
    assert sources["cifar100/valid_acc"] == "embedded"
    assert sources["cifar100/flops"] == "computed"
    status = {f["name"]: f["status"] for f in report["files"]}
    assert status[nb201_data.TEST_ACC_FILE] == "found"
    assert status[nb201_data.VALID_ACC_FILE] == "missing"


def test_check_without_a_folder(no_folder):
    report = data.check()
    assert report["data_dir"] is None
    nb201 = report["spaces"]["nb201"]
    assert nb201["rows"] == 15625
    assert nb201["embedded"]["file"] == "nb201_v1.npz"
    assert set(nb201["embedded"]["sources"]) >= {nb201_data.TEST_ACC_FILE}
    assert {c["source"] for c in nb201["columns"].values()} == {"embedded", "computed"}
    adds = {f["name"]: f.get("adds") for f in nb201["files"]}
    assert "CIFAR-100" in adds["HW-NAS-Bench-v1_0.pickle"]
    assert report["spaces"]["nb101"]["rows"] == 0
