"""The forecasters' promotion gate: rules a challenger must pass on a window nothing was tuned on.

The figures come from :func:`honest_metrics`: the forecaster's *holdout* window
(:attr:`Forecaster.holdout_metrics_`), later than every window that chose its
models or calibrated its intervals, scored as served (reconciled when there is a
hierarchy), next to the simple peers naive, seasonal naive and drift on the same
window. A challenger passes when, for the rules of
:class:`~riskmodel.core.forecasting.config.ForecastGateConfig`:

* its holdout MASE over all series is at most ``max_mase``;
* with ``beat_best_peer``, its MASE is strictly below the best simple peer's
  (``mase_over_best_peer < 1`` by more than rounding, :data:`TIE`), so seasonal naive itself never
  passes when a peer is as good;
* with ``beat_snaive``, its MASE is at most seasonal naive's (with ``beat_best_peer`` off, the
  decision says so in an ``OFF:`` line: a rule switched off is said, never left out);
* with a hierarchy, at each of its levels (total, port type, port, ...) its holdout MASE is at most
  ``max_level_mase_over_snaive`` times seasonal naive's at that level (``level.<level>.mase_over_snaive``):
  the figures over all series are means over every series of every level, and a forecaster worse than
  seasonal naive on the total passed them on the ports' strength (null switches the rule off, said in an
  ``OFF:`` line);
* its 95% interval coverage lies in ``[min_coverage_95, max_coverage_95]`` (a side whose bound no
  coverage can cross, a minimum of 0 or a maximum of 1, is said in an ``OFF:`` line);
* with a champion, its MASE is at most the champion's times ``1 + mase_tolerance``, the
  champion refitted and scored on the same window (``champion_mase_same_window``) when
  that was measured on the champion compared with (``champion_version_same_window``), else the
  champion's own logged MASE, and the decision says which figure of which champion version it read:
  a figure measured on a former champion is never quoted as the champion's; and at each level of a hierarchy its
  MASE is at most the champion's at that level times ``1 + mase_tolerance`` (``level.<level>.mase_over_champion``,
  the champion's same-window figure there, ``champion_level.<level>.mase_same_window``, else its logged one): the
  MASE over all series is a mean over every level, and a challenger worse on the total passed it on the ports' gain;
* with earlier champions (each made champion by a passed promotion, none withdrawn by a rollback), its MASE is at
  most the best of theirs times ``1 + mase_tolerance`` too, measured on the same window where their models load:
  a loss within the tolerance at each promotion would otherwise add up (``mase_over_earlier_champions``).

A missing MASE or ratio (no holdout window: ``forecaster.holdout_windows`` 0, or too short a history)
fails its rule, and the decision says there is no holdout window to judge and how to fix the config
(:data:`NO_HOLDOUT`), never quoting a MASE of inf.

A bound that cannot fail is said, not refused, when it may be a deliberate choice: per metric, a
coverage side at the end of [0, 1] cannot fail (``OFF:`` line); MASE and its ratios are unbounded
above, so every finite ``max_mase`` can fail, however loose (1e9 is kept and says nothing); infinite
or NaN bounds are refused by :class:`~riskmodel.core.forecasting.config.ForecastGateConfig`.
"""

from __future__ import annotations

import numbers

from riskmodel.core.forecasting.config import ForecastGateConfig
from riskmodel.core.gate import GateChecks, GateDecision

__all__ = ["forecast_gate", "honest_metrics", "champion_on_same_window", "champion_figures_on_same_window",
           "same_window_params"]

PEER_MODELS = ("peer:naive", "peer:snaive", "peer:drift")
#: A MASE ratio within this of 1 is a tie: a challenger that *is* a peer (seasonal naive alone) is scored
#: along another path than the peer, so its ratio to the peer reads 1 give or take a few 1e-16 (0.9999999999999994
#: on tests/test_forecast_gate.py's seasonal series, which passed a rule of "strictly below 1").
TIE = 1e-9


