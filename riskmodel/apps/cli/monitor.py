"""``riskmodel monitor`` and ``riskmodel synth-sources``: in-country monitoring as of a date.

Exposes :func:`register`, which adds both commands to the ``riskmodel``
command's subparsers::

    riskmodel synth --travellers 20000 --out data
    riskmodel synth-sources --data data
    riskmodel monitor --as-of 2023-06-30 --data data --out lists
    # fits its model on the earlier snapshots and audits its fairness on the latest ones held out
    # (configs/risk.yaml's policy): an audit that fails or cannot judge exits 1 with no at-risk list
    # unless --allow-unfair; a source whose records mostly name nobody the crossings log held (a feed pseudonymised
    # with another key), on the day, in its last 7 days or between any two snapshot days the model is fitted on, exits 1
    # with no list before any fitting, unless --allow-unlinked; so does an exit feed down on one of the 7 days up to
    # the day (those who left would read as overstays), unless --allow-exit-gaps
    RISKMODEL_DATABASE_URL=postgresql+psycopg://... riskmodel monitor --as-of 2023-06-30 --database
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.apps.cli.command import CommandGroups, add_quiet, int_at_least, local_time
from riskmodel.apps.cli.exits import EXIT_DATA, EXIT_OK, InputFileError, read_errors
from riskmodel.core.artifacts import MANIFEST, verify_manifest, write_manifest
from riskmodel.core.config import SHIPPED_CONFIGS
from riskmodel.core.exceptions import ConfigError
from riskmodel.core.sources.monitor import HORIZON_DAYS, LATE_RECORD_DAYS, MONITOR_MIN_SNAPSHOTS, UNKNOWN_ID_RECENT_DAYS, UNKNOWN_ID_RECENT_MIN

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
#: Written beside the lists (and a saved model) when ``monitor`` fits its model: the fairness audit on the held-out snapshots.
FAIRNESS_FILE = "monitor_fairness.csv"
#: Share of the training window's snapshot days, the latest, held out to audit the fitted model on (at least
#: :data:`AUDIT_MIN_SNAPSHOTS`); the model is fitted on the earlier ones, so the audit reads outcomes it did not learn from.
AUDIT_SHARE = 0.2
AUDIT_MIN_SNAPSHOTS = 2
#: The risk config whose fairness policy and audit attributes (``fairness``, ``model.audit``) the monitor's audit uses.
RISK_CONFIG = SHIPPED_CONFIGS / "risk.yaml"


def _audit_split(dates: pd.DatetimeIndex, horizon: int, late_days: int) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """The snapshot days the model is fitted on and the later ones it is audited on.

    A snapshot's label reads the overstays beginning up to ``horizon`` days after it, and is settled only once late
    records have had ``late_days`` more to arrive; every label is read on ``--as-of``. So the fitting days end at least
    ``horizon + late_days`` days before the first audited one (the days between serve neither): else the model would
    learn outcomes, or records of them, the audit window had not yet seen.
    """
    hold = max(AUDIT_MIN_SNAPSHOTS, int(round(len(dates) * AUDIT_SHARE)))
    audit = dates[len(dates) - hold:]
    fit = dates[: max(len(dates) - hold, 0)]
    if len(audit):
        fit = fit[fit + pd.Timedelta(days=horizon + late_days) <= audit[0]]
    if len(fit) < MONITOR_MIN_SNAPSHOTS:
        raise ConfigError(f"the training window holds {len(dates)} snapshot day(s): the model needs {MONITOR_MIN_SNAPSHOTS} (to train, "
                          f"stop early and calibrate on) whose {horizon}-day horizon and {late_days} days for late records end "
                          f"before its fairness audit on the latest "
                          f"{hold} held out; give a longer --train-months (snapshots are 14 days apart).")
    return fit, audit


#: The two sets of held-out rows the monitoring model is audited on. Everyone in the country: whether a score means the
#: same for every group. The at-risk lists' candidates alone (the rows whose permit ends within the horizon, the only
#: rows a list ranks and the only ones that can overstay within it): the top 5% of everyone holds every one of them
#: whatever their order, so only this second audit sees how a list is ranked.
IN_COUNTRY, ON_LISTS = "in the country", "on the at-risk lists"


@dataclass
class MonitorAudit:
    """The monitoring model's fairness audit: one :class:`~riskmodel.core.risk.FairnessReport` per set of held-out rows
    (:data:`IN_COUNTRY`, :data:`ON_LISTS`), each with the risk config's policy, and the count of rows each audited.
    It passes when both pass."""

    parts: dict
    rows: dict

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.parts.values())

    @property
    def violations(self) -> list[str]:
        return [f"{name}: {v}" for name, r in self.parts.items() for v in r.violations]

    @property
    def notes(self) -> list[str]:
        return [f"{name}: {n}" for name, r in self.parts.items() for n in r.notes]

    @property
    def table(self) -> pd.DataFrame:
        """Both audits' tables, each row's set of rows in the first column, ``audited``."""
        return pd.concat([r.table.assign(audited=name) for name, r in self.parts.items()], ignore_index=True).pipe(
            lambda t: t[["audited", *t.columns.drop("audited")]])


def _audit(held: pd.DataFrame, p: np.ndarray, policy, horizon: int) -> MonitorAudit:
    """Audit the scores ``p`` of the held-out rows ``held`` on everyone, and on the rows the lists rank alone."""
    from riskmodel.core.risk import fairness_audit

    listed = held["days_to_permit_end"].between(0, horizon - 1).to_numpy()
    y = held["label"].to_numpy()
    # a traveller is on many snapshots (and stays): the audit's intervals resample travellers, not rows
    ids = held["traveller_id"].to_numpy() if "traveller_id" in held else None
    sets = {IN_COUNTRY: np.ones(len(held), dtype=bool), ON_LISTS: listed}
    return MonitorAudit({name: fairness_audit(held.loc[rows].reset_index(drop=True), y[rows], p[rows], policy.model.audit,
                                              policy.fairness, clusters=None if ids is None else ids[rows])
                         for name, rows in sets.items()}, {name: int(rows.sum()) for name, rows in sets.items()})


def _training_days(args: argparse.Namespace, as_of: pd.Timestamp) -> tuple[pd.Timestamp, pd.DatetimeIndex, pd.DatetimeIndex]:
    """The first day of the training window, the snapshot days a fitted model learns from and those it is audited on."""
    first = as_of - pd.DateOffset(months=args.train_months)
    # the last snapshot's label is settled --horizon days later, once late records have had --late-records-days to arrive
    gap = args.horizon + args.late_records_days if args.label_gap_days is None else args.label_gap_days
    dates = pd.date_range(first, as_of - pd.Timedelta(days=gap), freq="14D")
    fit_days, audit_days = _audit_split(dates, args.horizon, args.late_records_days)
    return first, fit_days, audit_days


def _checked_days(args: argparse.Namespace, as_of: pd.Timestamp) -> list[pd.Timestamp]:
    """The snapshot days whose records the unknown-id check judges: the lists' day, and those a fitted model learns from
    and is audited on. A feed re-keyed partway is under half on the day, yet links to nobody on the snapshots after
    (or before) the change: the model would learn that the source holds nothing on most people."""
    if args.model:
        return [as_of]
    _, fit_days, audit_days = _training_days(args, as_of)
    return [*fit_days, *audit_days, as_of]


def _model(args: argparse.Namespace, crossings: pd.DataFrame, tables: dict, as_of: pd.Timestamp, links):
    """The monitoring model, its training window, its fairness audit (None for a ``--model``) and the verdict saved
    with a ``--model`` (:func:`_saved_verdict`; None for a fitted model).

    A fitted model learns from the earlier snapshots labelled as known on ``as_of`` (the sources as ``links`` holds
    them, linked once for the run) and is audited on the latest ones.
    """
    from riskmodel.core.config import load_config
    from riskmodel.core.risk import RiskConfig
    from riskmodel.core.risk.model import RiskModel
    from riskmodel.core.sources.monitor import fit_monitor_model, monitor_training_table

    if args.model:
        signed, files = _read_model_folder(Path(args.model))
        # one read for the window and the verdict: read twice, a file rewritten in between mixed two versions
        saved = _parse_saved(files.get(WINDOW_FILE))
        window = _read_window(saved)
        if window is not None and window["horizon_days"] != args.horizon:
            # its target was an overstay beginning within its horizon: permits ending later were 0 in every row it learnt from
            raise ConfigError(f"`--horizon {args.horizon}`: the --model learnt whether an overstay began within "
                              f"{window['horizon_days']} days of a snapshot, so it cannot rank a list of {args.horizon} days; "
                              f"pass --horizon {window['horizon_days']}, or fit a model for {args.horizon} days (without --model).")
        model = RiskModel.from_files(files, where=args.model)
        return model, window, None, _saved_verdict(saved) if signed else UNSIGNED
    policy = load_config(args.risk_config or RISK_CONFIG, RiskConfig)
    first, fit_days, audit_days = _training_days(args, as_of)
    # the model's target is an overstay beginning within --horizon days of a snapshot, the at-risk list's question
    # the same snapshot days as `_checked_days`: a re-keyed feed was refused before, unless --allow-unlinked
    table = monitor_training_table(crossings, tables, fit_days.append(audit_days), as_of, horizon_days=args.horizon,
                                   late_days=args.late_records_days, allow_unlinked=args.allow_unlinked, links=links)
    # a snapshot day before the log's first entries holds nobody: the model learns nothing from it, the window must not
    # say it did ("trained on 20 snapshots from <a day before the log>")
    held_anyone = pd.DatetimeIndex(table["as_of"].unique())
    fit_days, audit_days = fit_days[fit_days.isin(held_anyone)], audit_days[audit_days.isin(held_anyone)]
    if len(fit_days) < MONITOR_MIN_SNAPSHOTS or not len(audit_days):
        raise ConfigError(f"of the snapshot days from {first.date()}, {len(fit_days)} to fit on and {len(audit_days)} to audit on "
                          f"hold anyone in the country (the model needs {MONITOR_MIN_SNAPSHOTS} and at least 1): the crossings "
                          f"log begins too close to --as-of {as_of.date()}; give a later --as-of, or a log reaching further back.")
    _say(args, f"fitting a monitoring model on {len(fit_days)} snapshots {fit_days[0].date()} .. {fit_days[-1].date()}, "
               f"auditing it on {len(audit_days)} held out {audit_days[0].date()} .. {audit_days[-1].date()}"
               + (f"; {table.attrs['no_permit_end']:,} snapshot rows left out: no permit end on file, outcome unknown"
                  if table.attrs.get("no_permit_end") else "")
               + (f"; {table.attrs['unsettled']:,} snapshot rows left out: an overstay on record on {as_of.date()} while an "
                  "application of the stay is still pending, outcome not settled" if table.attrs.get("unsettled") else ""))
    model = fit_monitor_model(table.loc[table["as_of"].isin(fit_days)], sources="all", seed=args.seed)
    held = table.loc[table["as_of"] >= audit_days[0]].reset_index(drop=True)
    audit = _audit(held, model.predict_proba(held)[:, 1], policy, args.horizon)
    window = {"first_snapshot": str(fit_days[0].date()), "last_snapshot": str(fit_days[-1].date()), "snapshots": len(fit_days),
              "label_as_of": str(as_of.date()), "horizon_days": args.horizon,
              # the link warnings overridden with --allow-unlinked ([] when every source linked on every snapshot)
              "unlinked": list(model.unlinked_ or []),
              # of those, the days early stopping chose the trees on and the later ones the calibration sits on
              **{group: {"first": str(days[0].date()), "last": str(days[-1].date()), "snapshots": len(days)}
                 for group, days in model.snapshot_days_.items() if group != "train"},
              "audit": {"rows": len(held), "list_rows": audit.rows[ON_LISTS], "snapshots": len(audit_days),
                        "first": str(audit_days[0].date()), "last": str(audit_days[-1].date()), "verdict": _verdict(audit)[0]}}
    if args.save_model and (audit.passed or args.allow_unfair):
        model.save(args.save_model)
        (Path(args.save_model) / WINDOW_FILE).write_text(json.dumps(window, indent=1), encoding="utf-8")
        audit.table.to_csv(Path(args.save_model) / FAIRNESS_FILE, index=False)
        # signed together, so that neither the verdict can be edited nor carried over to other model files without the key
        write_manifest(args.save_model)
    return model, window, audit, None


def _verdict(audit) -> tuple[str, list[str]]:
    """``"passed"``, ``"FAILED"`` (a group breaches the policy) or ``"CANNOT JUDGE"`` (too few rows), and the lines that say why.

    Each group the audit did not judge on every comparison (too few rows or overstayers) is named with its counts,
    a passed verdict included: the pass does not cover what was not judged.
    """
    unjudged = [f"not judged in full: {n}" for n in audit.notes]
    if audit.passed:
        return "passed", unjudged
    breached = audit.table.loc[audit.table["status"] == "breach"]
    if len(breached):
        groups = "; ".join(f"{name}: " + ", ".join(f"{r.group} ({r.attribute})" for r in rows.itertuples())
                           for name, rows in breached.groupby("audited", sort=False))
        return "FAILED", [f"the monitoring model treats these groups out of line with their outcomes: {groups}", *audit.violations,
                          *unjudged,
                          "fix: do not hand these at-risk lists out; find the inputs that stand in for the group (entry port, visa "
                          "type, places reported) and refit, or fit on more months (--train-months); the policy is the risk "
                          "config's `fairness` section (its owner's, never loosened to pass a model); --allow-unfair writes the "
                          "lists anyway, after a review"]
    return "CANNOT JUDGE", ["too few held-out rows to judge the model's fairness:", *audit.violations, *unjudged,
                            "fix: fit on more months (--train-months) or more data; --allow-unfair writes the lists unjudged"]


def _print_audit(audit: MonitorAudit, held: dict) -> None:
    """Per set of rows audited, per group of each audit attribute: referral and error rates, and their comparison with
    the rest with its interval."""
    verdict, why = _verdict(audit)
    print(f"\nfairness audit of the model on {held['rows']} held-out rows ({held['snapshots']} snapshots {held['first']} .. "
          f"{held['last']}; on everyone in the country, and on the rows the at-risk lists rank alone): {verdict}")
    print("  group: rows, overstays; referral rate (ratio to the rest [interval]); false-positive rate (excess [interval]); "
          "false-negative rate (difference [interval]); calibration ratio [interval]; status")
    for name, part in audit.parts.items():
        print(f"  {name}: {audit.rows[name]} rows; referred: the top scores among them, p >= {part.threshold:.3f}"
              f"{'' if name == IN_COUNTRY else ' (a permit ending within the horizon: the rows a list ranks)'}")
        for r in part.table.itertuples():
            print(f"  {r.attribute}={r.group}: {r.support}, {r.positives}; {r.referral_rate:.3f} ({r.referral_ratio:.2f} "
                  f"[{r.referral_ratio_low:.2f}, {r.referral_ratio_high:.2f}]); {r.fpr:.3f} ({r.fpr_excess:.2f} "
                  f"[{r.fpr_excess_low:.2f}, {r.fpr_excess_high:.2f}]); {r.fnr:.3f} ({r.fnr_diff:+.2f} [{r.fnr_diff_low:+.2f}, "
                  f"{r.fnr_diff_high:+.2f}]); {r.calibration_ratio:.2f} [{r.calibration_ratio_low:.2f}, "
                  f"{r.calibration_ratio_high:.2f}]; {r.status}")
    for line in why:
        print(f"  {verdict}: {line}")


#: The saved verdict of a ``--model`` folder without a signed manifest: whatever its files say, nothing vouches for them.
UNSIGNED = "not verifiable (no signed manifest.json in the --model folder: not saved by `monitor --save-model`, or altered)"


def _read_model_folder(folder: Path) -> tuple[bool, dict[str, bytes]]:
    """Whether a ``--model`` folder is signed, and the bytes of its model files and :data:`WINDOW_FILE`, each read once.

    Of a signed folder, the bytes checked against its manifest (a changed or added file is refused): parsed from
    the folder again after the check, a file rewritten in between would be used unsigned, a "passed" verdict too.
    """
    from riskmodel.core.risk.model import MODEL_FILES

    names = (WINDOW_FILE, *MODEL_FILES)
    if (folder / MANIFEST).is_file():
        return True, verify_manifest(folder, read=names)
    files = {}
    for name in names:
        try:
            files[name] = (folder / name).read_bytes()
        except OSError:
            pass  # missing: the model is refused by name, the window is "not saved"
    return False, files


def _parse_saved(data: bytes | None) -> dict | None:
    """What ``--save-model`` wrote in :data:`WINDOW_FILE`, from its bytes read once; None when missing or not a JSON object."""
    try:
        saved = json.loads(data.decode("utf-8"))
    except (AttributeError, ValueError):
        return None
    return saved if isinstance(saved, dict) else None


#: The saved verdict of a model that passed an audit of everyone in the country alone (saved before the rows the lists
#: rank were audited apart, :data:`ON_LISTS`): that audit could not see how the lists are ranked.
NOT_ON_LISTS = ("passed on everyone in the country but not audited on the at-risk lists (saved before their rows were "
                "audited alone; fit and save it again)")


def _saved_verdict(saved: dict | None) -> str:
    """The fairness verdict ``--save-model`` saved with a model (``"passed"``, ``"FAILED"``, ``"CANNOT JUDGE"``), or
    ``"not audited"``, from the :func:`_parse_saved` of a folder whose signed manifest the caller verified (a folder
    without one is :data:`UNSIGNED`, whatever its files say)."""
    try:
        verdict = saved["audit"]["verdict"]
    except (KeyError, TypeError):
        return "not audited"
    if verdict == "passed" and "list_rows" not in saved["audit"]:
        # saved when only everyone in the country was audited: a pass that could not see how its lists are ranked
        return NOT_ON_LISTS
    return verdict if isinstance(verdict, str) else "not audited"


def _saved_text(saved: str) -> str:
    """The saved verdict of a ``--model``, in a sentence."""
    return saved if saved == UNSIGNED else f"{saved} when the --model was saved"


def _read_window(saved: dict | None) -> dict | None:
    """The training window in a :func:`_parse_saved`, or None when it was not saved or does not read as one."""
    try:
        for key in ("first_snapshot", "last_snapshot", "label_as_of"):
            pd.Timestamp(saved[key])
        unlinked = saved.get("unlinked")
        return {**{k: saved[k] for k in ("first_snapshot", "last_snapshot", "snapshots", "label_as_of", "horizon_days")},
                "unlinked": [str(line) for line in unlinked] if isinstance(unlinked, list) else []}
    except (ValueError, KeyError, TypeError):
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
    if window.get("unlinked"):
        n = len(window["unlinked"])
        text += (f"\nthe model was fitted despite {n} link warning{'s' if n > 1 else ''} (--allow-unlinked): "
                 + "; ".join(window["unlinked"]))
    return text


def _reasons(row) -> str:
    """The row's reasons that raise its risk, in order ("nothing on record raises..." when none does)."""
    texts = [v for k, v in row.items() if k.startswith("reason_") and k[7:].isdigit() and isinstance(v, str) and v]
    return "; ".join(texts)


