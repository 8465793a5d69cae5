"""``nasjax data check``: what the data folder holds and lacks."""

from __future__ import annotations

import json

from nasjax.cli._common import progress


def add_parser(commands) -> None:
    """Adds ``data check`` to the ``nasjax`` subcommands."""
    data_parser = commands.add_parser("data", help="inspect the data folder")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    check = data_commands.add_parser(
        "check", help="which tables were found, rows, coverage, what is missing"
    )
    check.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=run)


def run(args) -> int:
    from nasjax import data

    with progress("checking the data folder", enabled=not args.json):
        report = data.check(args.data)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"data folder: {report['data_dir']}")
    for space, summary in report["spaces"].items():
        print(f"\n{space}: {summary['rows']} rows")
        for file in summary["files"]:
            detail = (
                f"{file['rows']} rows" if file["status"] == "found" else file["message"]
            )
            print(f"  [{file['status']:>7}] {file['name']}: {detail}")
        for name, column in summary["columns"].items():
            if column["count"]:
                print(
                    f"  {name:<36} {column['count']:>6} rows  "
                    f"[{column['min']:.4g}, {column['max']:.4g}]"
                )
            else:
                print(f"  {name:<36}      0 rows")
    missing = [
        f["name"]
        for s in report["spaces"].values()
        for f in s["files"]
        if f["status"] != "found"
    ]
    if missing:
        print(
            f"\nmissing or unreadable: {', '.join(missing)}; see the README's 'Data' "
            "section for where to get each file"
        )
    return 0
