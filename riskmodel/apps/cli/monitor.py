"""``riskmodel monitor`` and ``riskmodel synth-sources``: in-country monitoring as of a date.

Exposes :func:`register`, which adds both commands to the ``riskmodel``
command's subparsers::

    riskmodel synth --travellers 20000 --out data
    riskmodel synth-sources --data data
    riskmodel monitor --as-of 2023-06-30 --data data --out lists
    RISKMODEL_DATABASE_URL=postgresql+psycopg://... riskmodel monitor --as-of 2023-06-30 --database
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from riskmodel.apps.cli.command import CommandGroups, int_at_least, local_time
from riskmodel.apps.cli.exits import EXIT_OK, InputFileError, read_errors
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.sources.monitor import HORIZON_DAYS, LATE_RECORD_DAYS

__all__ = ["register", "SOURCE_FILES"]

#: Tables read by ``monitor``: ``<name>.parquet`` in ``--data``, or table ``<name>`` in the database.
SOURCE_FILES = ("crossings", "presence_reports", "permit_applications", "enforcement")


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _load_tables(args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The crossings log and the sources, from Parquet files or from the database."""
    if args.database is not None:
        from riskmodel.integrations.database import engine_from_env, read_table

        engine = engine_from_env(args.database or None)
        tables = {name: read_table(engine, name) for name in SOURCE_FILES}
    else:
        if args.data is None:
            raise ConfigError("give `--data DIR` (Parquet files) or `--database [URL]`.")
        missing = [n for n in SOURCE_FILES if not (Path(args.data) / f"{n}.parquet").exists()]
        if missing:
            raise ConfigError(f"`--data {args.data}` lacks {[f'{n}.parquet' for n in missing]}; write them with `riskmodel synth-sources`.")
        tables = {name: pd.read_parquet(Path(args.data) / f"{name}.parquet") for name in SOURCE_FILES}
    crossings = tables.pop("crossings")
    return crossings, tables


#: Written next to a model saved by ``monitor --save-model``: the snapshots it was fitted on and when their labels were read.
WINDOW_FILE = "monitor_training.json"


def _model(args: argparse.Namespace, crossings: pd.DataFrame, tables: dict, as_of: pd.Timestamp):
    """The monitoring model and its training window, loaded from ``--model`` or fitted on snapshots labelled as known on ``as_of``."""
    from riskmodel.core.risk.model import RiskModel
    from riskmodel.core.sources.monitor import fit_monitor_model, monitor_training_table

    if args.model:
        return RiskModel.load(args.model), _read_window(Path(args.model))
    first = as_of - pd.DateOffset(months=args.train_months)
    # the last snapshot's label is settled --horizon days later, once late records have had --late-records-days to arrive
    gap = args.horizon + args.late_records_days if args.label_gap_days is None else args.label_gap_days
    dates = pd.date_range(first, as_of - pd.Timedelta(days=gap), freq="14D")
    _say(args, f"fitting a monitoring model on {len(dates)} snapshots {first.date()} .. {dates[-1].date() if len(dates) else '-'}")
    # the model's target is an overstay beginning within --horizon days of a snapshot, the at-risk list's question
    table = monitor_training_table(crossings, tables, dates, as_of, horizon_days=args.horizon, late_days=args.late_records_days)
    model = fit_monitor_model(table, sources="all", seed=args.seed)
    window = {"first_snapshot": str(dates[0].date()), "last_snapshot": str(dates[-1].date()), "snapshots": len(dates),
              "label_as_of": str(as_of.date()), "horizon_days": args.horizon}
    if args.save_model:
        model.save(args.save_model)
        (Path(args.save_model) / WINDOW_FILE).write_text(json.dumps(window, indent=1), encoding="utf-8")
    return model, window