def _print_lists(res, as_of: pd.Timestamp, horizon: int, top: int) -> None:
    """Per office: everyone past their permit (all of them: facts to act on), then the most likely to overstay.

    Each row is named by its line in ``overstays.csv`` / ``at_risk.csv`` (the header is line 1), never by its
    ``stay_id`` or ``traveller_id``: a scheduled run's console goes to its log (cron, Airflow), which is no place for
    the ids of the people listed; the CSVs hold them.
    """
    overstays = res.overstays.assign(csv_line=np.arange(len(res.overstays)) + 2)
    for office, rows in overstays.groupby("office"):
        print(f"\n{office}: {len(rows)} past their permit on {as_of.date()} (all of them)")
        for r in rows.itertuples():
            print(f"  overstays.csv line {r.csv_line}: {r.nationality} {r.visa_type}: permit ended {r.permit_end_now.date()}, "
                  f"{r.days_overstayed} day(s) past it")
    at_risk = res.at_risk.assign(csv_line=np.arange(len(res.at_risk)) + 2)
    for office, rows in at_risk.groupby("office"):
        print(f"\n{office}: most likely to overstay among {len(rows)} whose permit ends within {horizon} days")
        for _, r in rows.head(top).iterrows():
            print(f"  at_risk.csv line {r['csv_line']}: p={r['p_overstay']:.3f} permit ends {r['permit_end_now'].date()}: {_reasons(r)}")
        if len(rows) > top:
            print(f"  ... and {len(rows) - top} more in at_risk.csv")