def honest_metrics(forecaster) -> dict[str, float]:
    """The gate's figures from a fitted forecaster's holdout window (empty when it has none).

    Returns
    -------
    dict of str to float
        The served forecast's metrics over all series (``mase``, ``smape``,
        ``coverage_95``, ``msis_95``, ...; ``reconciled`` when the forecaster has a
        hierarchy, else ``chosen``), ``mase_over_best_peer``, ``mase_over_snaive`` and
        ``peer_<name>_mase`` for each simple peer.
    """
    table = getattr(forecaster, "holdout_metrics_", None)
    if table is None or table.empty:
        return {}
    rows = table[table["level"] == "all"].set_index("model")
    # what is served decides what is judged: with a hierarchy the forecasts are reconciled, and a holdout without
    # reconciled figures has nothing to judge; the unreconciled 'chosen' figures are another forecaster's
    reconciled = getattr(forecaster, "hierarchy_", None) is not None and getattr(forecaster, "reconcile", None) is not None
    served = "reconciled" if reconciled else "chosen"
    if served not in rows.index:
        return {}
    # counts (n_series, n_intervals_95) come out of the table as numpy integers, which are no `int`
    out = {c: float(v) for c, v in rows.loc[served].items() if c != "level" and isinstance(v, numbers.Real) and v == v}
    peers = {m: float(rows.loc[m, "mase"]) for m in PEER_MODELS if m in rows.index and rows.loc[m, "mase"] == rows.loc[m, "mase"]}
    for m, v in peers.items():
        out[f"peer_{m.split(':', 1)[1]}_mase"] = v
    best = min(peers.values(), default=float("nan"))
    if "mase" in out and best > 0:
        out["mase_over_best_peer"] = out["mase"] / best
    if "mase" in out and peers.get("peer:snaive", 0) > 0:
        out["mase_over_snaive"] = out["mase"] / peers["peer:snaive"]
    out.update(_per_level(table, served))
    return out


def _per_level(table, served: str) -> dict[str, float]:
    """``level.<level>.mase`` and ``level.<level>.mase_over_snaive`` of the served forecast, for each level of a hierarchy.

    The figures over all series are means over every series of every level: a forecaster worse than seasonal naive
    on the total (one series) passes them on the ports' strength; each level is judged on its own too.
    """
    out = {}
    for level, rows in table[table["level"] != "all"].groupby("level", sort=True):
        mase = rows.set_index("model")["mase"]
        if served not in mase.index or mase[served] != mase[served]:
            continue
        out[f"level.{level}.mase"] = float(mase[served])
        snaive = mase.get("peer:snaive")
        if snaive is not None and snaive == snaive and snaive > 0:
            out[f"level.{level}.mase_over_snaive"] = float(mase[served]) / float(snaive)
    return out


