"""benchmarks/accelerator.py end to end on the CPU at tiny sizes, and its projection.

The searches whose compile alone takes tens of seconds on a CPU (BRP-NAS, AG-Net) are
left out of these runs (``--only``); their schedule counts are checked against the
figures recorded for the faithful trial.
"""

import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "accelerator.py"


@pytest.fixture(scope="module")
def accelerator():
    spec = importlib.util.spec_from_file_location("accelerator", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass resolves annotations there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_measure_writes_json_and_markdown(accelerator, tmp_path):
    argv = ["--tiny", "--only", "ranking", "nsga2", "measure", "--out", str(tmp_path)]
    assert accelerator.main(argv) == 0
    record = json.loads((tmp_path / "accelerator.json").read_text())
    assert record["device"]["backend"] == "cpu"
    assert record["device"]["devices"] and record["device"]["versions"]["jax"]
    assert record["sizes"] == "tiny"
    results = record["results"]
    assert list(results) == ["ranking", "nsga2", "measure"]
    assert results["ranking"]["cells"] == 15_625
    assert results["ranking"]["median_ms"] > 0
    nsga2 = results["nsga2"]
    assert nsga2["seeds"] == accelerator.TINY.nsga2_seeds
    assert nsga2["min_queries_made"] == accelerator.TINY.nsga2_queries
    assert results["measure"]["cells"] == 1
    assert results["measure"]["setup"]["backend"] == "cpu"
    assert results["measure"]["median_latency_ms"] > 0
    markdown = (tmp_path / "accelerator.md").read_text()
    assert "| ranking | 15,625 cells |" in markdown
    assert f"| nsga2 | {accelerator.TINY.nsga2_seeds} seeds" in markdown
    assert "| measure | 1 cells" in markdown
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically


def test_projection_rows(accelerator, tmp_path):
    argv = ["--tiny", "--project", "--only", "ranking", "--out", str(tmp_path)]
    assert accelerator.main(argv) == 0
    record = json.loads((tmp_path / "projection.json").read_text())
    rows = {row["workload"]: row for row in record["projection"]}
    assert list(rows) == ["ranking", "ranking_bf16"]
    for row in rows.values():
        assert row["flops"] > 0 and row["bytes"] > 0 and row["peak_bytes"] > 0
        assert row["fits_80gb"] and row["seed_chunks"] == 1
        times = row["h100_s"]
        assert times["fp32"] >= times["tf32"] >= times["bf16"] > 0
    # The count covers every cell: at least the GCN's hidden-to-hidden matmuls,
    # 2 x cells x nodes x hidden^2 FLOPs a layer after the first.
    hidden = accelerator.TINY.brp["hidden"]
    assert rows["ranking"]["flops"] >= 2 * 15_625 * 8 * hidden**2 * 3
    assert "cpu" in record["note"]
    markdown = (tmp_path / "projection.md").read_text()
    assert markdown.startswith("XLA analysis of the programs compiled for cpu")
    assert markdown.count("\n| ranking") == 2


def test_faithful_schedule_counts(accelerator, nb201_space):
    # The faithful trial's rounds 0-3 (benchmarks/RESULTS.md): 49,350 optimizer steps,
    # at most 3.94 M GCN graph passes.
    settings = accelerator.BRPSettings(mode="faithful", fit_final=False)
    units = {
        name: count
        for name, _, _, count in accelerator.brp_units(nb201_space, settings, 4)
    }
    assert units["AdamW update"] == 49_350
    assert units["gradient of 24 graphs"] * 24 == pytest.approx(3.94e6, rel=0.01)
    assert units["ranking 15,625 cells"] == 5


def test_bad_seed_chunk_exits_2(accelerator, capsys):
    with pytest.raises(SystemExit) as exit_:
        accelerator.main(["--seed-chunk", "0", "--out", "unused"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_seed_chunks_give_the_vmapped_results(accelerator, synthetic_table):
    from nasjax import search

    strategy = search.regularized_evolution(synthetic_table.space)
    keys = accelerator.keys_of(5)
    options = dict(objective="cifar100/valid_acc")
    whole = accelerator.seeds_call(strategy, synthetic_table, keys, 30, None, **options)
    chunked = accelerator.seeds_call(strategy, synthetic_table, keys, 30, 2, **options)
    assert chunked.state is None
    for name in ("archs", "best_objective", "num_queries"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(chunked, name))