#: The lists a run writes in ``--out``; removed when a run refuses them, so that an earlier run's cannot pass for its own.
LIST_FILES = ("overstays.csv", "at_risk.csv", "no_permit_end.csv", FAIRNESS_FILE)


def _refuse_unlinked(args: argparse.Namespace, warnings: list[str]) -> int:
    """Exit :data:`EXIT_DATA` with no list: a source is linked to almost nobody (``--allow-unlinked`` writes them anyway).

    A duty manager would rather have no list than a wrong one that looks normal: with the permit applications
    linked to nobody every extended traveller becomes an "actual overstay" (a fact, says the list, that an officer
    may act on); with the presence reports linked to nobody everyone looks never reported, and the at-risk ranking
    is of that. Exit 1 ("the data has problems") tells a scheduler to fix the extract, not to retry. The check
    comes before fitting: a model fitted on the same feed learnt from nothing, and must not be saved either.
    """
    out = Path(args.out)
    for name in LIST_FILES:
        (out / name).unlink(missing_ok=True)
    message = (f"REFUSED: {' '.join(warnings)} No lists written; --allow-unlinked writes them anyway, after a review "
               f"(e.g. a source known to be incomplete today).")
    print(message)
    print(message, file=sys.stderr, flush=True)
    return EXIT_DATA


