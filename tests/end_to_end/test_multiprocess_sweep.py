"""``nasjax sweep`` over two processes joined by ``jax.distributed`` on localhost.

Each process is the CLI with the environment a host gets (``JAX_COORDINATOR_ADDRESS``,
``NASJAX_NUM_PROCESSES``, ``NASJAX_PROCESS_ID``), CPU devices and JAX's CPU collectives
(gloo), so the seeds of a configuration are sharded over a global mesh of two devices,
one per process. A Python audit hook in each process logs every file it opens for
writing, renames or removes under the store.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

SWEEP = ["sweep", "--strategies", "random,rea", "--datasets", "cifar100"]
SWEEP += ["--seeds", "4", "--queries", "12", "--json"]

# argv: STORE LOG nasjax-arguments...; appends one JSON line per write under STORE.
CHILD = """
import json, os, sys

store, log = os.path.realpath(sys.argv[1]), sys.argv[2]
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def note(event, path):
    with open(log, "a") as f:
        f.write(json.dumps([event, path]) + "\\n")


def hook(event, args):
    paths = ()
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1] or "", args[2] or 0
        if any(c in mode for c in "wax+") or flags & WRITE:
            paths = (args[0],)
    elif event in ("os.rename", "os.replace"):
        paths = args[:2]
    elif event in ("os.remove", "os.rmdir", "shutil.rmtree"):
        paths = args[:1]
    for path in paths:
        path = os.path.realpath(os.fsdecode(path))
        if path.startswith(store + os.sep):
            note(event, path)


sys.addaudithook(hook)
from nasjax.cli import main

code = main(sys.argv[3:])
import jax

note("devices", [jax.process_count(), len(jax.devices())])
sys.exit(code)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_pair(store: pathlib.Path, logs: pathlib.Path) -> list[subprocess.Popen]:
    address = f"127.0.0.1:{free_port()}"
    processes = []
    for index in range(2):
        env = dict(
            os.environ,
            JAX_PLATFORMS="cpu",
            JAX_COORDINATOR_ADDRESS=address,
            NASJAX_NUM_PROCESSES="2",
            NASJAX_PROCESS_ID=str(index),
        )
        env["XLA_FLAGS"] = " ".join(  # one CPU device per process
            flag
            for flag in env.get("XLA_FLAGS", "").split()
            if "force_host_platform_device_count" not in flag
        )
        command = [sys.executable, "-c", CHILD, str(store), str(logs / f"{index}")]
        processes.append(
            subprocess.Popen(
                command + SWEEP + ["--out", str(store)],
                env=env,
                cwd=store.parent,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return processes


def finish(processes, timeout=400) -> list[dict]:
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=timeout)
            assert process.returncode == 0, stderr[-2000:]
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for process in processes:
            process.kill()
    return outputs


def logged(path: pathlib.Path) -> list:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def records(store: pathlib.Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (store / "configs").glob("*.json")}


def test_two_processes_write_the_single_process_store(tmp_path):
    single = tmp_path / "single"
    done = subprocess.run(
        [sys.executable, "-m", "nasjax.cli", *SWEEP, "--out", str(single)],
        env=dict(os.environ, JAX_PLATFORMS="cpu"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = records(single)
    assert len(expected) == 2

    # A sweep killed after its first configuration was stored ...
    store, killed_logs, logs = tmp_path / "multi", tmp_path / "a", tmp_path / "b"
    killed_logs.mkdir()
    logs.mkdir()
    processes = start_pair(store, killed_logs)
    try:
        deadline = time.monotonic() + 400
        while not records(store) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), processes[0].stderr.read()
            time.sleep(0.05)
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait()
    stored = records(store)
    assert len(stored) == 1
    (first,) = stored
    assert stored[first] == expected[first]

    # ... is completed by the next run, equal to one process's store byte for byte.
    outputs = finish(start_pair(store, logs))
    for output in outputs:
        status = {pathlib.Path(c["path"]).name: c["status"] for c in output["configs"]}
        assert status == {
            name: "stored" if name == first else "ran" for name in expected
        }
    assert records(store) == expected
    assert not list((store / "configs").glob(".*.tmp"))

    # Both runs: only process 0 wrote; the resumed run saw two processes, two devices.
    for folder in (killed_logs, logs):
        assert [e for e in logged(folder / "1") if e[0] != "devices"] == []
    written = {pathlib.Path(path).name for _, path in logged(logs / "0")[:-1]}
    assert {name for name in expected if name != first} <= written
    for index in (0, 1):
        assert logged(logs / f"{index}")[-1] == ["devices", [2, 2]]


def test_bad_process_count_exits_2(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("NASJAX_NUM_PROCESSES", "two")
    monkeypatch.setenv("NASJAX_PROCESS_ID", "0")
    code, out, err = run_cli([*SWEEP, "--out", str(tmp_path / "s")])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "cannot join the other processes" in err
    assert not (tmp_path / "s" / "configs").exists() or not records(tmp_path / "s")
