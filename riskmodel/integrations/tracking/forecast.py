"""Log, register, promote, load and monitor the arrival forecaster in MLflow.

One MLflow run per training holds: the Forecaster's constructor settings as params
(once; fitted facts such as the inferred frequency are ``fitted.*`` tags), the
library's git commit, the history, selection windows and holdout windows as dataset
inputs (``training``, ``backtest``, ``holdout``), a model card (``model_card.md``,
also in the model folder and, without change, the registered version's description,
its gate section rewritten at promotion), backtest
metrics per hierarchy level and model (``bt.<level>.<model>.<metric>``; the chosen
model's as ``mase``, ``coverage_95``, ...), the chosen model per series
(``forecast/chosen.csv``), the backtest metrics table, the forecast
(``forecast/forecast.csv``) and plots of history, forecast and intervals of the
largest series. The forecaster is an MLflow pyfunc in the ``loader_module`` form
(:mod:`riskmodel.integrations.tracking.forecast_pyfunc`, from the installed package)
whose data are JSON and Parquet files, with a signed manifest of every file of the
model: it loads without unpickling anything or running code from the store.

Forecast monitoring (:func:`log_forecast_monitoring`) scores stored forecasts
against actuals and logs MASE, coverage and bias per series and level.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from riskmodel.core.config import to_dict
from riskmodel.core.forecasting.calendar import COVID_BREAK
from riskmodel.core.exceptions import ModelLoadError
from riskmodel.core.forecasting.gate import honest_metrics
from riskmodel.core.forecasting.config import ForecastConfig, ForecastGateConfig
from riskmodel.core.forecasting.forecaster import FORECASTER_FILES, Forecaster
from riskmodel.core.forecasting.intervals import largest_error_message
from riskmodel.core.forecasting.gate import (
    champion_figures_on_same_window, champion_on_same_window, forecast_gate, same_window_params,
)
from riskmodel.core.gate import GateDecision
from riskmodel.core.monitoring.forecasts import score_forecasts
from riskmodel.integrations.tracking import cards, forecast_pyfunc, provenance, registry
from riskmodel.integrations.tracking.forecast_pyfunc import ARTIFACT
from riskmodel.integrations.tracking.loading import pin
from riskmodel.integrations.tracking.publish import log_signed_pyfunc

__all__ = ["LoggedForecaster", "GateResult", "forecast_card", "log_forecast_run", "load_forecaster", "forecast_gate", "promote_forecaster", "log_forecast_monitoring", "log_forecast_scores"]


#: Where a logged forecaster went (the same record as a logged risk model).
LoggedForecaster = registry.LoggedModel


#: The forecast gate's decision: the one gate decision type of the core (kept under its old name).
GateResult = GateDecision


def _key(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", str(text))


def _metrics(forecaster: Forecaster) -> dict[str, float]:
    # the headline figures the gate reads are the holdout window's, which chose and calibrated nothing;
    # the selection windows' figures stay under bt.* (optimistic: they chose the model)
    # per-level keys carry the hierarchy's level names (level.<name>.mase): kept to what MLflow accepts in a key
    out: dict[str, float] = {_key(k): v for k, v in honest_metrics(forecaster).items()}
    table = forecaster.metrics_
    for _, row in (table if table is not None else pd.DataFrame()).iterrows():
        for col in table.columns:
            if col in ("level", "model", "n_series"):
                continue
            value = row[col]
            if pd.notna(value) and np.isfinite(value):
                out[f"bt.{_key(row['level'])}.{_key(row['model'])}.{col}"] = float(value)
    return out


def _plot(forecaster: Forecaster, n: int = 4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = forecaster.history_
    fc = forecaster.forecasts_
    top = hist.groupby("unique_id")["y"].sum().sort_values(ascending=False).index[:n]
    fig, axes = plt.subplots(len(top), 1, figsize=(9, 2.6 * len(top)), squeeze=False)
    hi_level = max(forecaster.level_)
    lo_level = min(forecaster.level_)
    for ax, uid in zip(axes[:, 0], top, strict=False):
        h = hist[hist["unique_id"] == uid]
        f = fc[fc["unique_id"] == uid]
        ax.plot(h["ds"], h["y"], color="black", lw=1, label="history")
        ax.plot(f["ds"], f["y_hat"], color="C0", lw=1.5, label=f"forecast ({f['model'].iloc[0]})")
        ax.fill_between(f["ds"], f[f"y_lo_{hi_level}"], f[f"y_hi_{hi_level}"], color="C0", alpha=0.15, label=f"{hi_level}%")
        ax.fill_between(f["ds"], f[f"y_lo_{lo_level}"], f[f"y_hi_{lo_level}"], color="C0", alpha=0.3, label=f"{lo_level}%")
        ax.set_title(uid, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def _requirements() -> list[str]:
    reqs = []
    for pkg in ("numpy", "pandas", "pyarrow", "lightgbm", "statsmodels", "scikit-learn", "holidays", "joblib", "tqdm", "pyyaml", "mlflow"):
        try:
            reqs.append(f"{pkg}=={importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return reqs


_FC_INTENDED_USE = (
    "Outlooks of foreign arrivals per port and nationality (and their totals), with intervals, for staffing "
    "checkpoints and planning. It forecasts counts, never individuals: not an input to any decision about a person."
)
_FC_LIMITS = (
    "- Intervals are conformal, calibrated on the backtest errors of the selection windows: they hold while future "
    "errors resemble those; a new break (a pandemic, a port closure, a visa policy) voids them.",
    "- The holdout is the latest backtest window(s) only: its figures are honest but noisy; the selection windows' "
    "figures (`bt.*` metrics) are optimistic, since they chose the model.",
    "- Declared break periods are neither learned nor scored; series too short for a model fall back to seasonal naive.",
    "- Calendar events (Eid, Chinese New Year, Nyepi, school holidays) are known up to the calendar's end only.",
)
_FC_SUMMARY = (
    "Arrival forecaster (models chosen on rolling-origin backtests, conformal intervals, reconciled over the "
    "hierarchy). Each version's description is its model card (horizon, frequency, series, honest holdout metrics "
    "and interval coverage, data lineage, gate decision and reasons, intended use and limits). Aliases: `champion` "
    "(promoted through the gate), `challenger` (latest registered)."
)


def _largest_error_line(forecaster: Forecaster) -> str:
    """The card's line on interval ends that are the largest backtest error (too few errors for their level)."""
    table = getattr(forecaster, "largest_error_ends_", None)
    if table is None or not len(table):
        return "none (every step had enough backtest errors for each level)"
    return largest_error_message(table, forecaster.interval_groups_)


