"""Small file helpers shared by the CLI, the sweep store and measurement files.

* :func:`write_atomic`: a file is complete or absent (temporary file, fsync, rename),
  created with the permissions the umask gives (as ``open`` would), not 0600.
* :func:`output_problem`: why a folder or file could not be written, checked before
  any work starts (the CLI's ``--out`` flags).
* :func:`locked`: an exclusive ``fcntl.flock`` on a lock file beside a shared file, so
  concurrent runs on one store or measurement file take turns to merge.
* :func:`dumps_json`: JSON without ``NaN``/``Infinity`` (``null`` instead).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import pathlib
import stat
import tempfile
from typing import Any

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