def _refuse_exit_gaps(args: argparse.Namespace, as_of: pd.Timestamp, warnings: list[str]) -> int:
    """Exit :data:`EXIT_DATA` with no list: the exit feed of the days before ``as_of`` is down (``--allow-exit-gaps``
    writes them anyway); the audit record holds the warning.

    Whoever left on those days reads as in the country, and as an overstay once past the permit: the overstays list
    is "facts to act on", so a list with names of people who left must not go out looking normal (a warning on a
    scheduled run's console is read after the officers acted). Refused before any fitting, as a source linked to
    nobody is; an earlier run's lists in ``--out`` are removed so that they cannot pass for this day's.
    """
    from riskmodel.core.audit import append

    out = Path(args.out)
    for name in LIST_FILES:
        (out / name).unlink(missing_ok=True)
    # the refusal is recorded too: the day's lists were asked for and not handed out, and why
    append("monitor", as_of=str(as_of.date()), refused="exit feed down", overstays_written=False, at_risk_written=False,
           exit_feed_warnings=warnings, purpose=args.purpose)
    message = ("REFUSED: the exit feed of the days before the lists' day is down (above); no lists written. Re-export "
               "those exits and run again; --allow-exit-gaps writes the lists anyway, after a review (e.g. a border "
               "post known to be shut).")
    for stream in (sys.stdout, sys.stderr):
        for line in warnings:
            print(f"WARNING: {line}", file=stream)
        print(message, file=stream, flush=True)
    return EXIT_DATA