def _holdout_lines(forecaster: Forecaster) -> list[str]:
    honest = honest_metrics(forecaster)
    if not honest:
        why = "holdout_windows is 0" if not forecaster.holdout_windows else "the history was too short to keep one out of selection"
        return [f"No holdout window: {why}; the gate refuses such a model (set holdout_windows to 1 or more, with history for it)."]
    cv = forecaster.cv_
    held = cv[cv["holdout"]]
    lines = [f"Scored on the latest {held['cutoff'].nunique()} backtest window(s) (cutoffs {', '.join(sorted(str(c)[:10] for c in held['cutoff'].unique()))}; "
             f"{str(held['ds'].min())[:10]} to {str(held['ds'].max())[:10]}), which took no part in choosing models or "
             "calibrating intervals.", ""]
    lines.append("- " + ", ".join(f"{k} {honest[k]:.4f}" for k in ("mase", "smape", "mape", "rmse") if k in honest))
    lines.append(_mase_count_line(forecaster, held))
    for L in forecaster.level_:
        if f"coverage_{L}" in honest:
            lines.append(f"- {L}% interval: coverage {honest[f'coverage_{L}']:.4f} (nominal {L / 100:.2f}), relative width "
                         f"{honest.get(f'width_{L}', float('nan')):.4f}, MSIS {honest.get(f'msis_{L}', float('nan')):.4f}")
    peers = {k[5:-5]: v for k, v in honest.items() if k.startswith("peer_") and k.endswith("_mase")}
    if peers:
        lines.append("- simple peers on the same window, MASE: " + ", ".join(f"{k} {v:.4f}" for k, v in peers.items())
                     + (f"; over the best peer {honest['mase_over_best_peer']:.4f}" if "mase_over_best_peer" in honest else ""))
    levels = [k[len("level."):-len(".mase")] for k in honest if k.startswith("level.") and k.endswith(".mase")]
    if levels:  # what the gate judges per level (max_level_mase_over_snaive)
        lines.append("- per level of the hierarchy, MASE (over seasonal naive's at that level): " + ", ".join(
            f"{lv} {honest[f'level.{lv}.mase']:.4f}" + (
                f" ({honest[f'level.{lv}.mase_over_snaive']:.4f}x seasonal naive's "
                f"{honest[f'level.{lv}.mase'] / honest[f'level.{lv}.mase_over_snaive']:.4f})"
                if honest.get(f"level.{lv}.mase_over_snaive") else " (no seasonal naive MASE there)")
            for lv in levels))
    return lines


