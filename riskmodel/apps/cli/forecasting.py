"""Forecasting commands: ``train forecast``, ``promote forecast``, ``forecast``, ``evaluate-forecasts``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from riskmodel.apps.cli.command import CommandGroups, Progress, add_quiet, add_rollback, int_at_least, levels, read_series, report_decision
from riskmodel.apps.cli.exits import EXIT_OK
from riskmodel.core.exceptions import ConfigError

__all__ = ["register"]


def _cmd_train_forecast(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.forecast import holdout_summary, train

    with Progress(args.quiet) as progress:
        outcome = train(args.config, log=not args.no_log, progress=progress, on_progress=progress.count)
    table = outcome.forecaster.metrics_
    for _, row in table[table["level"] == "all"].iterrows():
        cov = f", coverage_95 {row['coverage_95']:.3f}" if "coverage_95" in row and row["coverage_95"] == row["coverage_95"] else ""
        print(f"backtest {row['model']}: mase {row['mase']:.4f}, smape {row['smape']:.4f}{cov}")
    held = holdout_summary(outcome.forecaster)
    if held is not None:  # the figures the gate decides on (the backtest lines above are of the windows that chose the model)
        print(held)
    if outcome.logged is not None:
        print(f"model: {outcome.logged.model_uri} (alias challenger), run {outcome.logged.run_id}")
    return EXIT_OK


def _registered_name(config: str) -> str:
    from riskmodel.apps.pipelines.forecast import load_forecast_config

    return load_forecast_config(config).tracking.registered_name


def _cmd_promote_forecast(args: argparse.Namespace) -> int:
    from riskmodel.apps.pipelines.forecast import promote

    return report_decision(promote(args.config))


def _cmd_forecast(args: argparse.Namespace) -> int:
    from riskmodel.api import forecast

    path = Path(args.out)
    if path.suffix not in (".csv", ".parquet"):
        raise ConfigError(f"`--out` must end in .csv or .parquet; got `{path}`.")
    if args.model is None and args.history is None:
        raise ConfigError("pass --model (a logged forecaster's URI or folder) or --history (a unique_id/ds/y file to fit on); "
                          "got neither.")
    history = read_series(args.history, ids_as_text=False) if args.history else None
    with Progress(args.quiet) as progress:
        progress(f"forecasting {args.horizon} periods with {args.model or 'a default Forecaster fitted on --history'}")
        out = forecast(args.horizon, model=args.model, history=history, level=args.level, on_progress=progress.count)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False) if path.suffix == ".csv" else out.to_parquet(path, index=False)
    progress(f"wrote {len(out):,} rows for {out['unique_id'].nunique():,} series to {path}")
    return EXIT_OK


def _cmd_evaluate_forecasts(args: argparse.Namespace) -> int:
    from riskmodel.core.forecasting.calendar import COVID_BREAK
    from riskmodel.core.monitoring.forecasts import levels_of_ids, score_forecasts

    forecasts, actuals = read_series(args.forecasts), read_series(args.actuals)
    history = read_series(args.history) if args.history else None
    tags = levels_of_ids(forecasts["unique_id"]) if "unique_id" in forecasts else {}
    breaks = () if args.no_break else (COVID_BREAK,)
    scale_from, m = _season(args, history if history is not None else actuals)
    per_series, per_level = score_forecasts(forecasts, actuals, history=history, m=m, breaks=breaks, tags=tags)
    if args.track or os.environ.get("MLFLOW_TRACKING_URI"):
        from riskmodel.integrations.tracking.forecast import log_forecast_scores

        run = log_forecast_scores(per_series, per_level, span=(actuals["ds"].min(), actuals["ds"].max()))
        print(f"logged to MLflow run {run}")
    if args.out:
        per_level.to_csv(args.out, index=False)
    print(per_level.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    left_out = ", ".join(f"{a}..{b}" for a, b in breaks)
    print(f"MASE scale: lag-{m} differences of {'--history' if history is not None else 'the actuals'} ({scale_from}), "
          + (f"leaving out the break {left_out}" if breaks else "no break left out")
          + f"; lag 1 where a series' history has no change at lag {m}")
    for line in _unscored(per_series):
        print(line)
    missing = per_series.attrs.get("missing_actuals", {})
    if missing:
        shown = ", ".join(f"{k} ({v})" for k, v in list(missing.items())[:10]) + (f", ... ({len(missing) - 10} more)" if len(missing) > 10 else "")
        print(f"no actual for {sum(missing.values())} forecast periods of {len(missing)} series whose periods other series have "
              f"actuals for (in no figure above; check that their actuals were delivered): {shown}")
    return EXIT_OK


def _season(args: argparse.Namespace, base) -> tuple[str, int]:
    """Where the MASE season comes from, and its length: ``--season``, else the series' frequency (as the Forecaster's)."""
    from riskmodel.core.monitoring.forecasts import mase_season

    if args.season is not None:
        return f"--season {args.season}", args.season
    m = mase_season(base)
    return f"{ {7: 'daily', 52: 'weekly', 12: 'monthly'}[m]} series", m


def _unscored(per_series) -> list[str]:
    """The series a figure is missing for, named and counted (the level means leave them out)."""
    n, lines = len(per_series), []
    for col, why in (("mase", "no history, or a flat one, to scale their errors by"), ("bias", "their actuals sum to 0")):
        ids = per_series.loc[per_series[col].isna(), "unique_id"].astype(str).tolist()
        if ids:
            shown = ", ".join(ids[:10]) + (f", ... ({len(ids) - 10} more)" if len(ids) > 10 else "")
            lines.append(f"no {col.upper() if col == 'mase' else col} for {len(ids)} of {n} series ({why}): {shown}")
    return lines


def register(groups: CommandGroups) -> None:
    """Add ``train forecast``, ``promote forecast``, ``forecast`` and ``evaluate-forecasts``."""
    p = groups.train.add_parser("forecast", help="fit the arrival forecaster (backtest, choose, calibrate) and register it as challenger")
    p.add_argument("--config", default="configs/forecast.yaml", help="forecast config (default: %(default)s)")
    p.add_argument("--no-log", action="store_true", help="fit and backtest only; nothing goes to MLflow")
    add_quiet(p)
    p.set_defaults(func=_cmd_train_forecast, inputs=("config",))

    p = groups.promote.add_parser("forecast", help="promote arrival-forecast@challenger to champion if the config's gate passes")
    p.add_argument("--config", default="configs/forecast.yaml", help="forecast config with the gate (default: %(default)s)")
    p.set_defaults(func=_cmd_promote_forecast, inputs=("config",))
    add_rollback(groups.rollback, "forecast", "configs/forecast.yaml", _registered_name)

    p = groups.top.add_parser("forecast", help="forecast arrivals with a logged forecaster (or fit one on a history file)")
    p.add_argument("--horizon", type=int_at_least(1), required=True, help="periods ahead (days, weeks or months, as the series)")
    p.add_argument("--model", help="models:/arrival-forecast@champion, a run URI or a local model folder")
    p.add_argument("--history", help="long unique_id/ds/y file (CSV or Parquet): refit the model's settings on it "
                   "(without --model: fit a default forecaster on it); one of the two is needed")
    p.add_argument("--level", type=levels, default="80,95", help="interval levels in percent (default: %(default)s)")
    p.add_argument("--out", required=True, help="output .parquet or .csv")
    add_quiet(p)
    p.set_defaults(func=_cmd_forecast, inputs=("history",))

    p = groups.top.add_parser("evaluate-forecasts", help="MASE, bias and interval coverage of stored forecasts once actuals arrive")
    p.add_argument("forecasts", help="forecasts written by `riskmodel forecast` (Parquet or CSV)")
    p.add_argument("actuals", help="long unique_id/ds/y file of what happened")
    p.add_argument("--history", help="the history the forecasts came from (MASE scale; default: the actuals)")
    p.add_argument("--season", type=int_at_least(1), help="season length of the MASE scale (default: the forecaster's for the series' "
                   "frequency: 12 monthly, 52 weekly, 7 daily)")
    p.add_argument("--no-break", action="store_true", help="declare no COVID break: the MASE scale keeps the differences across it "
                   "(default: left out, as the forecaster's own backtests and holdout do)")
    p.add_argument("--out", help="also write the per-level table as CSV")
    p.add_argument("--track", action="store_true", help="log to MLflow even without MLFLOW_TRACKING_URI")
    p.set_defaults(func=_cmd_evaluate_forecasts, inputs=("forecasts", "actuals", "history"))
