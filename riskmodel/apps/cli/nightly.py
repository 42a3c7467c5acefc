"""The nightly Spark run command: ``riskmodel nightly``.

The run itself is :func:`riskmodel.integrations.spark_nightly.nightly_spark`; this
module adds what the integrations may not do together: the model resolved by
:func:`riskmodel.load` (any URI, through the tracking integration) and the run's audit
record written to the tracking store (MLflow), not to a file on the driver.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from riskmodel.apps.cli.command import CommandGroups, add_quiet, int_at_least, local_time
from riskmodel.apps.cli.exits import EXIT_NIGHT_RED, EXIT_OK
from riskmodel.apps.cli.progress import Progress

__all__ = ["register", "audit_record", "NIGHTLY_EXPERIMENT"]

#: The MLflow experiment that holds one run (summary metrics and ``audit.json``) per nightly run.
NIGHTLY_EXPERIMENT = "overstay-risk-nightly"


def audit_record(result, *, purpose: str | None) -> dict[str, Any]:
    """The audit record of a nightly run: model, settings and counts, no identifiers.

    Parameters
    ----------
    result : BatchResult
        What :func:`~riskmodel.integrations.spark_nightly.nightly_spark` returned.
    purpose : str, optional
        Why the run was made (recorded as given).

    Returns
    -------
    dict
        ``time, event ("nightly_spark"), engine, model_name, model_version, model_sha256,
        as_of, scope, rows, band_counts, parts, resumed_parts, output, night_verdict, night_summary,
        baseline_accepted, purpose`` (``night_*``: tonight's population against the last good night's, ``--previous``;
        ``baseline_accepted``: who accepted tonight as the new baseline, why and when, ``--accept-baseline``, or None).
    """
    s = result.extra["summary"]
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "event": "nightly_spark",
        "engine": "spark",
        "model_name": s["model_name"],
        "model_version": s["model_version"],
        "model_sha256": s["model_sha256"],
        "as_of": s["as_of"],
        "scope": s["scope"],
        "rows": result.rows_out,
        "band_counts": s["band_counts"],
        "parts": result.parts,
        "resumed_parts": result.resumed_parts,
        "output": str(result.output),
        "night_verdict": s.get("night_verdict"),
        "night_summary": s.get("night_summary"),
        "baseline_accepted": s.get("night_accepted"),
        "purpose": purpose,
    }


def _parts(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int_at_least(1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither auto nor a whole number >= 1") from None


_parts.__name__ = "parts"  # argparse names the type in its messages


def _cmd_nightly(args: argparse.Namespace) -> int:
    # pyspark is imported only inside the Spark integration, when the run starts
    from riskmodel.api import load
    from riskmodel.apps.cli.risk import drift_line
    from riskmodel.core import audit
    from riskmodel.core.exceptions import ConfigError
    from riskmodel.integrations.spark_nightly import accept_night, nightly_spark

    try:  # its audit record is written after the run: a purpose that could name someone is refused before it starts
        audit.check_purpose(args.purpose)
        audit.check_purpose(args.accept_baseline, "accept-baseline")
    except ValueError as exc:
        raise ConfigError(f"--purpose / --accept-baseline: {exc}") from None
    if (args.accept_baseline is None) != (args.accepted_by is None) or (args.accepted_by is not None and not (
            args.accept_baseline.strip() and args.accepted_by.strip())):
        raise ConfigError("--accept-baseline WHY and --accepted-by WHO go together, neither blank: accepting tonight as "
                          "the new baseline is a person's decision, recorded with who took it and why. Fix: pass both.")
    scorer = load(args.model)
    with Progress(args.quiet) as progress:  # buckets written, with an ETA (a national run takes minutes)
        result = nightly_spark(args.crossings, args.output, model=scorer, as_of=args.as_of, scope=args.scope,
                               parts=args.parts, overwrite=args.overwrite, previous=args.previous, on_progress=progress.count)
    if args.accept_baseline is not None:  # a person's decision, after the night is judged: recorded, then _SUCCESS
        result.extra["summary"] = accept_night(result.output, by=args.accepted_by, why=args.accept_baseline)
    s = result.extra["summary"]
    print(f"stays scored: {result.rows_out:,}  (resumed {result.resumed_parts} of {result.parts} parts; spark)")
    print("bands: " + ", ".join(f"{k} {v:,}" for k, v in s["band_counts"].items()))
    # the verdict: like with like; the training-entries line after it says what it is (no verdict on a feed)
    night = (f"drift against the previous night (tonight's population against the last good night's, kept in "
             f"--previous/_summary): {s['night_summary']}")
    print(night)
    if s["night_verdict"] in ("red", "amber"):  # where a scheduler reads, as the monitor's warnings
        print(night, file=sys.stderr, flush=True)
    if s["night_verdict"] == "not judged" and args.previous is not None:  # asked for, not done: tonight has no guard
        print(f"WARNING: tonight is not judged although --previous was given ({args.previous}): {s['night_summary']}",
              file=sys.stderr, flush=True)
    print(drift_line(s))
    print(f"output: {result.output}")
    if args.track:
        from riskmodel.integrations.tracking.monitoring import log_summary

        run_id = log_summary(NIGHTLY_EXPERIMENT, s, run_name=f"nightly {s['model_name']} v{s['model_version']} as of {s['as_of']}",
                             records={"audit.json": audit_record(result, purpose=args.purpose)})
        print(f"audit record: tracking run {run_id} (experiment {NIGHTLY_EXPERIMENT})")
    if s["night_verdict"] == "red" and not s.get("night_accepted"):
        # the scores are written (a rerun resumes them) but must not go out looking like any night's: the exit code for
        # the scheduler, no _SUCCESS for a job waiting on the folder, and what a person must do, where a scheduler reads
        text = (f"NOT TO BE USED (exit {EXIT_NIGHT_RED}): tonight's scores are written to {result.output}, but tonight's "
                "data read red against the last good night (the line above: what moved, the fix), so the folder has no "
                "_SUCCESS marker: do not use tonight's scores or lists until the export is checked. A broken export: "
                "rerun this command on the corrected log with --overwrite. A real change (a new port, a new rule): rerun "
                "this command as it was with --accept-baseline WHY --accepted-by WHO (the scores are reused; tonight "
                "becomes the baseline; recorded in the summary and the audit record).")
        print(text)
        print(text, file=sys.stderr, flush=True)
        return EXIT_NIGHT_RED
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add ``nightly``."""
    p = groups.top.add_parser(
        "nightly",
        help="the nightly run on Spark: crossings log -> features -> scores, drift, audit (resumable)",
        description="Read the crossings log (Parquet, any Hadoop-compatible URI), build stays and point-in-time "
        "features on Spark, score them with the batch defaults (bad rows flagged, reasons for elevated and high), "
        "write Parquet per traveller bucket (OUTPUT/part=K/), a drift summary (OUTPUT/_summary: tonight's population "
        "against the --previous night's profile, and tonight's profile for the next night) and an audit "
        "record to the tracking store. Rerun the same command to resume a killed run. Uses the active Spark "
        "session (spark-submit, Spark Connect via SPARK_REMOTE), else local[2]. Exit 0: the night is done and its "
        "outputs usable (OUTPUT/_SUCCESS written; an amber line on stderr asks for a look); exit 5: every output is "
        "written but tonight read red against the last good night: not to be used (no _SUCCESS) until checked; "
        "exit 1-4: the run failed (no _SUCCESS; rerun once fixed, finished buckets are reused).",
    )
    p.add_argument("crossings", help="crossings log: Parquet file or folder URI (hdfs://, s3a://, abfss://, gs://, file:/)")
    p.add_argument("output", help="output folder URI")
    p.add_argument("--model", default="models:/overstay-risk@champion", help="risk model URI (default: %(default)s)")
    p.add_argument("--as-of", type=local_time, help="read the log as known at this local time (default: its last crossing)")
    p.add_argument("--scope", choices=("in_country", "all"), default="in_country",
                   help="stays with no exit at --as-of (everyone in the country), or all (default: %(default)s)")
    p.add_argument("--parts", type=_parts, default="auto",
                   help="traveller buckets, the unit of resuming: a whole number >= 1, or auto = one per 2 million "
                   "crossings, about a million stays (default: %(default)s)")
    p.add_argument("--previous",
                   help="the previous night's output folder: tonight's population is judged against the profile it kept "
                   "(OUTPUT/_summary: bin counts, no identifier); without it (or when its summary cannot be read) the "
                   "night is a first night, not judged")
    p.add_argument("--accept-baseline", metavar="WHY",
                   help="a real change (a new port, a new rule) read red: accept tonight as the new baseline of every "
                   "column, saying why (with --accepted-by). Tonight is still judged and reported as it is; the acceptance "
                   "(who, why, when) goes into _summary and the audit record, and the night gets its _SUCCESS (exit 0). "
                   "Rerun the red night's command with it: its buckets are reused. Without it, a change stays red every night")
    p.add_argument("--accepted-by", metavar="WHO", help="who accepts tonight as the baseline (a name or role; with --accept-baseline)")
    p.add_argument("--overwrite", action="store_true", help="start again instead of resuming an earlier run at OUTPUT")
    p.add_argument("--purpose", default="nightly batch", help="recorded in the audit record (default: %(default)s)")
    p.add_argument("--no-track", dest="track", action="store_false",
                   help="do not write the audit record and summary to the tracking store (MLFLOW_TRACKING_URI)")
    add_quiet(p)
    p.set_defaults(func=_cmd_nightly, inputs=())