def forecast_gate(
    candidate: dict[str, float], champion: dict[str, float] | None, gate: ForecastGateConfig, *, champion_version: str | None = None,
    earlier: dict[str, tuple[float, str]] | None = None,
) -> GateDecision:
    """Check a challenger's backtest metrics against the rules of ``gate`` (and the champion's).

    Parameters
    ----------
    candidate : dict of str to float
        The challenger's holdout metrics (:func:`honest_metrics`: ``mase``,
        ``mase_over_best_peer``, ``mase_over_snaive``, ``coverage_95``), and
        ``champion_mase_same_window`` when the champion was scored on the same window, with
        ``champion_version_same_window``, the version of the champion it was measured on.
    champion : dict of str to float or None
        The champion's run metrics, or None when there is no champion yet (with neither its
        ``mase`` nor ``champion_mase_same_window``, the champion rule fails).
    gate : ForecastGateConfig
        Rules and tolerances.
    champion_version : str, optional
        The version of the champion compared with (the promotion names it). Given, the
        same-window figure is used only when it was measured on that version; otherwise the
        champion's logged MASE is, and the reason says why. Not given, the same-window figure is
        taken as the champion's.
    earlier : dict of str to (float, str), optional
        The champions before the current one (a passed promotion each, not withdrawn by a rollback), by version: their
        MASE and where it was measured ("on the same window", or "as logged, ..." when it could not be). The challenger's
        MASE must also be at most the best of them times ``1 + mase_tolerance`` (comparison
        ``mase_over_earlier_champions``): a loss within the tolerance at each promotion would otherwise add up.

    Returns
    -------
    GateDecision
        One reason and one comparison per rule checked.

    Examples
    --------
    >>> forecast_gate({"mase": 0.9, "mase_over_best_peer": 0.95, "coverage_95": 0.93}, None, ForecastGateConfig()).passed
    True
    >>> forecast_gate({"mase": 0.9, "mase_over_best_peer": 1.0, "coverage_95": 0.93}, None, ForecastGateConfig()).passed
    False
    """
    checks = GateChecks()
    shown = candidate.get("mase")
    mase = _figure(shown)
    # no holdout figure at all is said as such, with the fix: quoted as "MASE inf" it read as a forecast scored that badly
    checks.compare(
        "mase", shown, upper=gate.max_mase, rule=f"<= {gate.max_mase}",
        text=(lambda ok: f"holdout MASE {mase}{_mase_over(candidate)} {'<=' if ok else '>'} max {gate.max_mase}") if shown is not None else NO_HOLDOUT,
    )
    if gate.beat_best_peer:
        best = _figure(candidate.get("mase_over_best_peer"))
        checks.compare(
            # strictly below, rounding aside: a challenger that is one of the peers (a tie) adds nothing
            "mase_over_best_peer", candidate.get("mase_over_best_peer"), upper=1.0 - TIE, rule="< 1",
            text=lambda ok: f"holdout MASE over the best of naive, seasonal naive and drift {best} {'<' if ok else '>='} 1",
        )
    elif gate.beat_snaive:  # a rule switched off is said in the decision, never left out
        checks.note("OFF: not compared with the best simple peer, only with seasonal naive (gate.beat_best_peer is false)")
    else:
        checks.note("OFF: not compared with the simple peers (gate.beat_best_peer is false, gate.beat_snaive is false)")
    if gate.beat_snaive:
        ratio = _figure(candidate.get("mase_over_snaive"))
        checks.compare(
            "mase_over_snaive", candidate.get("mase_over_snaive"), upper=1.0, rule="<= 1",
            text=lambda ok: f"MASE over seasonal naive {ratio} {'<=' if ok else '>'} 1",
        )
    # a forecaster whose holdout has no 95% coverage (no intervals) fails this rule: never a pass by omission
    cov = candidate.get("coverage_95")
    lo, hi = gate.min_coverage_95, gate.max_coverage_95
    _say_coverage_sides_off(checks, lo, hi)
    checks.compare(
        "coverage_95", cov, lower=lo, upper=hi, rule=f"within [{lo}, {hi}]",
        text=lambda ok: f"95% coverage {'missing' if cov is None else format(cov, '.3f')}{_measured_on(candidate)} "
        f"{'within' if ok else 'outside'} [{lo}, {hi}]",
    )
    _check_levels(checks, candidate, gate.max_level_mase_over_snaive)
    same, where = _same_window(candidate, champion_version)
    reference = same if same is not None else champion.get("mase") if champion is not None else None
    whose = "champion's" if champion_version is None else f"champion version {champion_version}'s"
    if reference is None and champion is not None:
        # a champion whose MASE could not be read ({} from the registry) is no absent champion: no comparison, no pass
        checks.compare("mase", None, reference=None, rule="<= champion x (1 + tolerance)",
                       text=f"the {whose} MASE could not be read nor measured on the same window: cannot compare with it")
    elif reference is not None:
        factor = 1 + gate.mase_tolerance
        checks.compare(
            "mase", shown, upper=reference * factor, reference=reference, tolerance=gate.mase_tolerance,
            rule="<= champion x (1 + tolerance)",
            text=lambda ok: f"MASE {mase} {'<=' if ok else '>'} {whose} {reference:.4f} ({where}) x {factor}",
        )
        _check_levels_against_champion(checks, candidate, champion or {}, same is not None, whose, gate.mase_tolerance)
    _check_earlier(checks, shown, earlier, gate.mase_tolerance)
    return checks.decision()


def _check_levels_against_champion(checks: GateChecks, candidate: dict[str, float], champion: dict[str, float], same: bool,
                                   whose: str, tolerance: float) -> None:
    """Each level of the hierarchy at most the champion's MASE there times ``1 + tolerance``: the MASE over all series is
    a mean over every series of every level, and a challenger worse on the total passed it on the ports' gain.

    The champion's figure at a level is the one measured on the same window when the champion's was (``same``), else
    the one it logged; a level with neither is said, not compared.
    """
    levels = sorted(k[len("level."):-len(".mase")] for k in candidate if k.startswith("level.") and k.endswith(".mase"))
    factor = 1 + tolerance
    for level in levels:
        mine = candidate[f"level.{level}.mase"]
        reference, where = candidate.get(f"champion_level.{level}.mase_same_window") if same else None, "on the same window"
        if reference is None:
            reference, where = champion.get(f"level.{level}.mase"), "as logged"
        if reference is None or reference != reference:
            checks.note(f"level {level}: the {whose} MASE at this level could not be read nor measured on the same window: "
                        "not compared with it there")
            continue
        checks.compare(
            f"level.{level}.mase_over_champion", mine, upper=reference * factor, reference=reference, tolerance=tolerance,
            rule="<= champion's at that level x (1 + tolerance)",
            text=lambda ok, level=level, mine=mine, reference=reference, where=where: (
                f"level {level}: holdout MASE {mine:.4f} {'<=' if ok else '>'} {whose} {reference:.4f} at that level ({where}) "
                f"x {factor}"),
        )


