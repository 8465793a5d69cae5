"""Shared fixtures: explicit keys, the spaces, the shipped table, the data folder."""

import os
import pathlib

import jax
import pytest

from nasjax import spaces

DATA = os.environ.get("NASJAX_DATA")


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture(scope="session")
def nb201_space():
    return spaces.nb201()


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
