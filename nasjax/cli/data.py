"""``nasjax data check``: what the data folder holds and lacks."""

from __future__ import annotations

import json

from nasjax.cli._common import progress


def add_parser(commands) -> None:
    """Adds ``data check`` to the ``nasjax`` subcommands."""
    data_parser = commands.add_parser(
        "data", help="inspect the shipped tables and the data folder"
    )
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    check = data_commands.add_parser(
        "check",
        help="where each table's columns come from, rows, coverage, what the official "
        "downloads would add",
    )
    check.add_argument(
        "--data", help="data folder (default: $NASJAX_DATA; none: the shipped tables)"
    )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=run)


SOURCE_LABELS = {"computed": "computed", "embedded": "shipped", "folder": "folder"}


def run(args) -> int:
    from nasjax import data

    with progress("checking the tables", enabled=not args.json):
        report = data.check(args.data)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    folder = report["data_dir"]
    print(
        f"data folder: {folder}"
        if folder
        else f"no data folder (--data DIR or {data.DATA_ENV}=DIR): the tables shipped "
        "in the package only"
    )
    for space, summary in report["spaces"].items():
        _print_space(space, summary)
    return 0


def _print_space(space: str, summary: dict) -> None:
    columns = summary["columns"]
    print(f"\n{space}: {summary['rows']} rows, {len(columns)} columns")
    by_source: dict[str, list[str]] = {}
    for name, column in columns.items():
        by_source.setdefault(column["source"], []).append(name)
    if by_source.get("computed"):
        print(f"  [computed] by nasjax: {len(by_source['computed'])} columns")
    shipped = summary["embedded"]
    replaced = set(by_source.get("folder", ()))
    if shipped:
        size = f"{shipped['bytes'] / 1e6:.2f} MB"
        print(f"  shipped in the package ({shipped['file']}, {size}):")
        for file, names in shipped["sources"].items():
            if file == "computed by nasjax":
                continue
            kept = [n for n in names if n not in replaced]
            if not kept:
                print(f"  [replaced] {file}: by the folder's copy")
            elif len(kept) < len(names):
                print(
                    f"  [ shipped] {file}: {len(kept)} columns "
                    f"({len(names) - len(kept)} replaced by the folder)"
                )
            else:
                print(f"  [ shipped] {file}: {len(kept)} columns")
    found = [f for f in summary["files"] if f["status"] == "found"]
    official = [f for f in summary["files"] if f.get("adds") and f["status"] != "found"]
    errors = [f for f in summary["files"] if f["status"] == "error"]
    for file in found:
        print(
            f"  [  folder] {file['name']}: {file['rows']} rows, "
            f"{len(file['columns'])} columns"
        )
    for file in errors:
        print(f"  [   error] {file['name']}: {file['message']}")
    for file in official:
        if file["status"] == "missing":
            print(f"  [    adds] {file['name']}: {file['adds']}")
    for name, column in columns.items():
        label = SOURCE_LABELS[column["source"]]
        if column["count"]:
            print(
                f"    {name:<40} {label:>8} {column['count']:>6} rows  "
                f"[{column['min']:.4g}, {column['max']:.4g}]"
            )
        else:
            print(f"    {name:<40} {label:>8}      0 rows")