def _check_earlier(checks: GateChecks, shown: float | None, earlier: dict[str, tuple[float, str]] | None, tolerance: float) -> None:
    """The challenger's MASE at most the best earlier champion's times ``1 + tolerance``: losses within the tolerance
    at each promotion add up (1.5% a step passes a 2% tolerance for ever), as the risk gate's lineage rule says."""
    figures = {v: f for v, f in (earlier or {}).items() if f[0] is not None and f[0] == f[0]}
    if not figures:
        return
    best = min(figures, key=lambda v: (figures[v][0], int(v) if str(v).isdigit() else 0))
    reference, where = figures[best]
    factor, many = 1 + tolerance, len(figures) != 1
    checks.compare(
        "mase_over_earlier_champions", shown, upper=reference * factor, reference=reference, tolerance=tolerance,
        rule="<= best earlier champion x (1 + tolerance)",
        text=lambda ok: (f"MASE {_figure(shown)} {'<=' if ok else '>'} earlier champion version {best}'s {reference:.4f} ({where}; "
                         f"the best of {len(figures)} earlier champion{'s' if many else ''}) x {factor}"
                         + ("" if ok else ": losses within the tolerance at each promotion have added up; train a challenger "
                            f"within it of version {best}, or put version {best} back "
                            f"(`riskmodel rollback forecast --to {best} --reason ...`)")),
    )


#: The reason of the MASE rule when the challenger has no holdout figure: what is missing, why, and the fix.
NO_HOLDOUT = ("no holdout window to judge: the challenger has no holdout MASE (forecaster.holdout_windows is 0, or the "
              "history is too short to keep a window out of model choice, or, with a hierarchy, its served reconciled "
              "forecast was not scored there: a forecaster saved before that was); set forecaster.holdout_windows to 1 or "
              "more, with history for n_windows + holdout_windows backtest windows, and train it again")


def _same_window(candidate: dict[str, float], champion_version: str | None) -> tuple[float | None, str]:
    """The same-window figure when it is of the champion compared with (else None), and where the reference comes from.

    A figure measured on another version (a champion replaced since the challenger was trained), or naming no version,
    is not the champion's: the champion's logged MASE is read instead, and the reason says so.
    """
    same = candidate.get("champion_mase_same_window")
    if same is None:
        return None, "as logged"
    if champion_version is None:
        return same, "on the same window"
    measured_on = candidate.get("champion_version_same_window")
    if measured_on is not None and f"{measured_on:.0f}" == str(champion_version):
        return same, "on the same window"
    of = "a champion whose version was not recorded" if measured_on is None else f"version {measured_on:.0f}"
    return None, (f"as logged, on its own window: the same-window figure {same:.4f} was measured on {of}, not on the "
                  "champion compared with")


def _figure(value: float | None) -> str:
    """A holdout figure for a reason line; ``missing (no holdout window)`` when there is none."""
    return "missing (no holdout window)" if value is None else f"{value:.4f}"


def _measured_on(candidate: dict[str, float]) -> str:
    """`` (k of n series with an interval ...)`` when the 95% coverage was measured on only some of the series."""
    k, n = candidate.get("n_intervals_95"), candidate.get("n_series")
    if k is None or n is None or k >= n:
        return ""
    return (f" ({k:.0f} of {n:.0f} series with an interval on the holdout; a series too new for one, and a total "
            "summing it, has none)")


def _check_levels(checks: GateChecks, candidate: dict[str, float], bound: float | None) -> None:
    """One rule per level of the hierarchy: its holdout MASE at most ``bound`` times seasonal naive's at that level."""
    levels = sorted(k[len("level."):-len(".mase")] for k in candidate if k.startswith("level.") and k.endswith(".mase"))
    if not levels:  # no hierarchy: the figures over all series are the only level
        return
    if bound is None:
        checks.note("OFF: levels of the hierarchy not judged apart (gate.max_level_mase_over_snaive is null): a forecaster "
                    "worse than seasonal naive on the total, or on the ports, passes on the other levels' strength")
        return
    for level in levels:
        key = f"level.{level}.mase_over_snaive"
        ratio = candidate.get(key)
        checks.compare(
            # at most, rounding aside: a challenger that is seasonal naive reads 1 give or take a few 1e-16 at a level
            key, ratio, upper=bound + TIE, rule=f"<= {bound}",
            text=lambda ok, level=level, ratio=ratio: (
                f"level {level}: holdout MASE {candidate[f'level.{level}.mase']:.4f}, "
                + (f"{ratio:.4f} times seasonal naive's at that level, {'<=' if ok else '>'} {bound}" if ratio is not None
                   else "over seasonal naive's at that level: missing (seasonal naive has no MASE there)")),
        )


