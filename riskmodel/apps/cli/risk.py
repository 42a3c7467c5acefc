"""Risk commands: ``train risk`` (and its ``--tune``), ``promote risk``, ``score``, ``evaluate-scores``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from riskmodel.apps.cli.command import CommandGroups, Progress, add_quiet, add_rollback, read_table, report_decision
from riskmodel.apps.cli.exits import EXIT_OK

__all__ = ["register"]


def _cmd_train_risk(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.risk import train, tune

    if args.tune:
        path = tune(args.config, args.tune, progress=Progress(args.quiet))
        print(f"tuned config: {path} (trials are child runs in MLflow)")
        return EXIT_OK
    with Progress(args.quiet) as progress:
        outcome = train(args.config, log=not args.no_log, progress=progress, on_progress=progress.count)
    m = outcome.result.metrics
    for key in ("roc_auc", "pr_auc", "ece", "precision_at_1pct", "recall_at_5pct", "prauc_over_logreg", "fairness_passed"):
        print(f"{key}: {m[key]:.4f}")
    if outcome.logged is not None:
        print(f"model: {outcome.logged.model_uri} (alias challenger), run {outcome.logged.run_id}")
    return EXIT_OK


def _cmd_promote_risk(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.risk import promote

    return report_decision(promote(args.config))


def _registered_name(config: str) -> str:
    from riskmodel.apps.pipelines.risk import load_risk_config

    return load_risk_config(config).tracking.registered_name


def _score_options(args: argparse.Namespace) -> dict:
    """The options ``score_file`` and ``score_parquet`` share."""
    return {
        "reasons": args.reasons,
        "reasons_min_band": None if args.reasons_min_band == "all" else args.reasons_min_band,
        "errors": args.errors,
        "passthrough": tuple(args.passthrough),
        "overwrite": args.overwrite,
        "purpose": args.purpose,
    }


def _input_columns(path: Path) -> list[str]:
    """Column names of a Parquet file or folder, or of a CSV file, without reading its rows."""
    if path.suffix == ".csv":
        import pandas as pd

        from riskmodel.core.csv_files import check_header

        check_header(path)  # a header separated by ';' is one column: every feature would be called missing
        return list(pd.read_csv(path, nrows=0).columns)
    import pyarrow.dataset as ds

    return list(ds.dataset(str(path), format="parquet").schema.names)


def _require_features(args: argparse.Namespace) -> None:
    """Refuse (exit 1) an input without the model's feature columns, naming the command that builds them.

    Scoring it would flag every row and still exit 0: a nightly job fed raw stays must stop instead.
    """
    from riskmodel.api import load
    from riskmodel.core.exceptions import SchemaError, SchemaProblem
    from riskmodel.core.score_input import Problems, absent_features

    loaded = load(args.model)
    features = getattr(getattr(loaded, "model", None), "features", None)
    if features is None:
        return  # a forecaster: score_file names that itself
    found = Problems(0)
    if not absent_features(list(features), _input_columns(Path(args.input)), found):
        return
    build = (f"build the feature table from the crossings log first: riskmodel features CROSSINGS "
             f"{Path(args.input).stem}-features.parquet --as-of DATE, then score that")
    raise SchemaError(args.input, [SchemaProblem(c, problem, f"{fix}; or {build}") for (c, problem, fix) in found.masks])


def drift_line(summary: dict) -> str:
    """The run summary's PSI of the columns at 0.1 or more, saying what it compares with (also ``riskmodel nightly``'s).

    The reference is the model's training entries: an in-country population differs from entries on every night (long
    stays are over-represented) and travel-history counts grow with the log, so "major shift" there is no feed fault;
    the nights are judged like with like by ``riskmodel nightly --previous`` and by ``nightly_checks`` (the main job's
    drift.csv), which the line names as a shell user reaches them.
    """
    psi, verdict = summary["psi"], summary["psi_verdict"]
    shifted = {k: v for k, v in psi.items() if v is not None and v >= 0.1}
    return ("drift against the model's training entries (PSI >= 0.1; an in-country population differs from them on every "
            "night: a feed is judged like with like, night against night, by `riskmodel nightly --previous` or the main "
            "job's drift.csv): "
            + (", ".join(f"{k} {v:.3f} ({verdict[k]})" for k, v in sorted(shifted.items())) or "none"))


def _print_flagged(by_column: dict[str, int] | None) -> None:
    """Flagged rows are not scored: which columns to fix, and for how many rows (either engine)."""
    if by_column:
        print("flagged rows by column (their `error` column says what is wrong): "
              + ", ".join(f"{c} {n:,}" for c, n in by_column.items()))


def _cmd_score(args: argparse.Namespace) -> int:
    from riskmodel.core import audit
    from riskmodel.core.exceptions import ConfigError

    try:  # before the model is loaded: the audit record holds the purpose as given, and no identifier
        audit.check_purpose(args.purpose)
    except ValueError as exc:
        raise ConfigError(f"--purpose: {exc}") from None
    _require_features(args)
    if args.engine == "spark":
        from riskmodel.api import score_parquet  # pyspark is imported only by the spark integration

        done = score_parquet(args.input, args.output, model=args.model, **_score_options(args))
        print(f"rows in: {done.rows_in:,}  rows out: {done.rows_out:,}  (spark)")
        print("bands: " + ", ".join(f"{k} {v:,}" for k, v in done.extra["band_counts"].items()))
        _print_flagged(done.extra["flagged_by_column"])
        print(f"output: {done.output}")
        return EXIT_OK
    from riskmodel.api import score_file

    with Progress(args.quiet) as progress:  # rows scored with an ETA: in place on a terminal, plain lines in a log
        result = score_file(
            args.input, args.output, model=args.model, chunk_rows=args.chunk_rows, progress=progress.count, **_score_options(args),
        )
    s = result.extra["summary"]
    print(f"rows in: {result.rows_in:,}  rows out: {result.rows_out:,}  (resumed {result.resumed_parts} of {result.parts} parts)")
    print("bands: " + ", ".join(f"{k} {v:,}" for k, v in s["band_counts"].items()))
    _print_flagged(s.get("flagged_by_column"))
    print(drift_line(s))
    print(f"summary: {result.extra['summary_path']}")
    return EXIT_OK


def _cmd_evaluate_scores(args: argparse.Namespace) -> int:
    from riskmodel.integrations.batch.scoring import evaluate_scores

    scored = read_table(Path(args.scored))
    outcomes = read_table(Path(args.outcomes))
    table = evaluate_scores(scored, outcomes)
    if args.out:
        table.to_csv(args.out, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if table.attrs.get("pending"):
        months = table.loc[(table["slice"] == "month") & (table["pending"] > 0), ["value", "pending"]]
        print(f"not settled: {table.attrs['pending']:,} scored stays whose outcome is not known yet (`pending`; e.g. still in the "
              f"country with the permit running, or past it while the visa allows an extension, recorded only at exit), in {', '.join(f'{m} ({n:,})' for m, n in months.itertuples(index=False)) or 'no month'}: "
              "those slices' figures are of the stays that ended, which lean to early leavers; read them again once pending is 0")
    if table.attrs.get("not_in_outcomes"):
        print(f"not in the outcomes: {table.attrs['not_in_outcomes']:,} scored stays the outcomes file does not hold (check that "
              "it covers the scored stays' entries, and that the ids match)")
    if table.attrs.get("unscored"):
        print(f"left out: {table.attrs['unscored']:,} stays with a known outcome whose score was flagged (no probability; see "
              "the scores' `error` column)")
    if args.track or os.environ.get("MLFLOW_TRACKING_URI"):
        from riskmodel.integrations.tracking.monitoring import log_table

        run = log_table("overstay-risk-outcomes", table, name="realised_accuracy",
                        metric_columns=("roc_auc", "pr_auc", "ece", "referral_precision"))
        print(f"logged to MLflow run {run}")
    return EXIT_OK


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a Parquet/CSV file or folder of stays in chunks, resumably")
    p.add_argument("input", help="Parquet file, folder of Parquet parts, or CSV file of stays with features")
    p.add_argument("output", help="output folder of parts, or a .parquet/.csv file")
    p.add_argument("--model", required=True, help="models:/overstay-risk@champion, a run URI, or a local model folder")
    p.add_argument("--reasons", type=int, default=3, help="reasons per row (default: %(default)s)")
    p.add_argument("--reasons-min-band", choices=("elevated", "high", "all"), default="elevated",
                   help="compute reasons only for rows in this band or above (default: %(default)s)")
    p.add_argument("--errors", choices=("flag", "raise"), default="flag", help="bad rows: flag them, or stop (default: %(default)s)")
    p.add_argument("--passthrough", nargs="*", default=[], help="input columns to copy to the output")
    p.add_argument("--chunk-rows", type=int, default=200_000, help="rows per chunk (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an output made by a different job")
    p.add_argument("--purpose", default="nightly batch", help="recorded in the audit log (default: %(default)s)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: chunked, resumable, with a drift summary; spark: Parquet in and out through Spark "
                        "(the active session under spark-submit, else local; needs the spark extra) (default: %(default)s)")
    add_quiet(p)
    p.set_defaults(func=_cmd_score, inputs=("input",))


def register(groups: CommandGroups) -> None:
    """Add ``train risk``, ``promote risk``, ``score`` and ``evaluate-scores``."""
    p = groups.train.add_parser("risk", help="train the overstay-risk classifier and register it as challenger")
    p.add_argument("--config", default="configs/risk.yaml", help="risk config (default: %(default)s)")
    p.add_argument("--no-log", action="store_true", help="train and evaluate only; nothing goes to MLflow")
    p.add_argument("--tune", metavar="OUT_YAML", help="instead of training, search parameters (config `tuning`) and write the tuned config here")
    add_quiet(p)
    p.set_defaults(func=_cmd_train_risk, inputs=("config",))

    p = groups.promote.add_parser("risk", help="promote overstay-risk@challenger to champion if the config's gate passes")
    p.add_argument("--config", default="configs/risk.yaml", help="risk config with the gate (default: %(default)s)")
    p.set_defaults(func=_cmd_promote_risk, inputs=("config",))
    add_rollback(groups.rollback, "risk", "configs/risk.yaml", _registered_name)

    _add_score(groups.top)

    p = groups.top.add_parser("evaluate-scores", help="realised accuracy of past scores against outcomes that have matured")
    p.add_argument("scored", help="scores written by `riskmodel score` (file or folder)")
    p.add_argument("outcomes", help="stays with matured labels (`overstayed`), e.g. from `riskmodel synth`")
    p.add_argument("--out", help="also write the table as CSV")
    p.add_argument("--track", action="store_true", help="log to MLflow even without MLFLOW_TRACKING_URI")
    p.set_defaults(func=_cmd_evaluate_scores, inputs=("scored", "outcomes"))
