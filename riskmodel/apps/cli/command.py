"""What every command module of the CLI is built from.

A command group is a module with a ``register(groups)`` function that adds its
commands to the :class:`CommandGroups` it receives, each with
``set_defaults(func=..., inputs=(...))``: ``func(args) -> int`` runs the
command, ``inputs`` names the arguments that are files the command reads (so
that :func:`riskmodel.apps.cli.main` checks they exist and names the right
file when one cannot be read).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from riskmodel.apps.cli.exits import EXIT_DATA, EXIT_OK, InputFileError, read_errors
from riskmodel.apps.cli.progress import Progress

__all__ = [
    "CommandGroups", "Progress", "add_quiet", "check_period", "host_address", "local_time", "int_at_least", "levels", "port_number", "read_table",
    "report_decision", "write_atomically",
]


@dataclass(frozen=True)
class CommandGroups:
    """The subparsers a command module adds its commands to.

    Attributes
    ----------
    top : argparse._SubParsersAction
        ``riskmodel COMMAND``.
    train : argparse._SubParsersAction
        ``riskmodel train MODEL``.
    promote : argparse._SubParsersAction
        ``riskmodel promote MODEL``.
    rollback : argparse._SubParsersAction
        ``riskmodel rollback MODEL``.
    """

    top: argparse._SubParsersAction
    train: argparse._SubParsersAction
    promote: argparse._SubParsersAction
    rollback: argparse._SubParsersAction


def add_rollback(group: argparse._SubParsersAction, kind: str, default_config: str, registered_name) -> None:
    """``riskmodel rollback <kind>``: ``registered_name(config_path)`` names the model the config registers; for a risk
    model, :func:`~riskmodel.integrations.tracking.rollback.rollback` refuses a version gated under another audit policy
    than ``--config``'s, under the promotion lease, before anything moves."""
    p = group.add_parser(kind, help=f"put an earlier champion of the {kind} model back, withdrawing the current one (with a reason)")
    p.add_argument("--config", default=default_config, help=f"{kind} config naming the registered model (default: %(default)s)")
    p.add_argument("--to", required=True, metavar="VERSION", help="the version to put back: one a passed gate made champion before")
    p.add_argument("--reason", required=True, help="why the current champion is withdrawn, kept in the store and the audit log "
                                                   "(no identifiers: a run of 5 or more digits is refused)")

    def run(args: argparse.Namespace) -> int:
        from riskmodel.api import forget_aliases
        from riskmodel.integrations.tracking.rollback import rollback

        name = registered_name(args.config)
        try:
            decision = rollback(name, args.to, reason=args.reason, **({"config": args.config} if kind == "risk" else {}))
        finally:
            forget_aliases(name)
        print(f"ROLLED BACK: version {decision.candidate} is champion again (version {decision.champion} withdrawn)")
        for reason in decision.reasons:
            print(f"- {reason}")
        return EXIT_OK

    p.set_defaults(func=run, inputs=("config",))


def add_quiet(p: argparse.ArgumentParser) -> None:
    """The ``--quiet`` option of commands that print progress."""
    p.add_argument("--quiet", action="store_true", help="no progress lines (for scheduled jobs)")