def _read_window(folder: Path) -> dict | None:
    """The training window saved with a model, or None when it was not saved or does not read as one."""
    try:
        window = json.loads((folder / WINDOW_FILE).read_text(encoding="utf-8"))
        for key in ("first_snapshot", "last_snapshot", "label_as_of"):
            pd.Timestamp(window[key])
        return {k: window[k] for k in ("first_snapshot", "last_snapshot", "snapshots", "label_as_of", "horizon_days")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _window_text(window: dict | None, as_of: pd.Timestamp) -> str:
    """One sentence on what the model learnt from, for the reader of the lists."""
    if window is None:
        return "model: its training window was not saved with it (fit one with --save-model to record it)"
    text = (f"model: trained on {window['snapshots']} snapshots of everyone in the country from {window['first_snapshot']} to "
            f"{window['last_snapshot']}, each labelled with whether an overstay began within {window['horizon_days']} days, "
            f"as known on {window['label_as_of']}")
    if pd.Timestamp(window["label_as_of"]) > as_of:
        text += f" (after {as_of.date()}: it learnt from outcomes not yet known on the day of these lists)"
    return text


def _reasons(row) -> str:
    """The row's reasons that raise its risk, in order ("nothing on record raises..." when none does)."""
    texts = [v for k, v in row.items() if k.startswith("reason_") and k[7:].isdigit() and isinstance(v, str) and v]
    return "; ".join(texts)


def _print_lists(res, as_of: pd.Timestamp, horizon: int, top: int) -> None:
    """Per office: everyone past their permit (all of them: facts to act on), then the most likely to overstay."""
    for office, rows in res.overstays.groupby("office"):
        print(f"\n{office}: {len(rows)} past their permit on {as_of.date()} (all of them)")
        for r in rows.itertuples():
            print(f"  {r.stay_id} {r.traveller_id} {r.nationality} {r.visa_type}: permit ended {r.permit_end_now.date()}, "
                  f"{r.days_overstayed} day(s) past it")
    for office, rows in res.at_risk.groupby("office"):
        print(f"\n{office}: most likely to overstay among {len(rows)} whose permit ends within {horizon} days")
        for _, r in rows.head(top).iterrows():
            print(f"  {r['stay_id']} {r['traveller_id']} p={r['p_overstay']:.3f} permit ends {r['permit_end_now'].date()}: {_reasons(r)}")
        if len(rows) > top:
            print(f"  ... and {len(rows) - top} more in at_risk.csv")


def _cmd_monitor(args: argparse.Namespace) -> int:
    from riskmodel.core.sources.features import local_day
    from riskmodel.core.sources.monitor import monitor

    as_of = local_day(args.as_of)
    crossings, tables = _load_tables(args)
    model, window = _model(args, crossings, tables, as_of)
    res = monitor(crossings, tables, as_of, model=model, horizon_days=args.horizon)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.overstays.to_csv(out / "overstays.csv", index=False)
    res.at_risk.to_csv(out / "at_risk.csv", index=False)
    per_office = pd.DataFrame({"overstays": res.overstays.groupby("office").size(),
                               f"permit_ends_in_{args.horizon}d": res.at_risk.groupby("office").size()}).fillna(0).astype(int)
    print(f"as of {as_of.date()}: {len(res.snapshot):,} in the country, {len(res.overstays):,} past their permit, "
          f"{len(res.at_risk):,} with a permit ending within {args.horizon} days")
    print(_window_text(window, as_of))
    print(per_office.sort_values("overstays", ascending=False).to_string())
    _print_lists(res, as_of, args.horizon, args.top)
    unlinked = {name: {k: v for k, v in c.items() if k != "linked" and v} for name, c in res.link_counts.items()}
    print(f"\nunlinked records by reason: {unlinked}")
    print(f"overstays: {out / 'overstays.csv'}\nat_risk: {out / 'at_risk.csv'}")
    return EXIT_OK


def _cmd_synth_sources(args: argparse.Namespace) -> int:
    from riskmodel.core.sources.generate import make_sources
    from riskmodel.core.datasets import Dataset

    data_dir = Path(args.data)
    frames = {}
    for n in ("crossings", "stays", "truth"):
        path = data_dir / f"{n}.parquet"
        if not path.exists():
            raise InputFileError(path, "the file does not exist", "pass a folder written by `riskmodel synth`")
        try:
            frames[n] = pd.read_parquet(path)
        except read_errors() as exc:
            raise InputFileError.from_exception(path, exc) from exc
    as_of = frames["crossings"]["timestamp"].max().normalize()
    src = make_sources(Dataset(frames["crossings"], frames["stays"], frames["truth"], as_of), seed=args.seed)
    out = Path(args.out or data_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in {"crossings": src.crossings, **src.tables(), "sources_truth": src.truth}.items():
        tmp = out / f"{name}.parquet.tmp"
        table.to_parquet(tmp, index=False)
        tmp.replace(out / f"{name}.parquet")
        print(f"{name}: {out / f'{name}.parquet'} ({len(table):,} rows)")
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add ``monitor`` and ``synth-sources``."""
    p = groups.top.add_parser("monitor", help="list, per immigration office, who has overstayed and who is likely to in the next days")
    p.add_argument("--as-of", required=True, type=local_time, help="the day of the lists (everything known by its end counts)")
    p.add_argument("--data", help="folder with crossings, presence_reports, permit_applications, enforcement .parquet")
    p.add_argument("--database", nargs="?", const="", default=None,
                   help="read the tables from this SQLAlchemy URL (default: $RISKMODEL_DATABASE_URL) instead of --data")
    p.add_argument("--model", help="a saved monitoring model (default: fit one on snapshots before --as-of)")
    p.add_argument("--save-model", help="save the fitted monitoring model to this folder")
    p.add_argument("--train-months", type=int_at_least(1), default=12, help="months of snapshots to fit on (default 12)")
    p.add_argument("--label-gap-days", type=int_at_least(0), default=None,
                   help="last training snapshot this many days before --as-of, at least --horizon + --late-records-days "
                        f"(default: that sum, {HORIZON_DAYS + LATE_RECORD_DAYS})")
    p.add_argument("--late-records-days", type=int_at_least(0), default=LATE_RECORD_DAYS,
                   help=f"days a granted extension may be put on file after its decision (default {LATE_RECORD_DAYS}; "
                        "refused if the data holds later ones)")
    p.add_argument("--horizon", type=int_at_least(1), default=HORIZON_DAYS,
                   help=f"list those whose permit ends within this many days (default {HORIZON_DAYS})")
    p.add_argument("--top", type=int_at_least(0), default=5,
                   help="at-risk rows printed per office (default 5; at_risk.csv has all; every overstay is printed)")
    p.add_argument("--out", default="riskmodel-output/monitor", help="folder for overstays.csv and at_risk.csv")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_monitor, inputs=("data", "model"))

    p = groups.top.add_parser("synth-sources", help="add synthetic presence reports, permit applications and enforcement to a `synth` folder")
    p.add_argument("--data", required=True, help="a folder written by `riskmodel synth`")
    p.add_argument("--out", help="where to write (default: --data; crossings.parquet gets renewed document numbers)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_synth_sources, inputs=("data",))