def _cmd_monitor(args: argparse.Namespace) -> int:
    from riskmodel.core.sources.features import local_day
    from riskmodel.core.sources.monitor import check_log_covers, exit_feed_warnings, monitor

    from riskmodel.core import audit as audit_log

    try:  # its audit record holds the purpose as given, and no identifier
        audit_log.check_purpose(args.purpose)
    except ValueError as exc:
        raise ConfigError(f"--purpose: {exc}") from None
    as_of = local_day(args.as_of)
    crossings, tables = _load_tables(args)
    check_log_covers(crossings, as_of, "--as-of")  # before fitting: the labels read that day would be as wrong as the lists
    # before fitting: those who left on days whose exits are missing read as in the country, overstays on the lists
    exit_gaps = exit_feed_warnings(crossings, as_of)
    if exit_gaps and not args.allow_exit_gaps:
        return _refuse_exit_gaps(args, as_of, exit_gaps)
    links, unlinked = _linked_once(args, crossings, tables, as_of)
    if unlinked and not args.allow_unlinked:
        return _refuse_unlinked(args, unlinked)
    # a --model is refused unless it was saved after a passed audit: saved with --allow-unfair, it is no fairer when reused
    model, window, audit, saved = _model(args, crossings, tables, as_of, links)
    refused = ((audit is not None and not audit.passed) or saved not in (None, "passed")) and not args.allow_unfair
    res = monitor(crossings, tables, as_of, model=model, horizon_days=args.horizon, links=links)
    _audit_the_scoring(args, as_of, res, audit, saved, refused, exit_gaps)
    out = Path(args.out)
    _write_lists(out, res, audit, refused)
    per_office = _per_office(res, args.horizon)
    _print_counts(args, as_of, res, window, audit, saved, exit_gaps)
    if refused:
        return _refuse_unfair(args, out, audit, saved)
    if (audit is not None and not audit.passed) or saved not in (None, "passed"):
        verdict = _verdict(audit)[0] if audit is not None else _saved_text(saved)
        print(f"\nWARNING: fairness audit {verdict}; at-risk lists written anyway (--allow-unfair)")
    print(per_office.sort_values("overstays", ascending=False).to_string())
    _print_lists(res, as_of, args.horizon, args.top)
    unlinked = {name: {k: v for k, v in c.items() if k != "linked" and v} for name, c in res.link_counts.items()}
    print(f"\nunlinked records by reason: {unlinked}")
    print(f"overstays: {out / 'overstays.csv'}\nat_risk: {out / 'at_risk.csv'}\nno_permit_end: {out / 'no_permit_end.csv'}"
          + (f"\nfairness: {out / FAIRNESS_FILE}" if audit is not None else ""))
    return EXIT_OK


