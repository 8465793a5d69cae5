"""What every ``nasjax`` subcommand shares: one-line errors, a progress line."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``nasjax search: <message>``, exit code 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(EXIT_USAGE)


def fail(message: str):
    sys.stderr.write(f"nasjax: {message}\n")
    sys.exit(EXIT_USAGE)


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