def _mase_count_line(forecaster: Forecaster, held: pd.DataFrame) -> str:
    """Over how many series the holdout MASE is a mean, and which series it leaves out and why."""
    served = "chosen"
    if forecaster.hierarchy_ is not None and forecaster.reconcile is not None:  # the served forecast, as honest_metrics scores it
        from riskmodel.core.forecasting.reconcile import reconcile_backtest

        held, served = reconcile_backtest(forecaster.cv_, forecaster.hierarchy_, forecaster.reconcile, forecaster.level_), "reconciled"
    err = (held["y"] - held[served]).abs() / held["scale"]
    scored = err.notna().groupby(held["unique_id"].to_numpy()).all()
    every = sorted(forecaster.chosen_)
    no_scale = sorted(str(u) for u in scored.index[~scored.to_numpy()])
    absent = [u for u in every if u not in scored.index]
    text = f"- MASE: the mean over {int(scored.sum())} of {len(every)} series, each weighted equally"
    if no_scale:
        text += (f"; {len(no_scale)} without a MASE scale (no change in their history to scale errors by, e.g. a port with no "
                 f"arrivals): {', '.join(no_scale[:5])}{', ...' if len(no_scale) > 5 else ''}")
    if absent:
        text += (f"; {len(absent)} without holdout rows (too young at the holdout cutoff): "
                 f"{', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''}")
    return text


def forecast_card(forecaster: Forecaster, config: ForecastConfig, lineage: dict, *, gate: str | None = None) -> str:
    """The forecaster's model card (markdown): what it forecasts, honest holdout metrics, intervals, data, gate, limits.

    Parameters
    ----------
    forecaster : Forecaster
        Fitted.
    config : ForecastConfig
    lineage : dict
        Data lineage (source, first and last period, digests).
    gate : str, optional
        The gate section (:func:`riskmodel.integrations.tracking.cards.gate_section`); by
        default the section saying the gate has not decided yet.
    """
    hist = forecaster.history_
    levels = forecaster.hierarchy_.tags if forecaster.hierarchy_ is not None else {}
    counts = pd.Series(list(forecaster.chosen_.values())).value_counts()
    lines = [f"# Model card: {config.tracking.registered_name}", "",
             "Arrival forecaster (backtest-chosen models, conformal intervals), trained by riskmodel.", "",
             (gate or cards.gate_section()).rstrip("\n"), "", "## What it forecasts", "",
             f"- frequency {forecaster.freq_}, horizon {forecaster.h} periods, {hist['unique_id'].nunique()} series"
             + (" (" + ", ".join(f"{k} {len(v)}" for k, v in levels.items()) + ")" if levels else ""),
             f"- models tried: {', '.join(forecaster.candidates_)}; chosen ({forecaster.selection}): "
             + ", ".join(f"{m} for {n} series" for m, n in counts.items()),
             f"- intervals: {', '.join(f'{L}%' for L in forecaster.level_)}, conformal; reconciliation: "
             + (str(forecaster.reconcile) if forecaster.hierarchy_ is not None else "none (no hierarchy)"),
             f"- declared breaks (not learned, not scored): {', '.join(f'{a}..{b}' for a, b in forecaster.breaks) or 'none'}",
             f"- fallbacks to seasonal naive: {len(forecaster.fallbacks_)}",
             f"- interval ends at the largest backtest error: {_largest_error_line(forecaster)}",
             "", "## Holdout metrics (honest)", "", *_holdout_lines(forecaster),
             "", "## Intended use", "", _FC_INTENDED_USE, "", "## Data lineage", ""]
    lines += [f"- {k}: {v}" for k, v in lineage.items()]
    lines += ["", "## Limits", "", *_FC_LIMITS]
    return "\n".join(lines) + "\n"