def _mase_over(candidate: dict[str, float]) -> str:
    """`` (mean over k of n series ...)`` when the holdout MASE is a mean over only some of the series."""
    k, n = candidate.get("n_mase"), candidate.get("n_series")
    if k is None or n is None or k >= n:
        return ""
    return f" (mean over {k:.0f} of {n:.0f} series of the holdout window; the others have no MASE scale: no change in their history)"


def _say_coverage_sides_off(checks: GateChecks, lo: float, hi: float) -> None:
    """An ``OFF:`` line for each side of the coverage rule its bound cannot fail (a coverage lies in [0, 1])."""
    if lo <= 0 and hi >= 1:
        checks.note(f"OFF: 95% coverage not bounded (gate.min_coverage_95 is {lo:g} and gate.max_coverage_95 is {hi:g}: every "
                    "coverage lies between them); only that the holdout has a coverage is checked")
    elif lo <= 0:
        checks.note(f"OFF: 95% coverage not checked from below (gate.min_coverage_95 is {lo:g}, which no coverage lies below): "
                    "intervals that cover too little pass")
    elif hi >= 1:
        checks.note(f"OFF: 95% coverage not checked from above (gate.max_coverage_95 is {hi:g}, which no coverage exceeds): "
                    "intervals that cover every actual pass")


def champion_on_same_window(champion, challenger, *, on_progress=None) -> float | None:
    """The champion's holdout MASE on the challenger's holdout window: its settings refitted on the same history.

    Parameters
    ----------
    champion, challenger : Forecaster
        Fitted forecasters; the champion's settings are refitted on the challenger's
        history and hierarchy, at the challenger's horizon and holdout windows (and their
        spacing), so both are scored on the same, later window. A champion of another
        horizon is thus judged at the challenger's: its logged MASE, of another window and
        horizon, would compare a 1-month challenger with a 12-month champion.
    on_progress : callable, optional
        The refit's progress hook (:meth:`Forecaster.fit`, :mod:`riskmodel.core.progress`).

    Returns
    -------
    float or None
        None when the challenger or the refit has no holdout window.
    """
    return champion_figures_on_same_window(champion, challenger, on_progress=on_progress).get("champion_mase_same_window")


def same_window_params(champion, challenger) -> dict:
    """The settings :func:`champion_figures_on_same_window` refits: the champion's, at the challenger's horizon and
    holdout windows (and their spacing). Equal to the challenger's own settings, the refit is the challenger's fit."""
    params = champion.get_params() | {"h": challenger.h, "holdout_windows": challenger.holdout_windows}
    if challenger.holdout_windows > 1:  # the holdout cutoffs are spaced by the step: the challenger's
        params["step"] = challenger.step or max(1, challenger.h // challenger.n_windows)
    return params


def champion_figures_on_same_window(champion, challenger, *, on_progress=None) -> dict[str, float]:
    """:func:`champion_on_same_window`'s refit, with its MASE at each level of the hierarchy too, as the gate reads them.

    Returns
    -------
    dict of str to float
        ``champion_mase_same_window`` and, with a hierarchy, ``champion_level.<level>.mase_same_window`` for each level;
        empty when the challenger or the refit has no holdout window.
    """
    from riskmodel.core.forecasting.forecaster import Forecaster

    if not challenger.holdout_windows:
        return {}
    params = same_window_params(champion, challenger)
    refit = Forecaster(**params).fit(challenger.history_, getattr(challenger, "hierarchy_", None), on_progress=on_progress)
    figures = honest_metrics(refit)
    if "mase" not in figures:
        return {}
    levels = {f"champion_{k[:-len('.mase')]}.mase_same_window": v for k, v in figures.items() if k.startswith("level.") and k.endswith(".mase")}
    return {"champion_mase_same_window": figures["mase"], **levels}
