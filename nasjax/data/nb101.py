"""Importer for the official NAS-Bench-101 data (``nasbench_only108.tfrecord``).

Reads the file users download from https://github.com/google-research/nasbench
(``nasbench_only108.tfrecord``, or ``nasbench_full.tfrecord``: same format, more
epoch budgets) without TensorFlow or protobuf:

* TFRecord framing, per record: ``uint64 length``, ``uint32 masked CRC32C of the
  length``, ``length`` bytes of data, ``uint32 masked CRC32C of the data`` (little
  endian). Every length CRC is checked; data CRCs are checked for the first
  :data:`NUM_DATA_CRC_CHECKS` records (pure-Python CRC32C is too slow for the
  ~500 MB file) and, with ``check_all_crcs=True``, for all of them. A later corrupt
  record still fails to parse as JSON / base64 / protobuf.
* Each record is the JSON list ``[module_hash, epochs, raw_adjacency,
  raw_operations, raw_metrics]``: ``raw_adjacency`` the ``V * V`` row-major digits of
  the pruned matrix, ``raw_operations`` its comma-separated ops, ``raw_metrics`` a
  base64 ``nasbench.ModelMetrics`` protobuf (``evaluation_data = 1`` repeated
  message, ``trainable_parameters = 2`` int32; in ``EvaluationData``,
  ``training_time = 2``, ``validation_accuracy = 4``, ``test_accuracy = 5`` doubles).
  As the official API, the metrics are those of ``evaluation_data[2]`` (the end of
  training).

The table has one row per cell (the canonical form of its
:class:`~nasjax.spaces.nb101.NB101Space` encoding, ``canonical_keys=True``) with the
mean over the benchmark's 3 repeats.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import pathlib
import struct

import jax
import jax.numpy as jnp
import numpy as np

from nasjax.data._files import DataError, require_file
from nasjax.data.table import Table
from nasjax.spaces.nb101 import NB101Space

TFRECORD_FILE = "nasbench_only108.tfrecord"
SOURCE_HINT = (
    "download nasbench_only108.tfrecord (or nasbench_full.tfrecord) from "
    "https://github.com/google-research/nasbench"
)
WHAT = "the official NAS-Bench-101 TFRecord of JSON records with ModelMetrics protobufs"
NUM_DATA_CRC_CHECKS = 1000
NUM_HASH_CHECKS = 16
COLUMNS = (
    "cifar10/valid_acc",
    "cifar10/test_acc",
    "cifar10/train_time_s",
    "cifar10/params",
)
_CANONICAL_CHUNK = 4096


# ------------------------------------------------------------------ CRC32C
@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return tuple(table)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as TFRecord uses. Host-side, pure Python."""
    table = _crc_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: ``rotate_right(crc32c, 15) + 0xa282ead8``."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_tfrecord(path: pathlib.Path, *, check_all_crcs: bool = False):
    """Yields the data of each record of a TFRecord file. Host-side.

    Raises:
        DataError: truncated file or a CRC mismatch (see the module docstring).
    """
    with open(path, "rb") as f:
        index = 0
        while header := f.read(12):
            where = f"record {index} of {str(path)!r}"
            if len(header) < 12:
                raise _error(path, f"truncated header of record {index}")
            (length,), (length_crc,) = (
                struct.unpack("<Q", header[:8]),
                struct.unpack("<I", header[8:]),
            )
            if masked_crc32c(header[:8]) != length_crc:
                raise _error(path, f"bad length checksum in {where} (not a TFRecord?)")
            body = f.read(length + 4)
            if len(body) < length + 4:
                raise _error(path, f"{where} is truncated")
            data, (data_crc,) = body[:length], struct.unpack("<I", body[length:])
            if (check_all_crcs or index < NUM_DATA_CRC_CHECKS) and masked_crc32c(
                data
            ) != data_crc:
                raise _error(path, f"bad data checksum in {where}")
            yield data
            index += 1


# ---------------------------------------------------------------- protobuf
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> dict[int, list]:
    """Protobuf wire format -> field number -> values (int, bytes or 8/4-byte raw)."""
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("protobuf message is truncated")
        fields.setdefault(number, []).append(value)
    return fields


def _double(fields: dict[int, list], number: int) -> float:
    values = fields.get(number)
    if not values or len(values[-1]) != 8:
        raise ValueError(f"EvaluationData lacks double field {number}")
    return struct.unpack("<d", values[-1])[0]


def parse_model_metrics(raw: bytes) -> tuple[int, float, float, float]:
    """``(trainable_parameters, training_time, validation_acc, test_acc)`` of the
    final evaluation (``evaluation_data[2]``) of a serialised ``ModelMetrics``."""
    metrics = _fields(raw)
    evaluations = metrics.get(1, [])
    if len(evaluations) < 3 or not metrics.get(2):
        raise ValueError("ModelMetrics lacks evaluation_data[2] or parameter count")
    final = _fields(evaluations[2])
    return metrics[2][-1], _double(final, 2), _double(final, 4), _double(final, 5)