def _log_datasets(forecaster: Forecaster, name: str, source: str | None) -> None:
    """History, selection windows and holdout windows as dataset inputs (actuals only)."""
    cv = forecaster.cv_
    frames = {"training": forecaster.history_[["unique_id", "ds", "y"]],
              "backtest": cv.loc[~cv["holdout"], ["unique_id", "ds", "cutoff", "y"]],
              "holdout": cv.loc[cv["holdout"], ["unique_id", "ds", "cutoff", "y"]]}
    provenance.log_datasets({k: f.reset_index(drop=True) for k, f in frames.items() if len(f)}, name=name, targets="y", source=source)


def log_forecast_run(
    forecaster: Forecaster,
    config: ForecastConfig | None = None,
    *,
    lineage: dict | None = None,
    register_alias: str = "challenger",
    extra_metrics: dict[str, float] | None = None,
) -> LoggedForecaster:
    """Log a fitted forecaster to MLflow, register it and set ``challenger`` on it.

    Parameters
    ----------
    forecaster : Forecaster
        Fitted.
    config : ForecastConfig, optional
        The config used (logged as ``config/forecast.json``); gives the experiment
        and registered name (default ``arrival-forecast``).
    lineage : dict, optional
        Data lineage logged as ``data_*`` params (source, span, ...).
    register_alias : str, default="challenger"
    extra_metrics : dict of str to float, optional
        Further run metrics the gate reads (e.g. ``champion_mase_same_window``).

    Returns
    -------
    LoggedForecaster
    """
    config = config or ForecastConfig()
    registry.use_experiment(config.tracking.experiment)
    name = config.tracking.registered_name
    lineage = dict(lineage or {})
    with mlflow.start_run(run_name=f"{name}-train") as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags(provenance.run_tags())
        # constructor settings once; what fitting found is a tag or in the card
        params = {k: v for k, v in forecaster.get_params().items() if k != "progress"}
        params.update({f"data_{k}": v for k, v in lineage.items()})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.set_tags({"fitted.freq": forecaster.freq_, "fitted.models": ",".join(forecaster.models_),
                         "fitted.n_series": str(forecaster.history_["unique_id"].nunique())})
        _log_datasets(forecaster, name, lineage.get("source"))
        mlflow.log_dict(to_dict(config), "config/forecast.json")
        mlflow.log_metrics(_metrics(forecaster) | {_key(k): float(v) for k, v in (extra_metrics or {}).items() if v is not None})
        chosen = pd.DataFrame(sorted(forecaster.chosen_.items()), columns=["unique_id", "model"])
        mlflow.log_text(chosen.to_csv(index=False), "forecast/chosen.csv")
        mlflow.log_text(forecaster.metrics_.to_csv(index=False), "forecast/backtest_metrics.csv")
        mlflow.log_text(forecaster.forecasts_.to_csv(index=False), "forecast/forecast.csv")
        counts = chosen["model"].value_counts().to_dict()
        mlflow.set_tags({f"chosen.{k}": str(v) for k, v in counts.items()})
        mlflow.log_figure(_plot(forecaster), "plots/largest_series.png")
        import matplotlib.pyplot as plt

        plt.close("all")
        card = forecast_card(forecaster, config, lineage)
        mlflow.log_text(card, cards.CARD_ARTIFACT)
        folder = forecaster.save(Path(tmp) / ARTIFACT)
        (folder / cards.CARD_ARTIFACT).write_text(card, encoding="utf-8")
        version, digest = log_signed_pyfunc(
            folder,
            loader_module=forecast_pyfunc.__name__,
            registered_name=name,
            signature=_signature(),
            pip_requirements=_requirements(),
        )
        registry.register(name, version, alias=register_alias, tags={"manifest_sha256": digest, "run_id": run.info.run_id})
        cards.describe_version(name, version, card, _FC_SUMMARY)
    return LoggedForecaster(run_id=run.info.run_id, model_uri=f"models:/{name}/{version}", name=name, version=version)