def local_time(text: str) -> str:
    """argparse type of a date option (``--as-of``, ``--start``): a local date or date-time, else bad usage (exit 2).

    The text is returned as given (the command reads it as before); refused here, before
    any file is read, are what pandas does not read as a date (``notadate``,
    ``2024-13-45``), a missing value (``NaT``) and a time with a zone (the contract's
    times are local port times).
    """
    import pandas as pd

    from riskmodel.core.csv_files import iso_time

    fix = "pass a local date or time without a zone, e.g. 2023-06-30 or 2023-06-30T18:00"
    try:
        ts = iso_time(text)
    except (ValueError, TypeError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in ISO 8601: {fix} (day-first dates are not guessed)") from None
    if ts is pd.NaT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: {fix}")
    if ts.tzinfo is not None:
        raise argparse.ArgumentTypeError(f"{text!r} has a time zone: {fix} (local port time)")
    return text


def int_at_least(low: int, high: int | None = None):
    """argparse type of a whole-number option in ``[low, high]``: anything else is bad usage (exit 2)."""

    def parse(text: str) -> int:
        span = f">= {low}" if high is None else f"from {low} to {high}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number {span}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: expected a whole number {span}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


#: a TCP port to listen on
port_number = int_at_least(1, 65535)

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def host_address(text: str) -> str:
    """argparse type of ``--host``: an IP address or a host name (RFC 1123), else bad usage (exit 2).

    Whether the machine has that address is checked when the command binds (``riskmodel serve``).
    """
    import ipaddress

    fix = "pass an IP address of this machine (127.0.0.1, 0.0.0.0 for every interface, ::1) or its host name (localhost)"
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(_HOST_LABEL.match(label) for label in labels) or all(label.isdigit() for label in labels):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or host name: {fix}")
    return text


def levels(text: str) -> tuple[int, ...]:
    """argparse type of interval levels in percent, comma-separated (``80,95``): each a whole number from 1 to 99."""
    one = int_at_least(1, 99)
    try:
        return tuple(one(v.strip()) for v in text.split(","))
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} in {text!r} (levels in percent, comma-separated, e.g. 80,95)") from None


def check_period(start: str, end: str) -> None:
    """``--start`` before ``--end``, else a :class:`~riskmodel.core.exceptions.ConfigError` (bad usage, exit 2)."""
    import pandas as pd

    from riskmodel.core.exceptions import ConfigError

    if pd.Timestamp(end) <= pd.Timestamp(start):
        raise ConfigError(f"--end {end} is not after --start {start}. Fix: give a period that ends after it starts.")


def read_table(path: str | Path, *, text: tuple[str, ...] = ()):
    """Read a Parquet file or folder, or a CSV file; a file that cannot be read is an :class:`InputFileError`.

    A CSV carries no types, so the data contract's are applied: identifier columns (and the
    columns named in ``text``) are read as text ("00123" and "123" are two people) and datetime
    columns are parsed; a value that is not a date (or one pandas cannot hold) is a
    :class:`SchemaError` naming the column and rows, never read as missing (a missing
    ``ban_until`` is a ban without end).
    """
    import pandas as pd

    from riskmodel.core.csv_files import check_csv, read_csv
    from riskmodel.core.parquet_parts import read_parquet

    path = Path(path)
    if not (path.is_dir() or path.suffix in (".parquet", ".csv")):
        raise InputFileError(path, f"expected a .parquet file or folder, or a .csv file; got `{path.suffix or path.name}`",
                             "pass a Parquet or CSV file")
    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise InputFileError(path, "the folder holds no .parquet file", "pass a Parquet file, a folder of Parquet parts, or a CSV file")
    try:
        if path.suffix != ".csv":
            return read_parquet(path)  # a folder whose files disagree on a column is refused, not read by file order
        check_csv(path)
        return _typed_csv(read_csv(path, ids={*_contract_kinds("id"), *text}), path.name)
    except read_errors() as exc:
        raise InputFileError.from_exception(path, exc) from exc


def read_series(path: str | Path, *, ids_as_text: bool = True):
    """A long ``unique_id, ds, ...`` file (:func:`read_table`) with its dates parsed.

    A CSV's ``unique_id`` is always read as text: read as numbers, '0101' became '101' and series
    '007' and '7' became one. ``ids_as_text`` turns a Parquet file's typed ids into text too
    (``forecast --history`` keeps them typed, so that ids 1 and '1' are refused as two series
    with the same text, not merged).

    Raises
    ------
    SchemaError
        Naming a missing ``unique_id`` or ``ds`` column, the rows whose ``ds``
        is not an ISO 8601 date (day-first dates are not guessed), instead of a
        KeyError or a parser's traceback, or a CSV's counts ``y`` written with a
        '.' between thousands (``1.030``, which pandas reads as 1.03).
    """
    from riskmodel.core.csv_files import iso_dates
    from riskmodel.core.exceptions import SchemaError, SchemaProblem

    from riskmodel.core.csv_files import check_thousands_dots

    table = read_table(Path(path), text=("unique_id",))
    if Path(path).suffix == ".csv" and "y" in table.columns:
        check_thousands_dots(path, "y", table["y"])
    missing = [c for c in ("unique_id", "ds") if c not in table.columns]
    if missing:
        raise SchemaError(str(path), [SchemaProblem(c, "column is missing", "pass a long table with columns unique_id, ds, y (rename yours)")
                                      for c in missing])
    table["ds"] = iso_dates(table["ds"], "ds", str(path))
    if ids_as_text:
        table["unique_id"] = table["unique_id"].astype(str).where(table["unique_id"].notna())
    return table