def _linked_once(args: argparse.Namespace, crossings: pd.DataFrame, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp):
    """``(links, unlinked)``: the sources linked once as of the day, and the warnings of a source linked to almost
    nobody or of ids unknown over the checked days (each source named once), which refuse the lists."""
    from riskmodel.core.sources.features import link_sources
    from riskmodel.core.sources.monitor import link_warnings, unknown_id_periods

    # linked once as of the day (inputs checked): the checks, the labels and the lists all read the sources as of its end
    links = link_sources(crossings, tables, as_of)
    unlinked = link_warnings(crossings, tables, as_of, links=links)
    named = {line.split(":", 1)[0] for line in unlinked}
    unlinked += [line for line in unknown_id_periods(crossings, tables, _checked_days(args, as_of), links=links)
                 if line.split(":", 1)[0] not in named]
    return links, unlinked


def _audit_the_scoring(args: argparse.Namespace, as_of: pd.Timestamp, res, audit, saved, refused: bool,
                       exit_gaps: list[str]) -> None:
    """The run's audit record: its counts, the fairness verdict, the exit feed's warnings (``[]`` when none; lists
    written despite them with ``--allow-exit-gaps``) and a digest of the scores (no id, no value)."""
    from riskmodel.core import audit as audit_log

    # everyone in the country was scored: a scoring call, audited as score() and the batch jobs are (no id, no value)
    verdict = _verdict(audit)[0] if audit is not None else _saved_text(saved)
    audit_log.append("monitor", model="fitted in this run" if not args.model else "saved (--model)", as_of=str(as_of.date()),
                 in_country=len(res.snapshot), overstays=len(res.overstays), at_risk=len(res.at_risk),
                 at_risk_written=not refused, fairness=verdict, exit_feed_warnings=exit_gaps,
                 scores_digest=audit_log.digest(res.snapshot["p_overstay"].to_numpy(dtype=float) if "p_overstay" in res.snapshot
                                            else np.zeros(0)), purpose=args.purpose)


