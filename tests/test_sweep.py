"""Sweeps: spec checks, the store (resume after SIGKILL), sharding, the summary."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from nasjax import search, sweep

SMALL = {"seeds": 3, "queries": 20}


def _env(data_folder, **extra):
    return {**os.environ, "NASJAX_DATA": str(data_folder), **extra}


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "argv, spec, expected",
    [
        (["--strategies", "rea,bayes"], None, "'npenas', 'nsga2', 'random', 'rea']"),
        (["--datasets", "mnist"], None, "choose from ['ImageNet16-120', 'cifar10'"),
        (["--limits", "5,fast", "--devices", "edgegpu"], None, "numbers or 'none'"),
        (["--limits", "5"], None, "a limit needs a device"),
        (["--seeds", "0"], None, "argument --seeds: must be a positive integer"),
        ([], "{not json", "is not JSON"),
        ([], '{"strategies": ["rea"], "budget": 3}', "valid keys: ['space'"),
        ([], '{"seeds": "ten"}', "'seeds' must be an integer"),
        ([], '{"strategies": "rea"}', "must be a list of strings"),
        ([], '{"limits": [5, true]}', "must be a list of numbers"),
        ([], "[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_spec_exits_2_with_one_line(argv, spec, expected, run_cli, tmp_path):
    if spec is not None:
        (tmp_path / "spec.json").write_text(spec)
        argv = [*argv, "--spec", str(tmp_path / "spec.json")]
    code, _, err = run_cli(["sweep", "--out", str(tmp_path), *argv])
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--devices", "toaster"], "unknown device 'toaster'"),
        (["--devices", "edgegpu", "--limits", "0.01"], "no feasible architecture"),
    ],
)
def test_bad_grid_exits_2_before_running(
    argv, expected, run_cli, tmp_path, data_folder
):
    args = ["sweep", "--out", str(tmp_path), "--data", str(data_folder), "--json"]
    code, _, err = run_cli([*args, *argv])
    assert code == 2
    assert expected in err and "choose" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / sweep.CONFIGS_DIR).exists()


def test_plan_errors_name_the_choices(nb201_table):
    def config(**changes):
        spec = sweep.SweepSpec(devices=("edgegpu",), **SMALL)
        return sweep.dataclasses.replace(spec.configs()[0], **changes)

    with pytest.raises(ValueError, match="unknown objective column 'speed'.*choose"):
        sweep.plan(config(objectives=("speed",)), nb201_table)
    with pytest.raises(ValueError, match=r"choose a limit in \["):
        sweep.plan(config(limit=0.0), nb201_table)
    with pytest.raises(ValueError, match="needs a device or two"):
        sweep.plan(config(strategy="nsga2", device=None), nb201_table)
    plan = sweep.plan(config(strategy="nsga2", limit=5.0), nb201_table)
    assert plan.objectives == ("cifar10-valid/valid_acc", "cifar10/edgegpu_latency")
    assert plan.constraint == "cifar10/edgegpu_latency" and plan.num_objectives == 2


def test_grid_and_ids_are_stable():
    spec = sweep.SweepSpec(
        strategies=("rea", "nsga2"),
        datasets=("cifar10", "cifar100"),
        devices=("edgegpu", "raspi4"),
        limits=(5, 10),
        **SMALL,
    )
    configs = spec.configs()
    assert len(configs) == 16 and len({c.id for c in configs}) == 16
    assert configs[0].label == "rea cifar10 edgegpu<=5"
    assert configs[0].id.startswith("rea-cifar10-edgegpu-le5_")
    again = sweep.SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert [c.id for c in again.configs()] == [c.id for c in configs]


# ----------------------------------------------------- runs, constraint, HV
def test_constraint_respected_and_hypervolume(nb201_table):
    limit = 3.0
    column = "cifar10/edgegpu_latency"
    for name in ("rea", "nsga2"):
        config = sweep.SweepSpec(
            strategies=(name,), devices=("edgegpu",), limits=(limit,), **SMALL
        ).configs()[0]
        record, result = sweep.run_config(config, nb201_table)
        made = result.archs[result.archs[..., 0] >= 0]
        assert len(made) == 3 * 20  # every seed used its whole budget
        latency = np.asarray(nb201_table.query(made, column))
        assert np.all(latency <= limit)
        assert max(record["constraint_max"]) <= limit
        hv = record["hypervolume"]
        curves = np.array(hv["curves"])
        assert curves.shape == (3, 20)
        assert np.all(np.diff(curves, axis=1) >= -1e-6)  # HV never decreases
        assert np.all(curves[:, -1] <= hv["table_hv"] + 1e-6)
        assert all(p[1] <= limit for front in hv["fronts"] for p in front)
        assert max(p[1] for p in hv["table_front"]) <= limit
        assert record["columns"]["objectives"][0] == "cifar10-valid/valid_acc"


# ------------------------------------------------------- sharding (8 devices)
SHARDED = """
import json, sys
import jax, numpy as np
from nasjax import data, search, sweep
assert len(jax.devices()) == 8, jax.devices()
table = data.load_table("nb201")
spec = sweep.SweepSpec(strategies=("rea",), devices=("edgegpu",), limits=(4.0,),
                       seeds=3, queries=20)
config = spec.configs()[0]
eight, result8 = sweep.run_config(config, table)  # default mesh: all 8 devices
one, result1 = sweep.run_config(config, table, mesh=sweep.seed_mesh(jax.devices()[:1]))
assert json.dumps(eight) == json.dumps(one)
plan = sweep.plan(config, table)
keys = jax.random.split(jax.random.key(config.seed), config.seeds)
plain = search.run_seeds(
    sweep._strategy("nb201", "rea", 1, None), table, keys, 20,
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


def test_summary_of_empty_store_exits_2(run_cli, tmp_path):
    code, _, err = run_cli(["sweep", "--summary", "--out", str(tmp_path)])
    assert code == 2 and "run a sweep first" in err


def test_multi_objective_names_exist():
    assert {"nsga2", "mo-rea"} <= set(search.ALL)
    assert jax.devices()  # the in-process tests run on the default device
