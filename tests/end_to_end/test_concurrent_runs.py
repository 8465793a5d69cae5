"""Two ``nasjax`` processes writing the same outputs at once (issue 16): each sweep
configuration runs once between them and no measured row is lost."""

import json
import os
import subprocess
import sys

from nasjax import sweep
from nasjax.data import measured

# Cheap cells (few convs) keep compiles short.
CELLS = (
    "|none~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|",
)
SWEEP_SPEC = {
    "strategies": ["rea", "random"],
    "datasets": ["cifar10", "cifar100"],
    "seeds": 2,
    "queries": 10,
}


def _run_twice(commands: list[list[str]], timeout: int) -> list[str]:
    """Runs ``python -m nasjax.cli *command`` for each command at once, on the CPU,
    with the shipped tables only; returns their outputs once both exit 0."""
    env = {k: v for k, v in os.environ.items() if k != "NASJAX_DATA"}
    env["JAX_PLATFORMS"] = "cpu"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "nasjax.cli", *command],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    return outputs


def test_two_concurrent_sweeps_run_each_configuration_once(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SWEEP_SPEC))
    command = ["sweep", "--spec", str(spec), "--out", str(tmp_path / "out"), "--json"]
    outputs = _run_twice([command, command], timeout=500)
    statuses = [s for out in outputs for s in json.loads(out)["configs"]]
    ran = sorted(s["id"] for s in statuses if s["status"] == "ran")
    assert len(ran) == 4 and len(set(ran)) == 4  # each once between the two
    files = sorted((tmp_path / "out" / sweep.CONFIGS_DIR).glob("*.json"))
    assert sorted(p.stem for p in files) == ran


def test_two_concurrent_measure_runs_lose_no_rows(tmp_path):
    out = tmp_path / "latency.parquet"
    commands = []
    for i, cells in enumerate((CELLS[:3], CELLS[3:])):
        archs = tmp_path / f"archs{i}.txt"
        archs.write_text("\n".join(cells) + "\n")
        commands.append(
            ["measure", "--archs", str(archs), "--out", str(out)]
            + ["--dataset", "ImageNet16-120", "--warmup", "0", "--repeats", "2"]
            + ["--json"]
        )
    outputs = _run_twice(commands, timeout=300)
    assert sum(json.loads(o)["timed"] for o in outputs) == 6
    frame = measured.read_measurements(out)
    assert sorted(frame["arch_str"]) == sorted(CELLS)
