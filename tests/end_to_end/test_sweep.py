"""Sweeps end to end in subprocesses: seeds sharded over 8 forced host devices equal
an unsharded run, and a sweep killed by SIGKILL resumes (then its summary)."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nasjax import sweep

SMALL = {"seeds": 3, "queries": 20}


def _env(data_folder, **extra):
    return {**os.environ, "NASJAX_DATA": str(data_folder), **extra}


# ------------------------------------------------------- sharding (8 devices)
SHARDED = """
import json, sys
import jax, numpy as np
from nasjax import data, search, spaces, sweep
assert len(jax.devices()) == 8, jax.devices()
table = data.load_table("nb201")
spec = sweep.SweepSpec(strategies=("rea",), devices=("edgegpu",), limits=(4.0,),
                       seeds=3, queries=20)
config = spec.configs()[0]
eight, result8 = sweep.run_config(config, table)  # default mesh: all 8 devices
one, result1 = sweep.run_config(config, table, mesh=search.seed_mesh(jax.devices()[:1]))
assert json.dumps(eight) == json.dumps(one)
plan = sweep.plan(config, table)
keys = jax.random.split(jax.random.key(config.seed), config.seeds)
plain = search.run_seeds(
    search.regularized_evolution(spaces.get("nb201")), table, keys, 20,
    objective=plan.objectives[0], report=plan.report,
    constraint=plan.constraint, limit=plan.limit)
for a, b in zip(result8, plain._replace(state=None)):
    np.testing.assert_array_equal(a, np.asarray(b))
print("SHARDED-OK")
"""


def test_eight_device_sharding_equals_unsharded(data_folder):
    flags = "--xla_force_host_platform_device_count=8"
    done = subprocess.run(
        [sys.executable, "-c", SHARDED],
        env=_env(data_folder, XLA_FLAGS=flags, JAX_PLATFORMS="cpu"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "SHARDED-OK" in done.stdout, done.stderr[-3000:]


# ------------------------------------------------- store, SIGKILL, resume
@pytest.fixture
def killed_sweep(tmp_path, data_folder):
    """A 4-config sweep killed by SIGKILL after its first file, then rerun."""
    folder = tmp_path
    spec = folder / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "strategies": ["rea", "random"],
                "datasets": ["cifar10"],
                "devices": ["edgegpu"],
                "limits": [5, None],
                **SMALL,
            }
        )
    )
    out = folder / "out"
    command = [sys.executable, "-m", "nasjax.cli", "sweep", "--spec", str(spec)]
    command += ["--out", str(out), "--json"]
    env = _env(data_folder)
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    store = out / sweep.CONFIGS_DIR
    deadline = time.monotonic() + 240
    while not list(store.glob("*.json")):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no config file appeared"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = sorted(store.glob("*.json"))
    before = {p.name: p.read_bytes() for p in first}
    rerun = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return out, before, json.loads(rerun.stdout)


def test_resume_after_sigkill_then_summary(killed_sweep, run_cli):
    out, before, rerun = killed_sweep
    statuses = rerun["configs"]
    assert len(statuses) == 4 and len({s["id"] for s in statuses}) == 4
    files = sorted((out / sweep.CONFIGS_DIR).glob("*.json"))
    assert sorted(p.stem for p in files) == sorted(s["id"] for s in statuses)
    for name, content in before.items():  # not recomputed
        assert (out / sweep.CONFIGS_DIR / name).read_bytes() == content
    stored = {s["id"] for s in statuses if s["status"] == "stored"}
    assert stored == {pathlib.Path(n).stem for n in before}
    for path in files:
        record = json.loads(path.read_text())
        assert record["id"] == path.stem
        assert np.array(record["curves"]["best_valid"]).shape == (3, 20)
        assert record["num_queries"] == [20, 20, 20]

    # The summary of that store: one row per config, both plots.
    code, printed, _ = run_cli(["sweep", "--summary", "--out", str(out)])
    assert code == 0
    summary = (out / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| r")]
    assert len(rows) == 4 and all(line in printed for line in rows)
    assert {r.split("|")[1].strip() for r in rows} == {"rea", "random"}
    assert {r.split("|")[4].strip() for r in rows} == {"5", "–"}
    assert all("±" in r.split("|")[10] for r in rows)  # HV mean ± std
    for name in ("hypervolume.png", "fronts.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