def _signature() -> ModelSignature:
    """The pyfunc's input: ``h`` and an optional ``unique_id``; params: ``h`` (MLflow drops params a signature does not
    declare before the pyfunc sees them: ``params={"h": 2}`` was answered with the column's horizon)."""
    from mlflow.types.schema import ParamSchema, ParamSpec

    inputs = Schema([ColSpec("long", "h"), ColSpec("string", "unique_id", required=False)])
    return ModelSignature(inputs=inputs, params=ParamSchema([ParamSpec("h", "long", None)]))


def load_forecaster(uri: str | Path, *, allow_ungated: bool = False) -> Forecaster:
    """Load a :class:`Forecaster` from ``models:/name@alias``, a run URI or a local copy, verified.

    ``@champion`` must be a version promoted through the gate, unless ``allow_ungated``
    (see :func:`riskmodel.integrations.tracking.loading.load_logged`).

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved, the folder is not a saved forecaster, or
        ``@champion`` was not promoted through the gate.
    ArtifactIntegrityError
        If the model's signed manifest is missing or invalid, or a file differs from it.
    """
    uri = pin(uri, allow_ungated=allow_ungated)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(str(uri)).exists()
        folder, files = registry.verified_model_files(uri, ARTIFACT, FORECASTER_FILES, dst=None if local else tmp)
        return Forecaster.from_files(files, where=folder)  # the bytes verified, not a second read of the folder


def promote_forecaster(name: str, gate: ForecastGateConfig, *, version: str | int | None = None) -> registry.Decision:
    """Promote ``name@challenger`` (or version ``version``) to ``champion`` if it passes ``gate``; the decision is tagged either way.

    The decision and its reasons are also written into the version's model card (its
    description and the run's ``model_card.md``).

    The rules are :func:`riskmodel.core.forecasting.gate.forecast_gate` (re-exported here),
    against the champion of now, named in the decision: the challenger's same-window figure
    (``champion_mase_same_window``) counts only when it was measured on that champion's version;
    measured on a former champion (replaced since the challenger was trained), the champion of
    now is refitted and scored on the challenger's holdout window at promotion, and when it
    cannot be loaded its logged MASE is compared with, which the decision says.

    The champions before it (each made champion by a signed, passed promotion and not withdrawn by a
    rollback) bound the challenger too: its MASE at most the best of theirs times ``1 + mase_tolerance``,
    each refitted and scored on the challenger's holdout window (settings alike refitted once), or its
    logged MASE when it cannot be, which the decision says. Losses within the tolerance at each promotion
    would otherwise add up.

    """
    def judge(candidate: registry.Pinned, champion: registry.Pinned | None):
        metrics, note = _against_champion_of_now(candidate, champion)
        earlier, words = _earlier_on_window(name, candidate, champion, metrics)
        decision = forecast_gate(metrics, None if champion is None else champion.metrics, gate,
                                 champion_version=None if champion is None else champion.version, earlier=earlier)
        notes = (*words, *(() if note is None else (note,)))
        return dataclasses.replace(decision, reasons=(*decision.reasons, *notes)) if notes else decision

    decision = registry.promote_pinned(name, judge, version=version)
    cards.record_decision(name, decision.candidate)
    return decision


