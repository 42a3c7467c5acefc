"""The ``features`` command: the feature table a batch job scores, built from a crossings log as of a date."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskmodel.apps.cli.command import CommandGroups, Progress, add_quiet, local_time, read_table, read_text_times, write_atomically
from riskmodel.apps.cli.exits import EXIT_OK

__all__ = ["register", "read_crossings"]

# CSV has no types: these columns of the crossings contract are read back as times
_TIME_COLUMNS = ("timestamp", "permit_end")


def read_crossings(path: str | Path):
    """A crossings log from Parquet or CSV, with its time columns as times (CSV keeps them as text)."""
    import pandas as pd

    from riskmodel.core.exceptions import SchemaError

    df = read_table(path)
    # text times in Parquet: read as a CSV's are (ISO 8601 only)
    text = [c for c in _TIME_COLUMNS if c in df.columns and not pd.api.types.is_datetime64_any_dtype(df[c])]
    problems = read_text_times(df, text)
    if problems:
        raise SchemaError(Path(path).name, problems)
    return df


def _table_path(text: str) -> str:
    """``output``: a .parquet or .csv file name (bad usage, exit 2, otherwise)."""
    if Path(text).suffix not in (".parquet", ".csv"):
        raise argparse.ArgumentTypeError(f"the output must be a .parquet or .csv file; got `{text}` (e.g. features.parquet)")
    return text


def _cmd_features(args: argparse.Namespace) -> int:
    from riskmodel.core.features import build_features

    out = Path(args.output)
    progress = Progress(args.quiet)
    crossings = read_crossings(args.crossings)
    progress(f"read {len(crossings):,} crossings from {args.crossings}")
    if args.as_of is not None:
        from riskmodel.core.sources.monitor import check_log_covers

        # exits after the log's last day are not on file: a later day would label everyone still in then an overstayer
        check_log_covers(crossings, args.as_of, argument="--as-of")
    # the contract is checked first: a bad log is exit 1 with every problem named, never a half-built table
    table = build_features(crossings, as_of=args.as_of, validate=True)
    progress(f"built features of {len(table):,} stays as of {args.as_of or 'the last crossing'}")
    if args.in_country:
        table = table.loc[table["exit_time"].isna()].reset_index(drop=True)
        progress(f"kept {len(table):,} stays still in the country")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(table, out)
    print(f"{len(table):,} stays with features written to {out}")
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add ``features``."""
    p = groups.top.add_parser(
        "features",
        help="build the point-in-time feature table of every stay from a crossings log, as of a date (input of `riskmodel score`)",
    )
    p.add_argument("crossings", help="crossings log: Parquet file or folder, or CSV (riskmodel.core.schema.CROSSINGS)")
    p.add_argument("output", type=_table_path, help="feature table to write (.parquet or .csv)")
    p.add_argument("--as-of", default=None, type=local_time,
                   help="use only crossings up to this local date/time, labels as known then (a date alone is its start, "
                   "00:00; default: the last crossing); a day after the log's last day is refused")
    p.add_argument("--in-country", action="store_true",
                   help="keep only stays with no exit by --as-of (what a nightly job scores)")
    add_quiet(p)
    p.set_defaults(func=_cmd_features, inputs=("crossings",))
