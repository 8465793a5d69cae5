"""Shared fixtures for the whole suite (tests mirror the package: ``tests/<sub>/``).

Every test folder sees these fixtures; pytest runs with ``--import-mode=importlib``
(``setup.cfg``), so test files in different folders may share a basename, and test
files do not import each other (put shared helpers here as fixtures).

* ``key``: ``jax.random.key(0)``.
* ``nb201_space``: ``spaces.nb201()``.
* ``synthetic_table``: a random NAS-Bench-201 table (all 15,625 architectures,
  deterministic values, the real table's column names in :data:`SYNTHETIC_COLUMNS`);
  built in about a second without any file. Use it for unit tests that need a table but
  not real figures.
* ``nb201_table``: the real NAS-Bench-201 table shipped in the package (no data
  folder; a few seconds per test worker). Only for tests that check real figures.
* ``data_folder``: the real data folder (``$NASJAX_DATA``); skips without it.
* ``run_cli``: ``nasjax`` in-process, ``argv -> (exit code, stdout, stderr)``.

XLA compiles at ``--xla_backend_optimization_level=0`` without LLVM's expensive passes
under pytest (see below).

Hypothesis profiles: ``ci`` (loaded by default: 25 examples where a property asks for
100, see ``tests/cli/test_fuzz.py``) and ``thorough`` (every example), chosen with
``pytest --hypothesis-profile=thorough``.
"""

import os
import pathlib

# The suite is compile-bound (small programs run a few times each): LLVM's optimisation
# of each compiled program costs more time than it saves. Level 0 without LLVM's
# expensive passes (what ``jax_disable_most_optimizations`` sets) keeps XLA's own graph
# passes and IEEE arithmetic; set before JAX starts its backend, and inherited by the
# ``nasjax`` processes tests start. A flag already in XLA_FLAGS is kept.
for _flag in (
    "--xla_backend_optimization_level=0",
    "--xla_llvm_disable_expensive_passes=true",
):
    if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_flag}".strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from nasjax import spaces  # noqa: E402

# CI sets a relative NASJAX_DATA (../shared/data); tests that start ``nasjax`` in
# another folder (tmp_path) need it absolute.
if os.environ.get("NASJAX_DATA"):
    os.environ["NASJAX_DATA"] = os.path.abspath(os.environ["NASJAX_DATA"])
DATA = os.environ.get("NASJAX_DATA")

settings.register_profile("ci", max_examples=25)
settings.register_profile("thorough", max_examples=100)
settings.load_profile("ci")

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
SYNTHETIC_COLUMNS = (
    *(f"{d}/{m}" for d in DATASETS for m in ("params", "flops")),
    *(f"{d}/{m}" for d in DATASETS if d != "cifar10" for m in ("valid_acc",)),
    *(f"{d}/{m}" for d in DATASETS if d != "cifar10-valid" for m in ("test_acc",)),
    *(
        f"cifar10/{device}_{metric}"
        for device, metric in (
            ("edgegpu", "latency"),
            ("edgegpu", "energy"),
            ("raspi4", "latency"),
            ("pixel3", "latency"),
            ("fpga", "latency"),
            ("fpga", "energy"),
            ("eyeriss", "latency"),
            ("eyeriss", "energy"),
            ("edgetpu", "latency"),
        )
    ),
    *(f"help/{device}" for device in ("1080ti_1", "titan_rtx_256", "pixel2")),
)
"""Column names of ``synthetic_table``, as named in the real NAS-Bench-201 table."""


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture(scope="session")
def nb201_space():
    return spaces.nb201()


@pytest.fixture(scope="session")
def synthetic_table():
    """A random NAS-Bench-201 table: every architecture, deterministic columns.

    Accuracies (``*_acc``) lie in [10, 95] and rise with the number of convolutions,
    so searches have a signal; costs (latency, energy, params, FLOPs) are positive and
    rise with it too, so accuracy and cost conflict as in the real table. No NaN.
    """
    from nasjax.data.table import Table

    space = spaces.nb201()
    archs = np.asarray(space.enumerate())
    rng = np.random.default_rng(0)
    # Ops 2 and 3 are the 1x1 and 3x3 convolutions (spaces.nb201.OPS).
    size = np.sum(archs == 2, axis=1) + 2.0 * np.sum(archs == 3, axis=1)
    columns = {}
    for name in SYNTHETIC_COLUMNS:
        noise = rng.random(len(archs))
        if name.endswith("_acc"):
            columns[name] = 10.0 + 85.0 * (0.7 * size / 12.0 + 0.3 * noise)
        else:
            columns[name] = (1.0 + size) * (0.5 + noise)
    return Table.from_rows(space, archs, columns)


@pytest.fixture(scope="session")
def data_folder() -> pathlib.Path:
    """The real data folder; tests that need it are skipped without it."""
    if not DATA or not pathlib.Path(DATA).is_dir():
        pytest.skip("set NASJAX_DATA to the data folder to run this test")
    return pathlib.Path(DATA)


@pytest.fixture(scope="session")
def nb201_table():
    """The NAS-Bench-201 table shipped in the package (no data folder needed, and
    fast to load: this fixture is built once per test worker)."""
    from nasjax import data

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NASJAX_DATA", raising=False)
        return data.load_table("nb201")


@pytest.fixture
def run_cli(capsys):
    """The ``nasjax`` command in-process: ``argv -> (exit code, stdout, stderr)``."""
    from nasjax import cli

    def run(argv):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
