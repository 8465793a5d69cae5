"""Host-side file and report helpers shared by the CLI, sweeps, experiments and
benchmarks.

* :func:`write_atomic`: a file is complete or absent (temporary file, fsync, rename),
  created with the permissions the umask gives (as ``open`` would), not 0600.
* :func:`save_figure`: a matplotlib figure written as PNG the same way.
* :func:`output_problem`: why a folder or file could not be written, checked before
  any work starts (the CLI's ``--out`` flags).
* :func:`locked`: an exclusive ``fcntl.flock`` on a lock file beside a shared file, so
  concurrent runs on one store or measurement file take turns to merge.
* :class:`Store`: one JSON file per finished piece of work, resumable after a kill
  and shared by concurrent runs (sweeps, experiments).
* :func:`dumps_json`: JSON without ``NaN``/``Infinity`` (``null`` instead).
* :func:`mean_std`: ``"mean ± std"`` of the finite values, for tables.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import math
import os
import pathlib
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

LOCK_SUFFIX = ".lock"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: pathlib.Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename.

    The file gets mode ``0o666 & ~umask``, like a file ``open`` creates.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=path.parent, delete=False, prefix=".", suffix=".tmp"
    ) as f:
        try:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        except BaseException:
            os.unlink(f.name)
            raise
        temporary = f.name
    os.replace(temporary, path)


def dumps_json(value: Any, **options) -> str:
    """``json.dumps`` with every non-finite float (also NumPy's) written as ``null``."""
    return json.dumps(_finite_or_none(value), allow_nan=False, **options)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _finite_or_none(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # NumPy values
        return _finite_or_none(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _name_max(folder: pathlib.Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _stat_is_dir(path: pathlib.Path) -> bool | None:
    """Whether ``path`` is a folder; ``None`` when it does not exist (or cannot)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


def output_problem(
    path: str | os.PathLike, *, folder: bool, names: tuple[str, ...] = ()
) -> str | None:
    """Why ``path`` cannot be written, or ``None`` when it can. Creates nothing.

    Args:
        path: the output folder (``folder=True``) or file.
        folder: whether ``path`` is a folder (it may exist) or a file (its parent is
            the folder written to; ``path`` must not be a folder).
        names: names the run will create inside the folder (checked for length), e.g.
            ``("results.json",)``; a file's own name and its lock file's are always
            checked.

    Returns:
        One sentence naming ``path`` and the problem (not a folder, not writable,
        a name longer than the filesystem allows), or ``None``.
    """
    shown = os.fspath(path)
    if not shown or "\0" in shown:
        return f"{shown!r} is not a usable path"
    path = pathlib.Path(shown).expanduser()
    if len(shown) > 80:
        shown = shown[:40] + "..." + shown[-20:]
    if not folder:
        if _stat_is_dir(path):
            return f"{shown!r} is a folder, not a file"
        names = (path.name, path.name + LOCK_SUFFIX)
        path = path.parent if str(path.parent) else pathlib.Path(".")
    absolute = pathlib.Path(os.path.abspath(path))
    existing = absolute
    while _stat_is_dir(existing) is None and existing != existing.parent:
        existing = existing.parent
    if not _stat_is_dir(existing):
        if folder and existing == absolute:
            return f"{shown!r} is a file, not a folder"
        return f"cannot write {shown!r}: {str(existing)!r} is a file, not a folder"
    name_max = _name_max(existing)
    missing = absolute.relative_to(existing).parts
    for name in (*missing, *names):
        if len(os.fsencode(name)) > name_max:
            return (
                f"cannot write {shown!r}: the name {name[:40]!r}... is longer than "
                f"this filesystem allows ({name_max} bytes)"
            )
    for name in names if existing == absolute else ():
        if _stat_is_dir(absolute / name):
            return f"cannot write {str(absolute / name)!r}: it is a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write {shown!r}: {str(existing)!r} is not writable"
    return None


@contextlib.contextmanager
def locked(path: str | os.PathLike, *, blocking: bool = True):
    """Holds an exclusive ``flock`` on ``path + ".lock"`` (created if absent).

    Yields ``True`` once held; with ``blocking=False`` yields ``False`` at once when
    another process holds it. The lock is the kernel's: it is released when the
    holder exits, also after a SIGKILL.
    """
    lock_path = pathlib.Path(str(path) + LOCK_SUFFIX)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def save_figure(
    figure, path: str | os.PathLike, *, dpi: int = 120, tight: bool = True
) -> None:
    """Writes a matplotlib figure as PNG atomically and closes it.

    Args:
        figure: the figure.
        path: the PNG file.
        dpi: resolution.
        tight: crop to the drawn content (``bbox_inches="tight"``).
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    options = {"bbox_inches": "tight"} if tight else {}
    figure.savefig(buffer, format="png", dpi=dpi, **options)
    plt.close(figure)
    write_atomic(pathlib.Path(path), buffer.getvalue())


def mean_std(values: Iterable, digits: int = 2, *, missing: str = "n/a") -> str:
    """``"mean ± std"`` of the finite values (``None`` counts as missing).

    Returns ``missing`` when no value is finite.
    """
    array = np.array(
        [np.nan if v is None else v for v in np.ravel(np.asarray(values, object))],
        dtype=np.float64,
    )
    array = array[np.isfinite(array)]
    if array.size == 0:
        return missing
    return f"{array.mean():.{digits}f} ± {array.std():.{digits}f}"


def read_json(
    path: str | os.PathLike, problem: Callable[[Any], str | None] | None = None
) -> tuple[Any, str | None]:
    """Reads a stored JSON file and checks it.

    Args:
        path: the file.
        problem: ``value -> why it is not valid, or None``.

    Returns:
        ``(value, None)`` when the file holds JSON that ``problem`` accepts,
        ``(None, why)`` when not, ``(None, None)`` when there is no file.
    """
    try:
        text = pathlib.Path(path).read_text()
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot read it ({type(error).__name__})"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        return None, f"not complete JSON ({error})"
    why = None if problem is None else problem(value)
    return (None, why) if why else (value, None)


def _results_problem(record: Any, name: str) -> str | None:
    del name
    if isinstance(record, dict) and record:
        return None
    return "not a JSON object of results"


def _warn_on_stderr(message: str) -> None:
    print(f"[store] {message}", file=sys.stderr, flush=True)


class Store:
    """One JSON file per finished piece of work: ``folder/<name>.json``.

    A rerun skips what is stored, so a killed run loses at most the piece it was
    running. A stored file that is not a valid record (``problem``) is named
    (``warn``, once per file) and redone. Concurrent runs on one folder take turns
    per name through an ``fcntl.flock`` on ``<name>.json.lock`` (:func:`locked`),
    so each piece is computed once between them; the kernel releases a killed
    run's lock. Files are written with :func:`write_atomic`.

    Args:
        folder: the store's folder (created on the first write).
        problem: ``(record, name) -> why it is not a valid record of name, or
            None``; default: a non-empty JSON object.
        warn: called with ``"<path> is redone: <why>"``; default: stderr.
        stored_only: :meth:`get` computes nothing, it only reads.
        allow_nan: whether records may hold ``NaN`` (written as JSON's ``NaN``).
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        problem: Callable[[Any, str], str | None] = _results_problem,
        warn: Callable[[str], Any] | None = _warn_on_stderr,
        stored_only: bool = False,
        allow_nan: bool = True,
    ):
        self.folder = pathlib.Path(folder)
        self.problem = problem
        self.warn = warn
        self.stored_only = stored_only
        self.allow_nan = allow_nan
        self._warned: set[str] = set()

    def path(self, name: str) -> pathlib.Path:
        """``folder/<name>.json``."""
        return self.folder / f"{name}.json"

    def read(self, name: str) -> Any:
        """The valid stored record of ``name``, else ``None`` (a broken file is
        named by ``warn`` once)."""
        path = self.path(name)
        record, why = read_json(path, lambda value: self.problem(value, name))
        if why is not None and self.warn is not None and name not in self._warned:
            self._warned.add(name)
            self.warn(f"{path} is redone: {why}")
        return record

    def write(self, name: str, record: Any) -> None:
        """Stores ``record`` atomically."""
        text = json.dumps(record, allow_nan=self.allow_nan)
        write_atomic(self.path(name), text.encode())

    def get(self, name: str, compute: Callable[[], Any]) -> Any:
        """The stored record, else ``compute()`` stored (``None`` if
        ``stored_only``); waits while another run computes it."""
        record = self.read(name)
        if record is not None or self.stored_only:
            return record
        with locked(self.path(name)):
            record = self.read(name)  # another run may have stored it meanwhile
            if record is None:
                record = compute()
                self.write(name, record)
        return record

    def fill(
        self,
        names: Iterable[str],
        compute: Callable[[str], Any],
        stored: Callable[[str, str], Any] | None = None,
    ) -> None:
        """Computes and stores every name not yet stored, sharing the work.

        Names another run is computing are skipped and come back at the end (then
        waiting on their lock), so concurrent runs split the work instead of
        waiting on each other; one whose run died is computed here.

        Args:
            names: the records wanted, in order.
            compute: ``name -> record``.
            stored: called with ``(name, how)`` for each name found stored, ``how``
                ``"in the store"`` or ``"run by another process on this store"``.
        """

        def found(name: str, how: str) -> None:
            if stored is not None:
                stored(name, how)

        busy = []  # being computed by another run when we looked
        for name in names:
            if self.read(name) is not None:
                found(name, "in the store")
                continue
            with locked(self.path(name), blocking=False) as mine:
                if not mine:
                    busy.append(name)
                elif self.read(name) is not None:  # finished while we looked
                    found(name, "in the store")
                else:
                    self.write(name, compute(name))
        for name in busy:
            with locked(self.path(name)):
                if self.read(name) is not None:
                    found(name, "run by another process on this store")
                else:
                    self.write(name, compute(name))