# ---------------------------------------------------------------- importer
def _error(path: pathlib.Path, problem: str) -> DataError:
    return DataError(
        f"cannot read {str(path)!r}: {problem}; expected {WHAT}; {SOURCE_HINT}"
    )


def _parse_record(data: bytes):
    module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(data)
    if not (isinstance(module_hash, str) and isinstance(epochs, int)):
        raise TypeError("hash or epochs of the wrong type")
    return module_hash, epochs, raw_adjacency, raw_operations, raw_metrics


def load_nb101_tfrecord(
    path: pathlib.Path, *, epochs: int = 108, check_all_crcs: bool = False
) -> Table:
    """The NAS-Bench-101 table from the official TFRecord file. Host-side.

    Args:
        path: ``nasbench_only108.tfrecord`` or ``nasbench_full.tfrecord``.
        epochs: the training budget to read (108; the full file also has 4, 12, 36).
        check_all_crcs: verify every record's data checksum (slow, pure Python).

    Returns:
        A :class:`Table` with ``canonical_keys=True``, one row per cell, columns
        ``cifar10/valid_acc`` and ``cifar10/test_acc`` (final accuracy in %, mean over
        the repeats), ``cifar10/train_time_s`` (mean training time, s) and
        ``cifar10/params`` (trainable parameters, millions).

    Raises:
        DataError: a missing, truncated, corrupt or foreign file, or no record with
            ``epochs``.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"missing data file {str(path)!r} ({WHAT}); {SOURCE_HINT}")
    space = NB101Space()
    cells: dict[str, tuple[str, str, int]] = {}
    runs: dict[str, list[tuple[float, float, float]]] = {}
    found_epochs: set[int] = set()
    for index, data in enumerate(read_tfrecord(path, check_all_crcs=check_all_crcs)):
        try:
            module_hash, record_epochs, adjacency, operations, raw = _parse_record(data)
            found_epochs.add(record_epochs)
            if record_epochs != epochs:
                continue
            params, time_s, valid, test = parse_model_metrics(
                base64.b64decode(raw, validate=True)
            )
        except (ValueError, TypeError, IndexError, binascii.Error) as error:
            raise _error(path, f"record {index} is malformed ({error})") from None
        cells.setdefault(module_hash, (adjacency, operations, params))
        runs.setdefault(module_hash, []).append((valid, test, time_s))
    if not cells:
        raise _error(
            path, f"no record with {epochs} epochs (found {sorted(found_epochs)})"
        )
    hashes = list(cells)
    archs = np.empty((len(hashes), space.num_slots), dtype=np.int32)
    for row, module_hash in enumerate(hashes):
        adjacency, operations, _ = cells[module_hash]
        try:
            if not isinstance(adjacency, str) or not isinstance(operations, str):
                raise TypeError("adjacency and operations must be strings")
            archs[row] = space.from_string(f"{adjacency}|{operations}")
            if row < NUM_HASH_CHECKS and space.graph_hash(archs[row]) != module_hash:
                raise ValueError(f"module hash {module_hash} does not match its cell")
        except (ValueError, TypeError) as error:
            raise _error(path, f"cell {module_hash} is malformed ({error})") from None
    archs = canonical_archs(space, archs)
    means = np.array([np.mean(runs[h], axis=0) for h in hashes])  # [A, 3]
    params = np.array([cells[h][2] for h in hashes], dtype=np.float64)
    unique, position = np.unique(archs, axis=0, return_inverse=True)
    position = position.reshape(-1)
    if len(unique) < len(archs):  # isomorphic cells under different hashes: merge
        counts = np.bincount(position, minlength=len(unique))[:, None]
        sums = np.zeros((len(unique), 3))
        np.add.at(sums, position, means)
        means = sums / counts
        params = np.bincount(position, params) / counts[:, 0]
        archs = unique
    columns = {
        "cifar10/valid_acc": 100.0 * means[:, 0],
        "cifar10/test_acc": 100.0 * means[:, 1],
        "cifar10/train_time_s": means[:, 2],
        "cifar10/params": params / 1e6,
    }
    return Table.from_rows(space, archs, columns, canonical_keys=True)


def load_nb101(folder: pathlib.Path) -> Table:
    """:func:`load_nb101_tfrecord` on ``folder / nasbench_only108.tfrecord``."""
    return load_nb101_tfrecord(require_file(folder, TFRECORD_FILE, WHAT))


def canonical_archs(space: NB101Space, archs: np.ndarray) -> np.ndarray:
    """:meth:`NB101Space.canonical` of ``[A, 26]`` archs in fixed-size chunks."""
    canonical = jax.jit(space.canonical)
    num = len(archs)
    chunk = min(_CANONICAL_CHUNK, 1 << max(num - 1, 0).bit_length())
    padded = np.zeros((-(-num // chunk) * chunk, archs.shape[1]), dtype=np.int32)
    padded[:num] = archs
    chunks = [
        np.asarray(canonical(jnp.asarray(padded[i : i + chunk])))
        for i in range(0, len(padded), chunk)
    ]
    return np.concatenate(chunks)[:num].astype(np.int32)