#: The run metrics of a same-window figure: the champion's MASE on the challenger's holdout window, and the version measured.
SAME_WINDOW = ("champion_mase_same_window", "champion_version_same_window")


def _against_champion_of_now(candidate: registry.Pinned, champion: registry.Pinned | None) -> tuple[dict[str, float], str | None]:
    """The candidate's metrics with a same-window figure of ``champion`` only, measured now when the logged one is of another version.

    With no champion, no figure. When either model cannot be loaded (or the refit has no holdout window), the logged
    figure stays, :func:`forecast_gate` sees it is of another version and uses the champion's logged MASE, and the
    second value is a reason line saying why the champion was not measured; else it is None.
    """
    metrics = dict(candidate.metrics)
    if champion is None:
        return {k: v for k, v in metrics.items() if k not in SAME_WINDOW and not k.startswith("champion_level.")}, None
    measured_on = metrics.get(SAME_WINDOW[1])
    if measured_on is not None and f"{measured_on:.0f}" == champion.version:
        return metrics, None
    why = "the refit has no holdout window"
    try:
        figures = champion_figures_on_same_window(load_forecaster(champion.uri), load_forecaster(candidate.uri))
    except ModelLoadError as exc:  # a model that fails its manifest too: it is not used, only not measured
        figures, why = {}, str(exc)
    if not figures:
        return metrics, (f"the champion version {champion.version} could not be measured on version {candidate.version}'s holdout "
                         f"window ({why}): its logged MASE is compared with")
    # the figures at each level logged for another version are that version's: only the ones measured now are kept
    kept = {k: v for k, v in metrics.items() if not k.startswith("champion_level.")}
    return kept | {_key(k): v for k, v in figures.items()} | {SAME_WINDOW[1]: float(champion.version)}, None


def _settings_key(params: dict) -> str:
    """Settings that fit alike on the same history (worker count and progress aside) share a key."""
    return json.dumps(to_dict({k: v for k, v in params.items() if k not in ("n_jobs", "progress")}), sort_keys=True, default=str)


def _known_on_window(challenger: Forecaster, champion: registry.Pinned | None, metrics: dict[str, float]) -> dict[str, float]:
    """Figures on the challenger's holdout window already in hand, by the settings that gave them: the challenger's own
    MASE, and the champion of now's same-window figure when it is of that version. A refit under the promotion lease
    (300 s) of settings already measured would only repeat them."""
    known = {_settings_key(challenger.get_params()): metrics.get("mase")}
    measured_on, same = metrics.get(SAME_WINDOW[1]), metrics.get(SAME_WINDOW[0])
    if champion is not None and same is not None and measured_on is not None and f"{measured_on:.0f}" == champion.version:
        with contextlib.suppress(ModelLoadError):
            known.setdefault(_settings_key(same_window_params(load_forecaster(champion.uri), challenger)), same)
    return {k: v for k, v in known.items() if v is not None}


def _earlier_on_window(name: str, candidate: registry.Pinned, champion: registry.Pinned | None, metrics: dict[str, float]):
    """``(figures, words)``: the champions before the champion of now, by version, each with its MASE on the candidate's
    holdout window and where it was measured, for the gate's rule on losses that add up over promotions. Settings
    measured already (the challenger's, the champion of now's) are not refitted: the same settings fit alike."""
    from riskmodel.integrations.tracking.risk import earlier_champions

    besides = (str(candidate.version),) + (() if champion is None else (str(champion.version),))
    versions = earlier_champions(name, besides=besides)
    if not versions:
        return {}, ()
    figures, left, measured, challenger = {}, [], None, None
    for v in versions:
        try:
            challenger = challenger or load_forecaster(candidate.uri)
            measured = _known_on_window(challenger, champion, metrics) if measured is None else measured
            model = load_forecaster(f"models:/{name}/{v}")
            key = _settings_key(same_window_params(model, challenger))
            if key not in measured:
                measured[key] = champion_on_same_window(model, challenger)
            mase, why = measured[key], "the refit has no holdout window"
        except ModelLoadError as exc:
            mase, why = None, str(exc)
        if mase is not None:
            figures[v] = (mase, "on the same window")
            continue
        logged = registry.version_metrics(name, v).get("mase")
        if logged is None or logged != logged:
            left.append(v)
            continue
        figures[v] = (logged, f"as logged, on its own window: it could not be measured on version {candidate.version}'s ({why})")
    words = (f"note: earlier champion{'s' if len(left) != 1 else ''} {', '.join(left)} neither measured on the holdout window nor "
             "with a logged MASE: not compared with",) if left else ()
    return figures, words


