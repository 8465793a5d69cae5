"""What every ``nasjax`` subcommand shares: one-line errors, bounded integer flags,
output locations checked before any work, a progress line."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time

EXIT_USAGE = 2
SEED_MAX = 2**32 - 1  # jax.random.key and numpy's default_rng take a uint32


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``nasjax search: <message>``, exit code 2.

    A command with subcommands given none (``nasjax``, ``nasjax data``) prints its
    help, which lists them, and exits with code 2.
    """

    def error(self, message):
        if self._subparsers is not None and "required" in message:
            sys.stderr.write(self.format_help())
            (commands,) = self._subparsers._group_actions
            message = f"choose a command: {', '.join(commands.choices)}"
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(EXIT_USAGE)


def fail(message: str):
    """Writes ``nasjax: <message>`` on stderr and exits with code 2."""
    sys.stderr.write(f"nasjax: {message}\n")
    sys.exit(EXIT_USAGE)


def integer(low: int, high: int):
    """An argparse ``type``: an integer in ``[low, high]``; argparse names the flag.

    ``integer(1, 10**6)`` refuses ``0``, ``ten`` and ``10000000000`` with
    ``argument --queries: must be a positive integer up to 1000000, got '0'``.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            kind = {0: "a non-negative integer", 1: "a positive integer"}.get(low)
            expected = (
                f"{kind} up to {high}" if kind else f"an integer in [{low}, {high}]"
            )
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text[:40]!r}")
        return value

    parse.__name__ = "integer"
    return parse


def check_outputs(*locations: tuple[str, bool, tuple[str, ...]]) -> None:
    """Exits with code 2 and one sentence unless every output can be written.

    Call it before any work starts. Each location is ``(path, is_folder, names)``
    as :func:`nasjax.io.output_problem` takes them.
    """
    from nasjax.io import output_problem

    for path, folder, names in locations:
        problem = output_problem(path, folder=folder, names=names)
        if problem is not None:
            fail(problem)


@contextlib.contextmanager
def progress(message: str, *, enabled: bool = True):
    """Shows ``message`` with a spinner and elapsed seconds on stderr while it runs."""
    if not enabled:
        yield
        return
    done = threading.Event()
    start = time.perf_counter()
    interactive = sys.stderr.isatty()

    def spin():
        for frame in iter(lambda: "|/-\\", None):
            for char in frame:
                if done.wait(0.2):
                    return
                sys.stderr.write(
                    f"\r{char} {message} {time.perf_counter() - start:5.1f}s"
                )
                sys.stderr.flush()

    if interactive:
        thread = threading.Thread(target=spin, daemon=True)
        thread.start()
    else:
        sys.stderr.write(f"{message} ...\n")
    status = "failed"
    try:
        yield
        status = "done"
    finally:
        done.set()
        if interactive:
            thread.join()
        elapsed = time.perf_counter() - start
        end = "\r" if interactive else ""
        sys.stderr.write(f"{end}{message}: {status} after {elapsed:.1f}s\n")
