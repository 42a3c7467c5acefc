"""The ``riskmodel`` command line.

Every command is a thin shell over a public function of the library, so what
the CLI does can also be done in Python. Run ``riskmodel --help`` or
``riskmodel COMMAND --help``; the CLI reference in the README is generated from
this parser (``riskmodel cli-reference``), so it cannot drift.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from riskmodel.core.exceptions import RiskModelError

__all__ = ["main", "build_parser"]

DEFAULT_OUTPUT = Path("riskmodel-output")


class _Progress:
    """Step-by-step progress lines on stderr (silent with ``--quiet``)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- data commands


def _write_dataset(data, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("crossings", "stays", "truth"):
        path = out / f"{name}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        getattr(data, name).to_parquet(tmp, index=False)
        tmp.replace(path)  # atomic: a killed run never leaves a half-written file
        paths[name] = path
    return paths


def _cmd_synth(args: argparse.Namespace) -> int:
    from riskmodel.core.datasets import make_crossings

    progress = _Progress(args.quiet)
    progress(f"generating {args.travellers:,} travellers, {args.start} .. {args.end}, seed {args.seed}")
    data = make_crossings(args.travellers, args.start, args.end, seed=args.seed, covid=not args.no_covid)
    paths = _write_dataset(data, Path(args.out))
    progress(f"wrote {len(data.crossings):,} crossings and {len(data.stays):,} stays to {args.out}")
    if not args.quiet:
        print(data.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _read_table(path: Path):
    import pandas as pd

    if path.is_dir() or path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise RiskModelError(f"`{path}`: expected a .parquet file or folder, or a .csv file.")


def _cmd_validate(args: argparse.Namespace) -> int:
    from riskmodel.core.schema import check_crossings, check_stays

    path = Path(args.path)
    if not path.exists():
        raise RiskModelError(f"`{path}` does not exist; pass a Parquet or CSV file of {args.table}.")
    df = _read_table(path)
    if args.table == "crossings":
        import pandas as pd

        for col in ("timestamp", "permit_end"):
            if col in df.columns and not pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = pd.to_datetime(df[col], errors="coerce")
    problems = (check_crossings if args.table == "crossings" else check_stays)(df)
    if problems:
        print(f"{path}: {len(problems)} problem(s)")
        for p in problems:
            print(p)
        return 1
    print(f"{path}: {len(df):,} rows meet the {args.table} contract")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """The main job: data, both models trained and gated, scores, forecasts, report."""
    from riskmodel.apps.pipelines.main_job import run_main_job

    res = run_main_job(
        args.out, travellers=args.travellers, start=args.start, end=args.end, seed=args.seed,
        fresh=args.fresh, horizon=args.horizon, progress=_Progress(args.quiet),
    )
    print(f"risk model (champion): {res.risk_model}")
    print(f"forecaster per port (champion): {res.forecast_model}")
    print(f"forecaster per nationality (champion): {res.nationality_forecast_model}")
    print(f"scores: {res.scores}")
    print(f"forecasts per port: {res.forecasts}")
    print(f"forecasts per nationality: {res.nationality_forecasts}")
    print(f"workload: {res.workload}")
    print(f"report: {res.report}")
    print(f"done in {res.seconds:.0f} s" + (f"; reused: {', '.join(res.reused)}" if res.reused else ""))
    return 0


def _cmd_cli_reference(args: argparse.Namespace) -> int:
    print(cli_reference(), end="")
    return 0


# ----------------------------------------------------------------------------- parser


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress lines (for scheduled jobs)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``riskmodel`` command."""
    parser = argparse.ArgumentParser(prog="riskmodel", description="Overstay-risk scoring and arrival forecasting.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="the main job end to end on synthetic data and the local MLflow store")
    p.add_argument("--out", default=str(DEFAULT_OUTPUT), help="output folder (default: %(default)s)")
    p.add_argument("--travellers", type=int, default=20_000, help="synthetic travellers (default: %(default)s)")
    p.add_argument("--start", default="2017-01-01", help="first day of synthetic data (default: %(default)s)")
    p.add_argument("--end", default="2023-12-31", help="last day of synthetic data (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--horizon", type=int, default=90, help="days of arrival forecasts (default: %(default)s)")
    p.add_argument("--fresh", action="store_true", help="redo every step instead of reusing valid earlier results")
    _add_common(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("synth", help="write a synthetic crossings log, stays and ground truth as Parquet")
    p.add_argument("--out", default=str(DEFAULT_OUTPUT / "data"), help="output folder (default: %(default)s)")
    p.add_argument("--travellers", type=int, default=20_000, help="travellers (default: %(default)s)")
    p.add_argument("--start", default="2017-01-01", help="first day (default: %(default)s)")
    p.add_argument("--end", default="2023-12-31", help="last day (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--no-covid", action="store_true", help="no COVID collapse in 2020-2022")
    _add_common(p)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("validate", help="check a Parquet or CSV table against the data contract")
    p.add_argument("path", help="file or folder of Parquet parts, or a CSV file")
    p.add_argument("--table", choices=("crossings", "stays"), default="crossings", help="which contract (default: %(default)s)")
    p.set_defaults(func=_cmd_validate)

    train = sub.add_parser("train", help="train a model from a config and register it in MLflow")
    train_sub = train.add_subparsers(dest="model_kind", metavar="MODEL", required=True)
    for add in _TRAIN_COMMANDS:
        add(train_sub)

    promote = sub.add_parser("promote", help="move a model's champion alias to its challenger if the gate passes")
    promote_sub = promote.add_subparsers(dest="model_kind", metavar="MODEL", required=True)
    for add in _PROMOTE_COMMANDS:
        add(promote_sub)

    for add in _COMMANDS:
        add(sub)

    p = sub.add_parser("cli-reference", help="print this CLI's reference in markdown")
    p.set_defaults(func=_cmd_cli_reference)
    return parser


# Subsystems register their commands here: each function receives the subparsers
# object and adds one command with ``set_defaults(func=...)``.
_TRAIN_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []
_PROMOTE_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def _cmd_train_risk(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.risk import train, tune

    if args.tune:
        path = tune(args.config, args.tune, progress=_Progress(args.quiet))
        print(f"tuned config: {path} (trials are child runs in MLflow)")
        return 0
    outcome = train(args.config, log=not args.no_log, progress=_Progress(args.quiet))
    m = outcome.result.metrics
    for key in ("roc_auc", "pr_auc", "ece", "precision_at_1pct", "recall_at_5pct", "prauc_over_logreg", "fairness_passed"):
        print(f"{key}: {m[key]:.4f}")
    if outcome.logged is not None:
        print(f"model: {outcome.logged.model_uri} (alias challenger), run {outcome.logged.run_id}")
    return 0


def _add_train_risk(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("risk", help="train the overstay-risk classifier and register it as challenger")
    p.add_argument("--config", default="configs/risk.yaml", help="risk config (default: %(default)s)")
    p.add_argument("--no-log", action="store_true", help="train and evaluate only; nothing goes to MLflow")
    p.add_argument("--tune", metavar="OUT_YAML", help="instead of training, search parameters (config `tuning`) and write the tuned config here")
    _add_common(p)
    p.set_defaults(func=_cmd_train_risk)


def _report_decision(decision) -> int:
    """Print a promotion decision with its reasons; exit code 1 when refused."""
    print(("PROMOTED" if decision.passed else "REFUSED") + f": version {decision.candidate} (champion was {decision.champion})")
    for reason in decision.reasons:
        print(f"- {reason}")
    return 0 if decision.passed else 1


def _cmd_promote_risk(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.risk import promote

    return _report_decision(promote(args.config))


def _add_promote_risk(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("risk", help="promote overstay-risk@challenger to champion if the config's gate passes")
    p.add_argument("--config", default="configs/risk.yaml", help="risk config with the gate (default: %(default)s)")
    p.set_defaults(func=_cmd_promote_risk)


_TRAIN_COMMANDS.append(_add_train_risk)
_PROMOTE_COMMANDS.append(_add_promote_risk)
_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def cli_reference() -> str:
    """Markdown reference of every command, generated from the parser (docs/CLI.md)."""
    # a fixed width, so the reference does not depend on the terminal it was made in
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        return _reference()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _reference() -> str:
    parser = build_parser()
    lines = ["```", parser.format_help().rstrip(), "```"]

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        for action in p._actions:  # argparse offers no public walk over subcommands
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    lines.extend(["", f"### `{prefix} {name}`", "", "```", child.format_help().rstrip(), "```"])
                    walk(child, f"{prefix} {name}")

    walk(parser, "riskmodel")
    header = ["# riskmodel command line", "", "Generated by `riskmodel cli-reference > docs/CLI.md`; a test keeps it equal to the CLI.", ""]
    return "\n".join(header + lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskmodel`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # the CLI prints its own progress: MLflow's INFO lines and download bars are noise here
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except RiskModelError as exc:
        print(f"riskmodel {args.command}: error: {exc}", file=sys.stderr)
        return 2




# ----------------------------------------------------------------------------- scoring commands


def _cmd_score(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        from riskmodel.api import score_parquet  # pyspark is imported only by the spark integration

        done = score_parquet(
            args.input,
            args.output,
            model=args.model,
            reasons=args.reasons,
            reasons_min_band=None if args.reasons_min_band == "all" else args.reasons_min_band,
            errors=args.errors,
            passthrough=tuple(args.passthrough),
            overwrite=args.overwrite,
            purpose=args.purpose,
        )
        print(f"rows in: {done.rows_in:,}  rows out: {done.rows_out:,}  (spark)")
        print("bands: " + ", ".join(f"{k} {v:,}" for k, v in done.extra["band_counts"].items()))
        print(f"output: {done.output}")
        return 0
    from riskmodel.api import score_file

    result = score_file(
        args.input,
        args.output,
        model=args.model,
        reasons=args.reasons,
        reasons_min_band=None if args.reasons_min_band == "all" else args.reasons_min_band,
        errors=args.errors,
        passthrough=tuple(args.passthrough),
        chunk_rows=args.chunk_rows,
        overwrite=args.overwrite,
        progress=not args.quiet,
        purpose=args.purpose,
    )
    s = result.extra["summary"]
    print(f"rows in: {result.rows_in:,}  rows out: {result.rows_out:,}  (resumed {result.resumed_parts} of {result.parts} parts)")
    print("bands: " + ", ".join(f"{k} {v:,}" for k, v in s["band_counts"].items()))
    shifted = {k: v for k, v in s["psi"].items() if v is not None and v >= 0.1}
    print("drift (PSI >= 0.1): " + (", ".join(f"{k} {v:.3f} ({s['psi_verdict'][k]})" for k, v in sorted(shifted.items())) or "none"))
    print(f"summary: {result.extra['summary_path']}")
    return 0


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
    _add_common(p)
    p.set_defaults(func=_cmd_score)


def _cmd_evaluate_scores(args: argparse.Namespace) -> int:
    from riskmodel.integrations.batch.scoring import evaluate_scores

    scored = _read_table(Path(args.scored))
    outcomes = _read_table(Path(args.outcomes))
    table = evaluate_scores(scored, outcomes)
    if args.out:
        table.to_csv(args.out, index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.track or os.environ.get("MLFLOW_TRACKING_URI"):
        from riskmodel.integrations.tracking.monitoring import log_table

        run = log_table("overstay-risk-outcomes", table, name="realised_accuracy",
                        metric_columns=("roc_auc", "pr_auc", "ece", "referral_precision"))
        print(f"logged to MLflow run {run}")
    return 0


def _add_evaluate_scores(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate-scores", help="realised accuracy of past scores against outcomes that have matured")
    p.add_argument("scored", help="scores written by `riskmodel score` (file or folder)")
    p.add_argument("outcomes", help="stays with matured labels (`overstayed`), e.g. from `riskmodel synth`")
    p.add_argument("--out", help="also write the table as CSV")
    p.add_argument("--track", action="store_true", help="log to MLflow even without MLFLOW_TRACKING_URI")
    p.set_defaults(func=_cmd_evaluate_scores)


_COMMANDS.extend([_add_score, _add_evaluate_scores])


# ----------------------------------------------------------------------------- forecasting


def _cmd_train_forecast(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.forecast import train

    outcome = train(args.config, log=not args.no_log, progress=_Progress(args.quiet))
    table = outcome.forecaster.metrics_
    for _, row in table[table["level"] == "all"].iterrows():
        cov = f", coverage_95 {row['coverage_95']:.3f}" if "coverage_95" in row and row["coverage_95"] == row["coverage_95"] else ""
        print(f"backtest {row['model']}: mase {row['mase']:.4f}, smape {row['smape']:.4f}{cov}")
    if outcome.logged is not None:
        print(f"model: {outcome.logged.model_uri} (alias challenger), run {outcome.logged.run_id}")
    return 0


def _add_train_forecast(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="fit the arrival forecaster (backtest, choose, calibrate) and register it as challenger")
    p.add_argument("--config", default="configs/forecast.yaml", help="forecast config (default: %(default)s)")
    p.add_argument("--no-log", action="store_true", help="fit and backtest only; nothing goes to MLflow")
    _add_common(p)
    p.set_defaults(func=_cmd_train_forecast)


def _cmd_promote_forecast(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.forecast import promote

    return _report_decision(promote(args.config))


def _add_promote_forecast(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="promote arrival-forecast@challenger to champion if the config's gate passes")
    p.add_argument("--config", default="configs/forecast.yaml", help="forecast config with the gate (default: %(default)s)")
    p.set_defaults(func=_cmd_promote_forecast)


def _cmd_forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    from riskmodel.api import forecast

    progress = _Progress(args.quiet)
    history = None
    if args.history:
        history = _read_table(Path(args.history))
        history["ds"] = pd.to_datetime(history["ds"])
    level = tuple(int(v) for v in args.level.split(","))
    progress(f"forecasting {args.horizon} periods with {args.model or 'a default Forecaster fitted on --history'}")
    out = forecast(args.horizon, model=args.model, history=history, level=level)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False) if path.suffix == ".csv" else out.to_parquet(path, index=False)
    progress(f"wrote {len(out):,} rows for {out['unique_id'].nunique():,} series to {path}")
    return 0


def _add_forecast(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="forecast arrivals with a logged forecaster (or fit one on a history file)")
    p.add_argument("--horizon", type=int, required=True, help="periods ahead (days, weeks or months, as the series)")
    p.add_argument("--model", help="models:/arrival-forecast@champion, a run URI or a local model folder")
    p.add_argument("--history", help="long unique_id/ds/y file (CSV or Parquet): refit the model's settings on it")
    p.add_argument("--level", default="80,95", help="interval levels in percent (default: %(default)s)")
    p.add_argument("--out", required=True, help="output .parquet or .csv")
    _add_common(p)
    p.set_defaults(func=_cmd_forecast)


_TRAIN_COMMANDS.append(_add_train_forecast)
_PROMOTE_COMMANDS.append(_add_promote_forecast)
_COMMANDS.append(_add_forecast)


def _cmd_evaluate_forecasts(args: argparse.Namespace) -> int:
    import pandas as pd

    from riskmodel.core.monitoring.forecasts import score_forecasts

    def read(path: str) -> pd.DataFrame:
        table = _read_table(Path(path))
        table["ds"] = pd.to_datetime(table["ds"])
        table["unique_id"] = table["unique_id"].astype(str)
        return table

    forecasts, actuals = read(args.forecasts), read(args.actuals)
    history = read(args.history) if args.history else None
    if args.track or os.environ.get("MLFLOW_TRACKING_URI"):
        from riskmodel.integrations.tracking.forecast import log_forecast_monitoring

        run, per_level = log_forecast_monitoring(forecasts, actuals, history=history, m=args.season)
        print(f"logged to MLflow run {run}")
    else:
        _, per_level = score_forecasts(forecasts, actuals, history=history, m=args.season)
    if args.out:
        per_level.to_csv(args.out, index=False)
    print(per_level.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _add_evaluate_forecasts(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate-forecasts", help="MASE, bias and interval coverage of stored forecasts once actuals arrive")
    p.add_argument("forecasts", help="forecasts written by `riskmodel forecast` (Parquet or CSV)")
    p.add_argument("actuals", help="long unique_id/ds/y file of what happened")
    p.add_argument("--history", help="the history the forecasts came from (MASE scale; default: the actuals)")
    p.add_argument("--season", type=int, default=12, help="season length of the MASE scale (default: %(default)s; 7 for daily)")
    p.add_argument("--out", help="also write the per-level table as CSV")
    p.add_argument("--track", action="store_true", help="log to MLflow even without MLFLOW_TRACKING_URI")
    p.set_defaults(func=_cmd_evaluate_forecasts)


_COMMANDS.append(_add_evaluate_forecasts)


def _cmd_pseudonymise(args: argparse.Namespace) -> int:
    from riskmodel.core.privacy import KEY_ENV, pseudonymise_table

    df = _read_table(Path(args.input))
    out = pseudonymise_table(df, tuple(args.columns))
    path = Path(args.output)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix == ".csv":
        out.to_csv(tmp, index=False)
    else:
        out.to_parquet(tmp, index=False)
    tmp.replace(path)
    print(f"{len(out):,} rows written to {path}; columns {list(args.columns)} pseudonymised with the key in ${KEY_ENV}")
    return 0


def _add_pseudonymise(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pseudonymise", help="replace traveller and document ids by keyed-hash pseudonyms before storing data")
    p.add_argument("input", help="Parquet or CSV extract")
    p.add_argument("output", help="where to write the pseudonymised copy (.parquet or .csv)")
    p.add_argument("--columns", nargs="+", default=["traveller_id", "document_id"], help="identifier columns (default: %(default)s)")
    p.set_defaults(func=_cmd_pseudonymise)


_COMMANDS.append(_add_pseudonymise)

