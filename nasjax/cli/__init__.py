"""The ``nasjax`` command: one module per subcommand in this package.

Each module has ``add_parser(commands)`` (its argparse subcommand, with ``handler``
set) and the handler. Bad flags or values exit with code 2 and one sentence.
"""

from __future__ import annotations

import importlib
import sys

from nasjax.cli._common import Parser, fail, progress

# Subcommand modules, in the order ``nasjax --help`` lists them.
COMMANDS = ("data", "search", "sweep", "measure", "adapt", "predict")

__all__ = ["COMMANDS", "build_parser", "main", "progress"]


def build_parser() -> Parser:
    """The ``nasjax`` argument parser with every subcommand of :data:`COMMANDS`."""
    parser = Parser(
        prog="nasjax",
        description="Hardware-aware neural architecture search in pure-functional JAX.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"nasjax.cli.{name}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nasjax`` console script."""
    args = build_parser().parse_args(argv)
    from nasjax.data import DataError

    try:
        return args.handler(args)
    except (DataError, ValueError) as error:
        fail(str(error))
    except OSError as error:  # a disk that fills up or a folder removed mid-run
        fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "))


if __name__ == "__main__":
    sys.exit(main())