def _contract_kinds(kind: str) -> set[str]:
    from riskmodel.core.schema import CROSSINGS, STAYS
    from riskmodel.core.sources.contracts import SOURCES

    columns = (*CROSSINGS, *STAYS, *(c for cols in SOURCES.values() for c in cols))
    return {c.name for c in columns if c.kind == kind} | ({"stay_id"} if kind == "id" else set())


def _typed_csv(df, name: str):
    from riskmodel.core.exceptions import SchemaError

    problems = read_text_times(df, sorted(_contract_kinds("datetime") & set(df.columns)))
    if problems:
        raise SchemaError(name, problems)
    if df.empty:  # a header alone: pandas reads every column as text, so give them the contract's types
        for kind, dtype in (("int", "int64"), ("bool", "bool")):
            for col in _contract_kinds(kind) & set(df.columns):
                df[col] = df[col].astype(dtype)
    return df


def read_text_times(df, columns) -> list:
    """Read ``columns`` of ``df`` in place as ISO 8601 times; return a SchemaProblem per column with values that are not.

    Empty text and ``NaT`` (what ``astype(str)`` writes) are missing times. A value that is no date (or none pandas
    can hold) must not pass for a missing one: where the contract lets a time be missing, missing means something
    (a ban without end, an application not decided, a stay not ended).
    """
    import numpy as np
    import pandas as pd

    from riskmodel.core.csv_files import not_a_year_first
    from riskmodel.core.exceptions import SchemaProblem

    problems = []
    for col in columns:
        parsed = pd.to_datetime(df[col], errors="coerce", format="ISO8601")
        text = df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip().str.casefold()
        lost = ~text.isin(["", "nat"]).to_numpy() & (parsed.isna().to_numpy() | not_a_year_first(df[col]))
        if lost.any():
            rows = np.flatnonzero(lost)
            shown = ", ".join(repr(str(v)) for v in pd.unique(df[col].to_numpy(dtype=object)[rows])[:3])
            problems.append(SchemaProblem(col, f"values that are not dates ({shown})",
                                          "write a date or a time as 2023-06-30 or 2023-06-30 14:05; leave it empty only where the "
                                          "value is unknown or does not apply", tuple(f"row {i}" for i in rows[:5]), len(rows)))
        df[col] = parsed
    return problems


def write_atomically(df, path: Path) -> None:
    """Write ``df`` as CSV or Parquet (by suffix) to a temporary name, then rename: never a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (disk full) must not leave a temp file behind


def report_decision(decision) -> int:
    """Print a promotion decision with its reasons; exit code 1 when refused."""
    if decision.passed and decision.candidate == decision.champion:
        print(f"KEPT: version {decision.candidate} is already the champion")
    elif decision.champion is None:
        print(("PROMOTED" if decision.passed else "REFUSED") + f": version {decision.candidate} (no champion before)")
    else:
        print(f"PROMOTED: version {decision.candidate} (champion was {decision.champion})" if decision.passed
              else f"REFUSED: version {decision.candidate} (champion is still {decision.champion})")
    for reason in decision.reasons:
        print(f"- {reason}")
    return EXIT_OK if decision.passed else EXIT_DATA
