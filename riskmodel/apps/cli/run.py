"""The main job command: ``riskmodel run``."""

from __future__ import annotations

import argparse

from riskmodel.apps.cli.command import CommandGroups, Progress, add_quiet, check_period, int_at_least, local_time
from riskmodel.apps.cli.data import DEFAULT_OUTPUT
from riskmodel.apps.cli.exits import EXIT_OK

__all__ = ["register"]


def _cmd_run(args: argparse.Namespace) -> int:
    """The main job: data, both models trained and gated, scores, forecasts, report."""
    from riskmodel.apps.pipelines.main_job import MainJobSettings, run_main_job

    configs = {k: v for k, v in (("risk_config", args.risk_config), ("forecast_config", args.forecast_config),
                                 ("nationality_forecast_config", args.nationality_forecast_config)) if v is not None}
    check_period(args.start, args.end)
    settings = MainJobSettings(travellers=args.travellers, start=args.start, end=args.end, seed=args.seed, horizon=args.horizon, **configs)
    with Progress(args.quiet) as progress:
        res = run_main_job(args.out, settings, fresh=args.fresh, progress=progress, on_progress=progress.count, verbose=args.verbose)
    print(f"risk model (champion): {res.risk_model}")
    print(f"forecaster per port (champion): {res.forecast_model}")
    print(f"forecaster per nationality (champion): {res.nationality_forecast_model}")
    print(f"scores: {res.scores}")
    print(f"forecasts per port: {res.forecasts}")
    print(f"forecasts per nationality: {res.nationality_forecasts}")
    print(f"workload: {res.workload}")
    print(f"trends: {res.trends}")
    print(f"data checks: {res.data_checks} ({res.drift})")
    print(f"report: {res.report}")
    print(f"done in {res.seconds:.0f} s" + (f"; reused: {', '.join(res.reused)}" if res.reused else ""))
    return EXIT_OK


def register(groups: CommandGroups) -> None:
    """Add ``run``."""
    p = groups.top.add_parser(
        "run", help="the main job end to end on synthetic data, into the MLflow store of MLFLOW_TRACKING_URI",
        description="The main job end to end on synthetic data: the risk model and two arrival forecasters trained, "
        "registered and gated in the MLflow store of MLFLOW_TRACKING_URI (default: sqlite:///mlflow.db in this folder), "
        "then the scores of everyone in the country, --horizon days of forecasts, workload, trends, data checks and the duty report in --out.",
    )
    p.add_argument("--out", default=str(DEFAULT_OUTPUT), help="output folder (default: %(default)s)")
    p.add_argument("--travellers", type=int_at_least(1), default=40_000, help="synthetic travellers (default: %(default)s)")
    p.add_argument("--start", type=local_time, default="2017-01-01", help="first day of synthetic data (default: %(default)s)")
    p.add_argument("--end", type=local_time, default="2023-12-31", help="last day of synthetic data (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--horizon", type=int_at_least(1), default=90, help="days of arrival forecasts (default: %(default)s)")
    p.add_argument("--fresh", action="store_true", help="redo every step instead of reusing valid earlier results")
    p.add_argument("--risk-config", help="risk training config; its data source (crossings_path, n_travellers, start, end, seed) "
                   "is this job's, its data.cutoff and data.grace_days are kept (default: riskmodel's shipped configs/risk.yaml "
                   "(riskmodel/configs, the clone's configs/), whatever the working folder)")
    p.add_argument("--forecast-config", help="daily forecaster per port (default: riskmodel's shipped configs/forecast_daily.yaml)")
    p.add_argument("--nationality-forecast-config",
                   help="daily forecaster per nationality (default: riskmodel's shipped configs/forecast_daily_nationality.yaml)")
    p.add_argument("--verbose", action="store_true", help="also show MLflow's own log lines and artifact progress bars")
    add_quiet(p)
    p.set_defaults(func=_cmd_run, inputs=("risk_config", "forecast_config", "nationality_forecast_config"))