def _write_lists(out: Path, res, audit, refused: bool) -> None:
    """Write the run's lists in ``out``, removing first an audit or at-risk list an earlier run left there; the at-risk
    list only when the audit did not refuse it."""
    out.mkdir(parents=True, exist_ok=True)
    res.overstays.to_csv(out / "overstays.csv", index=False)
    # facts from the records as the overstays are: who cannot be judged for want of a permit end, to chase
    res.no_permit_end.to_csv(out / "no_permit_end.csv", index=False)
    # an audit or at-risk list left by an earlier run must not pass for this run's
    (out / FAIRNESS_FILE).unlink(missing_ok=True)
    (out / "at_risk.csv").unlink(missing_ok=True)
    if audit is not None:
        audit.table.to_csv(out / FAIRNESS_FILE, index=False)
    if not refused:
        res.at_risk.to_csv(out / "at_risk.csv", index=False)


def _per_office(res, horizon: int) -> pd.DataFrame:
    """The workload per office: overstays, permits ending within the horizon, no permit end on file."""
    return pd.DataFrame({"overstays": res.overstays.groupby("office").size(),
                         f"permit_ends_in_{horizon}d": res.at_risk.groupby("office").size(),
                         "no_permit_end": res.no_permit_end.groupby("office").size()}).fillna(0).astype(int)


def _print_counts(args: argparse.Namespace, as_of: pd.Timestamp, res, window, audit, saved, exit_gaps: list[str]) -> None:
    """The run's counts, the window, the source warnings (the exit feed's in the days before ``as_of`` among them,
    overridden with ``--allow-exit-gaps``) and the audit, printed before any refusal so that a refused run still says
    what it counted (and left out)."""
    print(f"as of {as_of.date()}: {len(res.snapshot):,} in the country, {len(res.overstays):,} past their permit, "
          f"{len(res.at_risk):,} with a permit ending within {args.horizon} days, "
          f"{len(res.no_permit_end):,} with no permit end on file (not judged: chase their permit record)")
    # with the count in the country, whatever is refused after: an open entry counted out is not lost from it silently
    left_out = {k: v for k, v in res.stay_counts.items() if k != "in_country"}
    print(f"entries with no exit on file not counted in the country, by reason: {left_out}")
    print(_window_text(window, as_of))
    for line in res.warnings:
        print(f"WARNING: {line} Lists written anyway (--allow-unlinked).")
        print(f"WARNING: {line}", file=sys.stderr, flush=True)
    for line in exit_gaps:  # names on the overstays list that left: said where a scheduler reads
        print(f"WARNING: {line} Lists written anyway (--allow-exit-gaps).")
        print(f"WARNING: {line}", file=sys.stderr, flush=True)
    if audit is None:
        print("fairness: not audited in this run (a --model is used as saved; `monitor` audits the models it fits, "
              f"{FAIRNESS_FILE} beside a saved one); its audit when saved: {saved}")
    else:
        _print_audit(audit, window["audit"])


