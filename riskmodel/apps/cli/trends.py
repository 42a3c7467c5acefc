"""The ``riskmodel trends`` command: travel-trend signals per series as a table.

A thin shell over :func:`riskmodel.core.forecasting.trends.travel_trends`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from riskmodel.apps.cli.command import CommandGroups, Progress, add_quiet, int_at_least, read_series, write_atomically
from riskmodel.apps.cli.exits import EXIT_OK

__all__ = ["register", "cmd_trends"]


def cmd_trends(args: argparse.Namespace) -> int:
    """Run ``riskmodel trends``: print the table, and write it with ``--out``."""
    from riskmodel.core.forecasting.calendar import COVID_BREAK
    from riskmodel.core.forecasting.trends import travel_trends

    history = read_series(args.history)
    history = history[[c for c in ("unique_id", "ds", "y") if c in history.columns]]  # a missing `y` is named by travel_trends
    forecast = read_series(args.forecast) if args.forecast else None
    breaks = () if args.no_break else (COVID_BREAK,)
    with Progress(args.quiet) as progress:  # counts on stderr while a --backcast forecaster is fitted
        table = travel_trends(history, forecast=forecast, backcast=args.backcast, breaks=breaks, short=args.short, long=args.long,
                              level=args.level, on_progress=progress.count)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(table, out)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add ``trends``."""
    p = groups.top.add_parser("trends", help="growth per series and surges or collapses against a forecast, as a table")
    p.add_argument("history", help="long unique_id/ds/y file (CSV or Parquet) up to the latest actuals")
    p.add_argument("--forecast", help="a forecast made before the latest actuals (output of `riskmodel forecast`)")
    p.add_argument("--backcast", type=int_at_least(0), default=0, help="without --forecast: fit one on all but the last N periods and check those (default: %(default)s)")
    p.add_argument("--short", type=int_at_least(1), default=3, help="short window in periods (default: %(default)s)")
    p.add_argument("--long", type=int_at_least(1), default=12, help="long window in periods (default: %(default)s)")
    p.add_argument("--level", type=int_at_least(1, 99), default=95, help="interval level of the check (default: %(default)s)")
    p.add_argument("--no-break", action="store_true", help="declare no COVID break (no pre-break comparison)")
    p.add_argument("--out", help="also write the table (.csv or .parquet)")
    add_quiet(p)
    p.set_defaults(func=cmd_trends, inputs=("history", "forecast"))
