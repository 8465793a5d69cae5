"""nasjax.io: the resumable JSON store, mean ± std, atomic figures."""

from __future__ import annotations

import json
import threading
import time

import numpy as np

from nasjax import io


def test_mean_std_skips_missing_values():
    assert io.mean_std([1.0, 3.0, None, float("nan"), float("inf")]) == "2.00 ± 1.00"
    assert io.mean_std(np.array([[1.0], [2.0]]), 3) == "1.500 ± 0.500"
    assert io.mean_std([]) == "n/a"
    assert io.mean_std([None], missing="–") == "–"


def test_store_computes_once_and_redoes_broken_files(tmp_path):
    warnings, calls = [], []
    store = io.Store(tmp_path / "runs", warn=warnings.append)

    def compute(name):
        calls.append(name)
        return {"name": name, "value": len(calls)}

    assert store.get("a", lambda: compute("a")) == {"name": "a", "value": 1}
    assert store.get("a", lambda: compute("a")) == {"name": "a", "value": 1}
    store.path("b").write_text('{"name": "b", "val')  # a run killed mid-write
    store.path("c").write_text("[]")  # not an object of results
    stored = []
    store.fill(["a", "b", "c"], compute, lambda name, how: stored.append((name, how)))
    assert calls == ["a", "b", "c"]
    assert stored == [("a", "in the store")]
    assert json.loads(store.path("b").read_text()) == {"name": "b", "value": 2}
    assert len(warnings) == 2 and "not complete JSON" in warnings[0]
    assert "not a JSON object of results" in warnings[1]
    assert io.Store(tmp_path / "runs", stored_only=True).get("d", None) is None
    assert not list((tmp_path / "runs").glob(".*.tmp"))


def test_store_skips_a_name_another_run_holds_until_it_is_free(tmp_path):
    store = io.Store(tmp_path, problem=lambda record, name: None)
    computed, stored = [], []

    def compute(name):
        computed.append(name)
        return name

    def fill():
        store.fill(["a", "b"], compute, lambda name, how: stored.append((name, how)))

    with io.locked(store.path("a")):  # another run is computing "a"
        worker = threading.Thread(target=fill)
        worker.start()
        deadline = time.monotonic() + 30
        while "b" not in computed:  # "a" is skipped, "b" runs meanwhile
            assert time.monotonic() < deadline
            time.sleep(0.01)
        store.write("a", "theirs")
    worker.join(30)
    assert computed == ["b"]
    assert stored == [("a", "run by another process on this store")]
    assert store.read("a") == "theirs" and store.read("b") == "b"


def test_read_json_says_why(tmp_path):
    assert io.read_json(tmp_path / "absent.json") == (None, None)
    (tmp_path / "x.json").write_text("[1]")
    assert io.read_json(tmp_path / "x.json") == ([1], None)
    assert io.read_json(tmp_path / "x.json", lambda v: "too short") == (
        None,
        "too short",
    )


def test_save_figure_writes_a_png_and_closes_the_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    axis.plot([0, 1], [1, 0])
    io.save_figure(figure, tmp_path / "out" / "plot.png", dpi=50, tight=False)
    assert (tmp_path / "out" / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(figure.number)
