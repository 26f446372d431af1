"""``labkit ingest``, ``labkit watch`` and ``labkit catalog``: the lab store."""

from __future__ import annotations

import argparse
import json
import signal

from labkit.cli import EXIT_INPUT_ERROR, EXIT_OK, Outcome, add_json_flag, add_timezone_option


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``ingest``, ``watch`` and ``catalog``."""
    ingest = subcommands.add_parser(
        "ingest",
        help="parse folders of instrument files into a lab store (once each)",
        description=(
            "Walk SRC folders, parse every new or changed file into Parquet records in the "
            "store and list it in the store's catalog. Files already ingested with the same "
            "content are skipped; unreadable files are quarantined with their error; source "
            "files are never modified. Exit status 1 if any file was quarantined."
        ),
    )
    ingest.add_argument("sources", nargs="+", metavar="SRC", help="files or folders")
    ingest.add_argument("--store", required=True, metavar="DIR", help="store folder")
    ingest.add_argument("--workers", type=int, default=1, metavar="N",
                        help="parser processes (default 1)")
    ingest.add_argument("--dask", metavar="ADDRESS",
                        help="run on a Dask cluster (scheduler address, e.g. tcp://host:8786)")
    ingest.add_argument("--hook", action="append", default=[], metavar="NAME",
                        help="analysis to run on each new record (repeatable): summary, cycles, "
                             "eis_fit:MODEL_OR_CIRCUIT (e.g. eis_fit:pellet)")
    add_timezone_option(ingest)
    add_json_flag(ingest)
    ingest.set_defaults(handler=_ingest)

    watch = subcommands.add_parser(
        "watch",
        help="keep ingesting files as they appear (polling; for network shares)",
        description=(
            "Poll SRC folders and ingest each file once its size and modification time "
            "have been stable for --settle seconds. Runs until stopped (Ctrl-C or SIGTERM); "
            "a restarted watcher carries on from the catalog."
        ),
    )
    watch.add_argument("sources", nargs="+", metavar="SRC")
    watch.add_argument("--store", required=True, metavar="DIR")
    watch.add_argument("--interval", type=float, default=5.0, metavar="S",
                       help="seconds between polls (default 5)")
    watch.add_argument("--settle", type=float, default=10.0, metavar="S",
                       help="seconds a file must stay unchanged before it is read (default 10)")
    watch.add_argument("--workers", type=int, default=1, metavar="N")
    watch.add_argument("--hook", action="append", default=[], metavar="NAME")
    add_timezone_option(watch)
    watch.add_argument("--max-polls", type=int, default=None, help=argparse.SUPPRESS)
    add_json_flag(watch)
    watch.set_defaults(handler=_watch)

    catalog = subcommands.add_parser(
        "catalog", help="list what a lab store holds",
        description="List the source files a store's catalog knows, with status and output.")
    catalog.add_argument("store", metavar="STORE", help="store folder")
    catalog.add_argument("--status", choices=("ok", "quarantined", "superseded"))
    add_json_flag(catalog)
    catalog.set_defaults(handler=_catalog)


def _ingest(args: argparse.Namespace) -> Outcome:
    from labkit.ingest import ingest

    report = ingest(args.sources, args.store, workers=args.workers, dask=args.dask,
                    hooks=args.hook, progress=not args.json, timezone=args.timezone)
    lines = [f"ingested {report.ingested}, skipped {report.skipped} (unchanged), "
             f"quarantined {report.quarantined}"]
    lines += [f"  quarantined {f['path']}: {f['error']['message']}"
              for f in report.files if f["status"] == "quarantined"]
    code = EXIT_INPUT_ERROR if report.quarantined else EXIT_OK
    return Outcome(report.to_dict(), "\n".join(lines), code)


def _watch(args: argparse.Namespace) -> Outcome:
    from labkit.ingest import watch

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    watch(args.sources, args.store, interval_second=args.interval, settle_second=args.settle,
          workers=args.workers, hooks=args.hook, max_polls=args.max_polls,
          timezone=args.timezone)
    return Outcome({"stopped": True}, "")


def _catalog(args: argparse.Namespace) -> Outcome:
    import pandas as pd

    from labkit.store import Store

    rows = Store(args.store).query(**({"status": args.status} if args.status else {}))
    files = [
        {"path": r.path, "sha256": r.sha256, "status": r.status,
         "rows": None if pd.isna(r.rows) else int(r.rows),
         "error": json.loads(r.error) if isinstance(r.error, str) else None,
         "output": r.output, "format": r.format, "ingested_at": r.ingested_at}
        for r in rows.itertuples()
    ]
    text = "\n".join(f"{f['status']:<12} {f['rows'] if f['rows'] is not None else '-':>9}  "
                     f"{f['path']}" for f in files) or "(empty catalog)"
    return Outcome({"files": files}, text)