def _refuse_unfair(args: argparse.Namespace, out: Path, audit, saved) -> int:
    """Exit :data:`EXIT_DATA` after the overstays are written and no at-risk list: the monitoring model's audit failed
    (or a --model was saved without a passed one), and no --allow-unfair; stderr gets the reasons with the refusal."""
    verdict, why = _verdict(audit) if audit is not None else (
        _saved_text(saved), ["fix: fit the model here (without --model) to audit it, or --allow-unfair after a review"])
    audit_at = out / FAIRNESS_FILE if audit is not None else Path(args.model) / FAIRNESS_FILE
    message = (f"REFUSED: the fairness audit of the monitoring model: {verdict}; no at-risk list written (the overstays in "
               f"{out / 'overstays.csv'} are facts, not scores; the audit in {audit_at}).")
    print(f"\n{message}")
    # the reasons are under the audit above; a scheduler reading stderr gets them with the refusal
    print(f"{message} " + " ".join(why), file=sys.stderr, flush=True)
    return EXIT_DATA


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
    p.add_argument("--model", help="a saved monitoring model (default: fit one on snapshots before --as-of); refused with "
                                   "another --horizon than it was fitted for")
    p.add_argument("--save-model", help="save the fitted monitoring model to this folder (not when its fairness audit refuses it), with its "
                                        "training window and audit, signed with the key of $RISKMODEL_SIGNING_KEY or "
                                        "./riskmodel-signing.key: a --model whose files changed since is refused")
    p.add_argument("--risk-config", help="risk config whose `fairness` policy and `model.audit` attributes audit a fitted model "
                                         "(default: riskmodel's shipped configs/risk.yaml: riskmodel/configs, the clone's configs/)")
    p.add_argument("--allow-unfair", action="store_true",
                   help=f"write the at-risk lists even when the fairness audit of the fitted model fails or cannot judge, or a "
                        f"--model was saved without a passed audit (default: exit {EXIT_DATA} without them)")
    p.add_argument("--allow-unlinked", action="store_true",
                   help="write the lists even when more than half the records of a source name a traveller or document the "
                        f"crossings log never held: of those on file on --as-of, of those of its last {UNKNOWN_ID_RECENT_DAYS} days "
                        f"(at least {UNKNOWN_ID_RECENT_MIN}), or of those that arrived between two snapshot days the model is fitted "
                        f"on (a feed pseudonymised with another key, from some day on; default: exit {EXIT_DATA} without them)")
    p.add_argument("--allow-exit-gaps", action="store_true",
                   help="write the lists even when the exits recorded on one of the 7 days up to --as-of fall far below "
                        "the same weekday's usual, in all or at one port (the exit feed down, or a port's exit file missing: "
                        "whoever left then reads as in the country, and as an "
                        f"overstay once past the permit; default: exit {EXIT_DATA} without them)")
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
    p.add_argument("--out", default="riskmodel-output/monitor",
                   help=f"folder for overstays.csv, at_risk.csv, no_permit_end.csv and {FAIRNESS_FILE}")
    p.add_argument("--seed", type=int, default=0, help="random seed of the fitted monitoring model (default: %(default)s)")
    p.add_argument("--purpose", default="in-country monitoring lists",
                   help="recorded in the audit log with the run's counts; say why, not whom: a run of 5 or more digits "
                        "(an id, a passport or a phone number) is refused (default: %(default)s)")
    add_quiet(p)
    p.set_defaults(func=_cmd_monitor, inputs=("data", "model", "risk_config"))

    p = groups.top.add_parser("synth-sources", help="add synthetic presence reports, permit applications and enforcement to a `synth` folder")
    p.add_argument("--data", required=True, help="a folder written by `riskmodel synth`")
    p.add_argument("--out", help="where to write (default: --data; crossings.parquet gets renewed document numbers)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the generated records (default: %(default)s)")
    p.set_defaults(func=_cmd_synth_sources, inputs=("data",))
