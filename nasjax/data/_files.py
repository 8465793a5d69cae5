"""Finding the data folder and reading its files with clear errors."""

from __future__ import annotations

import bz2
import os
import pathlib
import pickle
from collections.abc import Sequence

import pandas as pd

DATA_ENV = "NASJAX_DATA"
PROVENANCE_HINT = (
    "see PROVENANCE.md in the nasjax data folder (the project's shared/data) or the "
    "README's 'Data' section for where to get it"
)


class DataError(ValueError):
    """A data file is missing, unreadable or not what nasjax expects."""


def data_dir(path: str | os.PathLike | None = None) -> pathlib.Path:
    """The data folder: ``path`` if given, else ``$NASJAX_DATA``.

    Raises:
        DataError: neither is set, or the folder does not exist.
    """
    chosen = path if path is not None else os.environ.get(DATA_ENV)
    if not chosen:
        raise DataError(
            f"no data folder: pass --data DIR or set {DATA_ENV}=DIR (the folder "
            "holding "
            "nb201_test_acc_200ep_natstss.parquet and the other benchmark tables)"
        )
    folder = pathlib.Path(chosen).expanduser()
    if not folder.is_dir():
        raise DataError(f"data folder {str(folder)!r} does not exist")
    return folder


def require_file(folder: pathlib.Path, name: str, what: str) -> pathlib.Path:
    """``folder / name``, or a :class:`DataError` naming the file and what it holds."""
    path = folder / name
    if not path.is_file():
        raise DataError(f"missing data file {str(path)!r} ({what}); {PROVENANCE_HINT}")
    return path


def read_parquet(
    folder: pathlib.Path,
    name: str,
    what: str,
    columns: Sequence[str],
    num_rows: int | None,
) -> pd.DataFrame:
    """Reads a parquet table and checks its columns and row count.

    Raises:
        DataError: the file is missing, unreadable, lacks a column or has the wrong
            number of rows.
    """
    path = require_file(folder, name, what)
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise DataError(
            f"cannot read {str(path)!r} as parquet ({type(error).__name__}); expected "
            f"{what}; {PROVENANCE_HINT}"
        ) from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{str(path)!r} lacks columns {missing}; expected {what}; {PROVENANCE_HINT}"
        )
    if num_rows is not None and len(frame) != num_rows:
        raise DataError(
            f"{str(path)!r} has {len(frame)} rows, expected {num_rows} ({what}); "
            f"{PROVENANCE_HINT}"
        )
    return frame


# Globals a benchmark pickle may reference; anything else is refused.
_SAFE_GLOBALS = frozenset(
    {
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("_codecs", "encode"),  # bytes in protocol-2 pickles
        *(
            ("builtins", n)
            for n in (
                "dict",
                "list",
                "set",
                "frozenset",
                "tuple",
                "int",
                "float",
                "complex",
                "str",
                "bytes",
                "bytearray",
                "bool",
            )
        ),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        *(
            (m, n)
            for m in ("numpy.core.multiarray", "numpy._core.multiarray")
            for n in ("scalar", "_reconstruct")
        ),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(
                f"it references {module}.{name}, which nasjax does not unpickle (only "
                "builtins, OrderedDict and numpy scalars/arrays)"
            )
        return super().find_class(module, name)


def load_pickle(path: pathlib.Path, *, compressed: bool = False):
    """Unpickles ``path`` allowing only builtins, ``OrderedDict`` and numpy values.

    Args:
        path: the file.
        compressed: the file is bz2-compressed (``.pickle.pbz2``).

    Raises:
        DataError: missing, unreadable or not such a pickle (the message names it).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"missing data file {str(path)!r}")
    opener = bz2.open if compressed else open
    try:
        with opener(path, "rb") as file:
            return _RestrictedUnpickler(file).load()
    except (
        OSError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        ImportError,
        IndexError,
        KeyError,
        pickle.UnpicklingError,
    ) as error:  # what bz2 and pickle raise for corrupt or foreign files
        kind = "bz2-compressed pickle" if compressed else "pickle"
        raise DataError(
            f"cannot read {str(path)!r} as a {kind} ({type(error).__name__}: {error})"
        ) from None