def log_forecast_monitoring(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    *,
    history: pd.DataFrame | None = None,
    m: int | None = None,
    breaks: Sequence[tuple[str, str]] = (COVID_BREAK,),
    tags: dict[str, list[str]] | None = None,
    experiment: str = "arrival-forecast-monitoring",
    run_name: str | None = None,
) -> tuple[str, pd.DataFrame]:
    """Score stored forecasts against actuals and log the result to MLflow.

    Parameters
    ----------
    forecasts, actuals, history, m, breaks, tags
        See :func:`riskmodel.core.monitoring.forecasts.score_forecasts`.
    experiment : str, default="arrival-forecast-monitoring"
    run_name : str, optional

    Returns
    -------
    run_id : str
    per_level : DataFrame
        MASE, bias and coverage per hierarchy level (level ``"all"`` first).
    """
    per_series, per_level = score_forecasts(forecasts, actuals, history=history, m=m, breaks=breaks, tags=tags)
    span = (actuals["ds"].min(), actuals["ds"].max())
    return log_forecast_scores(per_series, per_level, span=span, experiment=experiment, run_name=run_name), per_level


def log_forecast_scores(
    per_series: pd.DataFrame,
    per_level: pd.DataFrame,
    *,
    span: tuple,
    experiment: str = "arrival-forecast-monitoring",
    run_name: str | None = None,
) -> str:
    """Log the tables of :func:`riskmodel.core.monitoring.forecasts.score_forecasts` to MLflow.

    Parameters
    ----------
    per_series, per_level : DataFrame
        The two tables ``score_forecasts`` returns; a missing figure (a series without a MASE
        scale) is left out of the metrics, not logged as a number. ``per_series.attrs["missing_actuals"]``
        (the forecast periods per series whose actuals did not come while other series' did) is logged as
        ``monitoring/missing_actuals.json`` and the metrics ``missing_actuals.periods`` and ``missing_actuals.series``.
    span : tuple of (first, last) period
        The actuals' first and last ``ds``.
    experiment : str, default="arrival-forecast-monitoring"
    run_name : str, optional

    Returns
    -------
    str
        The run id.
    """
    registry.use_experiment(experiment)
    with mlflow.start_run(run_name=run_name or "forecast-monitoring") as run:
        metrics = {}
        for _, row in per_level.iterrows():
            for col in per_level.columns.drop(["level", "n_series"]):
                if pd.notna(row[col]):
                    metrics[f"{_key(row['level'])}.{col}"] = float(row[col])
        # a series whose actuals did not come is in no figure above: its absence is logged, not only printed
        missing = {str(k): int(v) for k, v in per_series.attrs.get("missing_actuals", {}).items()}
        metrics["missing_actuals.periods"] = float(sum(missing.values()))
        metrics["missing_actuals.series"] = float(len(missing))
        mlflow.log_metrics(metrics)
        mlflow.log_text(json.dumps(missing, sort_keys=True), "monitoring/missing_actuals.json")
        mlflow.log_text(per_series.to_csv(index=False), "monitoring/per_series.csv")
        mlflow.log_text(per_level.to_csv(index=False), "monitoring/per_level.csv")
        mlflow.log_text(json.dumps({"first_ds": str(span[0]), "last_ds": str(span[1])}), "monitoring/span.json")
    return run.info.run_id
