"""The benchmark tables shipped inside the package, so nasjax works with no data folder.

``nasjax/resources/{space}_v{VERSION}.npz`` holds, for NAS-Bench-201 and FBNet, the
columns a search needs, read from the project's data folder by nasjax's own loaders
(:data:`SOURCES` lists the files) and stored as float32, the precision of a
:class:`~nasjax.data.table.Table`, so a table built from them equals one built from the
folder. ``nasjax/resources/NOTICE.md`` names each source, its commit and its license.
The columns nasjax computes itself (:data:`~nasjax.data.registry.COMPUTED`: params,
FLOPs, the shipped CPU latency) are stored beside them (source :data:`COMPUTED_SOURCE`)
so that loading needs no computation; a test checks that they equal what the code
computes.

The container is a zip readable by ``numpy.load`` (one ``.npy`` member per array) but
written deterministically (sorted members, a fixed date, a fixed compression level), so
:func:`build` rebuilds the shipped files byte for byte from the same data folder
(``python scripts/build_embedded.py``). Members:

* ``index.json``: ``{"version", "space", "columns": {name: source file}, "additive":
  {name: source file}}``;
* ``archs.npy``: ``[A, S]`` int8 rows (sorted and distinct, as :class:`Table` keeps
  them);
* ``rows/{name}.npy``: ``[A]`` float32 row columns (NaN: no value);
* ``additive/{name}/per_slot.npy`` ``[S, K]`` and ``.../offset.npy`` ``[]``: float32
  additive columns (FBNet's block lookup table).
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import json
import os
import pathlib
import zipfile
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from nasjax import spaces
from nasjax.data import fbnet, nb201
from nasjax.data._files import DataError
from nasjax.data.table import DENSE_INDEX_LIMIT, AdditiveColumn, Table

VERSION = 1
# The data-folder files each space's embedded file is built from, with their loaders.
SOURCES = {
    "nb201": {
        nb201.TEST_ACC_FILE: nb201.load_test_accuracy,
        nb201.VALID_ACC_FILE: nb201.load_valid_accuracy,
        nb201.LOW_FIDELITY_FILE: nb201.load_low_fidelity,
        nb201.HELP_FILE: nb201.load_help_latency,
        nb201.HWNASBENCH_FILE: nb201.load_hwnasbench_partial,
    },
    "fbnet": {
        fbnet.LUT_FILE: fbnet.load_fbnet_lut,
        fbnet.HELP_FILE: fbnet.load_fbnet_help,
    },
}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
COMPRESS_LEVEL = 9
COMPUTED_SOURCE = "computed by nasjax"


def file_name(space: str) -> str:
    """The embedded file of ``space``: ``"{space}_v{VERSION}.npz"``."""
    return f"{space}_v{VERSION}.npz"


# ------------------------------------------------------------------- building
def build(folder: str | os.PathLike, out: str | os.PathLike) -> dict[str, pathlib.Path]:
    """Writes every space's embedded file from the data folder ``folder``. Host-side.

    Returns:
        space -> the path written (``out / file_name(space)``).

    Raises:
        DataError: a source file is missing or unreadable.
    """
    from nasjax.data.registry import COMPUTED  # registry imports this module

    folder, out = pathlib.Path(folder), pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for space, loaders in SOURCES.items():
        parts = {COMPUTED_SOURCE: COMPUTED[space]()}
        parts.update({name: load(folder) for name, load in loaders.items()})
        path = out / file_name(space)
        path.write_bytes(encode(space, parts))
        written[space] = path
    return written


def encode(space: str, parts: Mapping[str, Table]) -> bytes:
    """The embedded file of ``space`` from its source tables (file name -> table)."""
    table = functools.reduce(Table.merge, parts.values())
    index = {"version": VERSION, "space": space, "columns": {}, "additive": {}}
    arrays = {"archs.npy": np.asarray(table.archs, dtype=np.int8)}
    for source, part in parts.items():
        for name, column in part.columns.items():
            if isinstance(column, AdditiveColumn):
                index["additive"][name] = source
                prefix = f"additive/{name}"
                arrays[f"{prefix}/per_slot.npy"] = np.asarray(column.per_slot)
                arrays[f"{prefix}/offset.npy"] = np.asarray(column.offset)
            else:
                index["columns"][name] = source
                arrays[f"rows/{name}.npy"] = np.asarray(table.values(name))
    for kind in ("columns", "additive"):
        index[kind] = dict(sorted(index[kind].items()))
    members = {"index.json": json.dumps(index, indent=1, sort_keys=True).encode()}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.ascontiguousarray(array))
        members[name] = buffer.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name], compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


# -------------------------------------------------------------------- reading
class Embedded:
    """One space's embedded table and where each of its columns came from."""

    def __init__(self, table: Table, sources: Mapping[str, str]):
        self.table = table
        self.sources = dict(sources)  # column -> source file of the data folder


def resource_path(space: str) -> pathlib.Path:
    """The installed path of ``space``'s embedded file."""
    return pathlib.Path(
        str(importlib.resources.files("nasjax") / "resources" / file_name(space))
    )


def has_embedded(space: str) -> bool:
    """Whether nasjax ships a table of ``space``."""
    return space in SOURCES


@functools.cache
def load(space: str) -> Embedded:
    """The shipped table of ``space`` (read once per process). Host-side.

    Raises:
        DataError: no embedded table for ``space``, or the file is missing or corrupt
            (a broken installation).
    """
    if not has_embedded(space):
        raise DataError(f"nasjax ships no {space} table; choose from {sorted(SOURCES)}")
    return decode(resource_path(space))


def decode(path: str | os.PathLike) -> Embedded:
    """Reads an embedded file written by :func:`encode`. Host-side."""
    path = pathlib.Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            index = json.loads(archive.read("index.json"))

            def array(name):
                return np.lib.format.read_array(io.BytesIO(archive.read(name)))

            space = spaces.get(index["space"])
            archs = array("archs.npy").astype(np.int32)
            columns = {
                name: jnp.asarray(array(f"rows/{name}.npy"))
                for name in index["columns"]
            }
            for name in index["additive"]:
                columns[name] = AdditiveColumn(
                    jnp.asarray(array(f"additive/{name}/per_slot.npy")),
                    jnp.asarray(array(f"additive/{name}/offset.npy")),
                )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(
            f"cannot read nasjax's embedded table {str(path)!r} "
            f"({type(error).__name__}: {error}); reinstall nasjax"
        ) from None
    # The rows were validated and sorted when the file was built (Table.from_rows),
    # so the table is assembled directly: no JAX computation, hence fast to load.
    row_of_index = None
    if space.size <= DENSE_INDEX_LIMIT:
        strides = np.cumprod((1,) + space.num_choices[:0:-1])[::-1]
        row_of_index = np.full(space.size, -1, np.int32)
        row_of_index[archs @ strides] = np.arange(len(archs), dtype=np.int32)
        row_of_index = jnp.asarray(row_of_index)
    table = Table(jnp.asarray(archs), columns, row_of_index, space)
    return Embedded(table, {**index["columns"], **index["additive"]})
