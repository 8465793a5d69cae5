"""Rebuilds the benchmark tables shipped in the package from a data folder.

    python scripts/build_embedded.py [--data DIR] [--out nasjax/resources]

Reads the folder (default ``$NASJAX_DATA``, else ``../shared/data`` beside the
repository) with nasjax's own loaders and writes ``nb201_v1.npz`` and ``fbnet_v1.npz``
(see :mod:`nasjax.data.embedded`). The output is byte-for-byte reproducible: the same
folder gives the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=os.environ.get("NASJAX_DATA") or str(REPOSITORY.parent / "shared/data"),
        help="data folder (default: $NASJAX_DATA, else ../shared/data)",
    )
    parser.add_argument(
        "--out", default=str(REPOSITORY / "nasjax/resources"), help="output folder"
    )
    args = parser.parse_args(argv)
    from nasjax.data import DataError, embedded

    if not pathlib.Path(args.data).is_dir():
        parser.error(f"data folder {args.data!r} does not exist")
    try:
        written = embedded.build(args.data, args.out)
    except DataError as error:
        sys.stderr.write(f"build_embedded: {error}\n")
        return 2
    for path in written.values():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"{path}: {path.stat().st_size:,} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
