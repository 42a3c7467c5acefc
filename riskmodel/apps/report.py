"""The duty manager's report: one self-contained HTML file with every image embedded.

It opens with what a duty manager decides on, and keeps the data-science material for an
appendix. Sections, in this order (each an ``<section id=...>`` so tests and readers find them):

- ``cautions`` (only when there is one): what makes the numbers below less sound, before them:
  the caller's cautions (the main job: a forecaster whose history ends inside a break), series
  too young to forecast (their forecast rows' ``model`` ends in " (too young)"), series with no arrival in
  their history (forecast 0, range 0-0) and a red verdict of tonight's data checks;
- ``headline``: per port, tomorrow and the next 7 days (the days there are, on a shorter horizon): expected arrivals and referrals with
  their 80% ranges (over several days or ports: of the sum, at the backtest's error correlation),
  and the officers needed (from ``workload.csv``); an arrivals range whose
  lower end shows as the forecast itself is marked and explained, never shown as a plain floor; a port too young to
  forecast is marked "(too young)" there as in the tables below;
- ``outlook``: the forecast's days (90 in the main job) per port against the same weeks a year earlier and in 2019
  (before COVID);
- ``trends``: surges and collapses flagged by the forecasting trend signals;
- ``in-country``: who is in the country at high risk, by port of entry and nationality;
- appendix: ``nationalities`` (outlook per nationality), ``forecasts`` (fan charts),
  ``data-checks`` (tonight's feed compared like with like), ``risk-distribution``,
  ``reasons``, ``reliability``, ``fairness``, ``backtest`` (forecast accuracy and interval
  coverage, with the window they were scored on) and ``summary`` (what was run).

People are whole numbers; ports are named as BPS writes them. The page reads on a phone
(tables scroll sideways) and prints (sections are not split across pages). Images are PNGs
drawn with matplotlib (Agg backend) and embedded as base64, so the file can be mailed or
archived as is.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.forecasting.trends import flags_by_chance
from riskmodel.core.forecasting.young import YOUNG_LABEL
from riskmodel.core.operations import REFER_BANDS, ErrorCorrelation, arrival_range, referral_range
from riskmodel.core.risk.fairness import COMPARISONS

__all__ = ["write_report", "ReportInputs", "SECTIONS", "DECISION_SECTIONS", "TREND_COLUMNS"]

#: The sections a duty manager acts on, first and in this order.
DECISION_SECTIONS = ("headline", "outlook", "trends", "in-country")
#: Every section in page order: the decisions, then the appendix.
SECTIONS = DECISION_SECTIONS + (
    "nationalities", "forecasts", "data-checks", "risk-distribution", "reasons", "reliability", "fairness", "backtest", "summary",
)
#: Columns of the trend-signal table the ``trends`` section renders
#: (:func:`riskmodel.core.forecasting.trends.monthly_trends`, the main job's ``trends.csv``).
TREND_COLUMNS = ("unique_id", "recent_3m", "growth_3m", "growth_12m", "vs_pre_break_12m", "n_checked", "n_above", "n_below", "signal")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2933;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;border-bottom:1px solid #d9e2ec;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0} th,td{padding:.25rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right}
th{background:#f0f4f8} td:first-child,th:first-child{text-align:left} .note{color:#52606d;font-size:.85rem}
td:not(:first-child){white-space:nowrap}
.scroll td:first-child,.scroll th:first-child{position:sticky;left:0;background:#fff;z-index:1} .scroll th:first-child{background:#f0f4f8}
img{max-width:100%;height:auto} .warn{color:#b44d12;font-weight:600} .scroll{overflow-x:auto}
.red{color:#b42318;font-weight:600} .amber{color:#b54708} .green{color:#067647}
#appendix{margin-top:3rem;border-top:3px double #9aa5b1}
@media (max-width:700px){body{margin:.5rem auto;padding:0 .5rem} table{font-size:.78rem} th,td{padding:.2rem .35rem}}
@media print{body{max-width:none;margin:0} section{break-inside:avoid} .scroll{overflow:visible}}
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return '<img alt="chart" src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode("ascii") + '">'


def _figure(width: float = 8.0, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def _table(df: pd.DataFrame, floatfmt: str = "{:,.3f}") -> str:
    def fmt(v):
        if isinstance(v, float | np.floating):
            return "" if not np.isfinite(v) else floatfmt.format(v)
        if isinstance(v, int | np.integer):
            return f"{v:,}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{body}</section>'


def _risk_distribution(scored: pd.DataFrame) -> str:
    fig, ax = _figure()
    p = scored["probability"].dropna().to_numpy()
    ax.hist(p, bins=np.linspace(0, max(float(p.max()) if len(p) else 1.0, 0.05), 60), color="#2f6690")
    ax.set_yscale("log")
    ax.set_xlabel("calibrated overstay probability")
    ax.set_ylabel("stays (log scale)")
    counts = scored["risk_band"].astype(object).fillna("flagged").value_counts()
    table = pd.DataFrame({"band": counts.index, "stays": counts.to_numpy(), "share": counts.to_numpy() / max(len(scored), 1)})
    return _png(fig) + _table(table)


def _reliability(rel: pd.DataFrame | None) -> str:
    if rel is None or rel.empty:
        return '<p class="note">No holdout reliability table was given.</p>'
    fig, ax = _figure(5.0, 4.0)
    hi = float(max(rel["mean_predicted"].max(), rel["observed_rate"].max()))
    ax.plot([0, hi], [0, hi], color="#9aa5b1", lw=1, label="perfect calibration")
    ax.plot(rel["mean_predicted"], rel["observed_rate"], "o-", color="#c05621", label="holdout")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed overstay rate")
    ax.legend()
    return _png(fig) + '<p class="note">Holdout: the latest stays, never seen in training or calibration.</p>'


def _fairness(table: pd.DataFrame | None, bounds: dict | None, confidence: float | None = None) -> str:
    if table is None or table.empty:
        return '<p class="note">No fairness audit was given.</p>'
    import matplotlib.pyplot as plt

    attrs = list(dict.fromkeys(table["attribute"]))
    fig, axes = plt.subplots(len(attrs), 2, figsize=(9, 2.2 * len(attrs)), squeeze=False)
    for i, attr in enumerate(attrs):
        # the groups judged on referral and false positives: enough rows (older tables: enough_support)
        enough = table["enough_rows"] if "enough_rows" in table.columns else table["enough_support"]
        t = table[(table["attribute"] == attr) & enough.astype(bool)]
        for j, (col, label) in enumerate((("referral_rate", "referral rate"), ("fpr", "false-positive rate"))):
            ax = axes[i][j]
            ax.barh(t["group"].astype(str), t[col], color="#486581")
            ax.set_title(f"{attr}: {label}", fontsize=9)
    fig.tight_layout()
    note = ""
    if bounds:
        note = ('<p class="note">The audit\'s bounds apply to each group against the rest, beyond its bootstrap interval: '
                "referral and false-positive excess are the rate ratios over the group's own overstay-rate ratio, "
                "the FNR difference is its share of overstayers missed less the rest's, the precision ratio how often its "
                "referrals are right over the rest's, "
                "calibration ratio is its predicted odds over its observed odds (columns below, each with its interval; a group "
                "too small to judge has none and its point estimates say little; a group with enough rows but too few "
                "overstays is judged on the referral and false-positive excess only, as its not_judged column says). Bounds: "
                + html.escape(", ".join(f"{k} = {v}" for k, v in bounds.items())) + ".</p>")
    judged = [c for c, *_ in COMPARISONS]  # every comparison the audit judges: a breach on any of them shows its figure
    cols = [c for c in ("attribute", "group", "support", "referral_rate", "fpr", "fnr", "precision", "mean_predicted", "observed_rate",
                        *judged, "status", "not_judged") if c in table.columns]
    shown = table[cols].copy()
    # a group is judged on its interval, not its point estimate: show it, and say which groups were not judged; the
    # group rates carry theirs too (a rate on 40 stays is not one on 6,000), every header at the audit's level
    level = f" {confidence:.0%}" if confidence is not None else ""
    for name in ("referral_rate", "fpr", "fnr", "precision", *judged):
        if {name, f"{name}_low", f"{name}_high"} <= set(table.columns):
            lo, hi = table[f"{name}_low"].astype(float), table[f"{name}_high"].astype(float)
            # no interval is "not judged"; an infinite end (a group referred when none of the rest is) is judged
            text = [f"{a:,.3f} to {b:,.3f}" if not (np.isnan(a) or np.isnan(b)) else "not judged" for a, b in zip(lo, hi, strict=True)]
            shown.insert(shown.columns.get_loc(name) + 1, f"{name}{level} interval", text)
    return _png(fig) + note + _table(shown)


def _reasons(scored: pd.DataFrame) -> str:
    cols = [c for c in scored.columns if c.startswith("reason_")]
    referred = scored[scored["risk_band"].astype(object).isin(REFER_BANDS)]
    if not cols or referred.empty:
        return '<p class="note">No referred stays with reasons.</p>'
    # the same reason with another share of the added risk is the same reason here
    texts = pd.concat([referred[c] for c in cols]).dropna().astype(str).str.replace(r" \(\d+% of the added risk\)$", "", regex=True)
    top = texts.value_counts().head(12)
    return _table(pd.DataFrame({"reason": top.index, "referred stays": top.to_numpy()})) + (
        '<p class="note">Reasons explain the model\'s uncalibrated margin (TreeSHAP contributions), '
        "largest first; they are aids for the officer, not grounds on their own.</p>"
    )


def _fan_charts(forecasts: pd.DataFrame, history: pd.DataFrame | None, series: Sequence[str]) -> str:
    import matplotlib.pyplot as plt

    series = [s for s in series if s in set(forecasts["unique_id"])]
    if not series:
        return '<p class="note">No forecasts for the main ports.</p>'
    fig, axes = plt.subplots(len(series), 1, figsize=(9, 2.4 * len(series)), squeeze=False)
    for ax, uid in zip(axes[:, 0], series, strict=True):
        f = forecasts[forecasts["unique_id"] == uid].sort_values("ds")
        if history is not None:
            h = history[history["unique_id"] == uid].sort_values("ds")
            h = h[h["ds"] >= f["ds"].min() - pd.Timedelta(days=120)]
            ax.plot(h["ds"], h["y"], color="#243b53", lw=1, label="history")
        for level, alpha in ((95, 0.18), (80, 0.32)):
            if f"y_lo_{level}" in f.columns:
                ax.fill_between(f["ds"], f[f"y_lo_{level}"], f[f"y_hi_{level}"], color="#2f6690", alpha=alpha, lw=0, label=f"{level}% interval")
        ax.plot(f["ds"], f["y_hat"], color="#2f6690", lw=1.5, label="forecast")
        kind, name = _series_name(str(uid))
        ax.set_title(name if kind in ("port", "all") else f"{kind} {name}", fontsize=9)
        ax.set_ylabel("arrivals per day", fontsize=8)  # the report's forecasts are daily (checked): never per month or counter
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def _port_charts(forecasts: pd.DataFrame, history: pd.DataFrame | None, series: Sequence[str], backtest: pd.DataFrame | None) -> str:
    charts = _fan_charts(forecasts, history, series)
    return charts + _interval_note(backtest, "port") if charts.startswith("<img") else charts


def _served_coverage(backtest: pd.DataFrame | None, hierarchy: str) -> pd.Series | None:
    """The served forecast's row over all series of the accuracy table (reconciled when there is one), or None."""
    if backtest is None or backtest.empty or not {"level", "model", "coverage_80", "coverage_95"} <= set(backtest.columns):
        return None
    rows = backtest[backtest["level"].astype(str) == "all"]
    if "hierarchy" in rows.columns:
        rows = rows[rows["hierarchy"].astype(str) == hierarchy]
    for served in ("reconciled", "chosen"):
        hit = rows[rows["model"].astype(str) == served]
        if len(hit):
            return hit.iloc[0]
    return None


def _interval_note(backtest: pd.DataFrame | None, hierarchy: str) -> str:
    """What the shaded bands are and, from the accuracy table, how often they held on its window."""
    text = "Shaded: the 80% (darker) and 95% intervals of the daily forecast."
    row = _served_coverage(backtest, hierarchy)
    if row is not None and np.isfinite(float(row["coverage_80"])) and np.isfinite(float(row["coverage_95"])):
        where = _window_phrase(row)
        text += (f" On {where} the 80% intervals held {float(row['coverage_80']):.0%} and the 95% intervals "
                 f"{float(row['coverage_95']):.0%} of the actual daily counts, all series together (appendix: forecast accuracy).")
    return f'<p class="note">{html.escape(text)}</p>'


def _window_phrase(row: pd.Series) -> str:
    """``the holdout window 2023-10-02 to 2023-12-30`` from a row of the accuracy table."""
    window = str(row.get("window", ""))
    what = {"holdout": "the holdout window", "": "an unnamed window"}.get(window, "the selection windows (optimistic: they chose the model)")
    start, end = row.get("window_from"), row.get("window_to")
    if isinstance(start, str) and isinstance(end, str) and start and end:
        return f"{what} {start} to {end}"
    return f"{what} (dates not given)"


def _accuracy(backtest: pd.DataFrame | None) -> tuple[str, str]:
    """Title and body of the forecast accuracy section: which window each forecaster was scored on, then the table."""
    if backtest is None or backtest.empty:
        return "Forecast accuracy", '<p class="note">No backtest table was given.</p>'
    if "window" not in backtest.columns:
        where = ("The table does not say which window its figures come from: read them as optimistic, as if the "
                 "windows that chose the model had scored it.")
        title = "Forecast accuracy (window not stated)"
    else:
        groups = backtest.groupby("hierarchy", sort=False) if "hierarchy" in backtest.columns else [("", backtest)]
        spans = [f"{name + ' forecaster scored on ' if name else 'Scored on '}{_window_phrase(g.iloc[0])}" for name, g in groups]
        where = "; ".join(spans)[:1].upper() + "; ".join(spans)[1:] + (
            ". A holdout window is the latest stretch of the history, forecast from the data before it; it chose no "
            "model and calibrated no interval, so its figures are honest, if few."
        )
        honest = set(backtest["window"].astype(str)) == {"holdout"}
        title = "Forecast accuracy on the holdout window (it chose and calibrated nothing)" if honest else (
            "Forecast accuracy (partly on the windows that chose the model: optimistic)")
    legend = ("coverage_80, coverage_95: the share of actual arrivals inside the 80% and 95% intervals there (near 0.80 "
              "and 0.95 when the intervals are honest); msis_95: the 95% interval's width plus penalties for misses, "
              "scaled like MASE (lower is better); mase_over_snaive below 1: better than repeating last season.")
    return title, f"<p>{html.escape(where)}</p>" + _table(backtest) + f'<p class="note">{html.escape(legend)}</p>'


def _nationalities(forecasts: pd.DataFrame | None, history: pd.DataFrame | None, top: int, backtest: pd.DataFrame | None = None) -> str:
    if forecasts is None or forecasts.empty:
        return '<p class="note">No nationality forecasts were given.</p>'
    fc = forecasts[forecasts["unique_id"].astype(str).str.startswith("nationality/")]
    if fc.empty:
        return '<p class="note">The forecasts have no nationality series.</p>'
    first, last = fc["ds"].min(), fc["ds"].max()
    days = _days(fc, "nationality/")
    month = fc[fc["ds"] < first + pd.Timedelta(days=30)].groupby("unique_id")["y_hat"].sum()
    whole = fc.groupby("unique_id")["y_hat"].sum().sort_values(ascending=False)
    ids = list(whole.index[:top])
    young = set(_young_ids(fc))
    table = pd.DataFrame({"nationality": _names(ids, young)})
    if days > 30:  # a shorter forecast's first 30 days are all of it: one column, not two under different names
        table["next 30 days"] = month.reindex(ids).to_numpy(dtype=float)
    table[f"next {days} days"] = whole.reindex(ids).to_numpy(dtype=float)
    if history is not None and not history.empty:
        # the same weeks 52 weeks earlier (same weekdays, same number of days), so neither the
        # season nor the weekend pattern reads as growth
        table["same weeks a year earlier"] = _same_weeks(history, first, last, 52).reindex(ids).to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = table[f"next {days} days"] / table["same weeks a year earlier"] - 1.0
        table["change"] = [f"{c:+.0%}" if np.isfinite(c) else "" for c in change]
    note = (
        f'<p class="note">Sums of daily point forecasts from {first:%Y-%m-%d} to {last:%Y-%m-%d} (reconciled so nationalities add up to their region and '
        "the total); the fan charts show the daily 80% and 95% intervals. Full table in forecasts_nationality.parquet.</p>"
    )
    return (_table(table, "{:,.0f}") + _young_note(young & set(ids)) + note + _fan_charts(fc, history, ids[:3])
            + _interval_note(backtest, "nationality"))


def _people(v: float) -> str:
    """A count of people as a whole number."""
    return f"{int(round(float(v))):,}" if np.isfinite(v) else ""


def _range(lo: float, hi: float) -> str:
    return f"{_people(lo)}-{_people(hi)}"


#: Marks a headline range whose lower end is the forecast itself (explained by :data:`_FLOOR_NOTE`).
_FLOOR_MARK = " *"
_FLOOR_NOTE = (
    '<p class="note">* The range starts at the forecast: in the backtest windows its 80% interval was calibrated on, '
    "arrivals this many days ahead came in at or above the forecast (nearly) every time, so the interval was left no room "
    "below it. That is not a floor: those windows are few, and arrivals can come in below the forecast.</p>"
)


#: Marks a range of a sum whose lower end is above the sum of the forecasts (explained by :data:`_ABOVE_NOTE`).
_ABOVE_MARK = " †"
_ABOVE_NOTE = (
    '<p class="note">† The range lies above the sum of the forecasts: each day\'s 80% range there reaches much further above '
    "its forecast than below it (a few arrivals a day cannot fall far below the forecast; and where the backtest's arrivals "
    "came in above the forecasts, the range was stretched upward to hold them), so the days together are expected above "
    "their forecasts' sum: there the forecast is not the middle of what may come. Plan on the range.</p>"
)


def _arrivals_range(point: float, lo: float, hi: float) -> str:
    """:func:`_range`, marked when the lower end shows as the (non-zero) forecast (it would read as certain), or above the
    forecast (a sum of days whose ranges reach far above their forecasts)."""
    one_sided = _people(lo) == _people(point) and _people(point) != "0"
    above = np.isfinite(lo) and np.isfinite(point) and round(float(lo)) > round(float(point))
    return _range(lo, hi) + (_FLOOR_MARK if one_sided else _ABOVE_MARK if above else "")


def _referrals_range(rows: pd.DataFrame, corr: ErrorCorrelation | None) -> str:
    """80% range of the referrals of workload rows: one row's own, several combined before the quantiles."""
    if len(rows) == 1:
        return _range(rows["referrals_lo_80"].iloc[0], rows["referrals_hi_80"].iloc[0])
    return _range(*referral_range(rows, correlation=corr))


def _sum_range(rows: pd.DataFrame, corr: ErrorCorrelation | None) -> str:
    """80% range of the arrivals of workload rows: one row's own; several combined before the quantiles at the
    backtest's error correlation (their ends added would hold 80% only if every row missed alike), none without it."""
    point = rows["expected_arrivals"].sum()
    if len(rows) == 1:
        return _arrivals_range(point, rows["arrivals_lo_80"].iloc[0], rows["arrivals_hi_80"].iloc[0])
    if corr is None or rows.empty:
        return ""
    return _arrivals_range(point, *arrival_range(rows, corr))


def _week_days(workload: pd.DataFrame) -> int:
    """Days of the headline's second window: 7, or fewer when the forecast holds fewer (a 3-day horizon sums 3)."""
    return min(7, int((workload["ds"].max() - workload["ds"].min()).days) + 1)


def _headline_rows(workload: pd.DataFrame, ports: Sequence[str], corr: ErrorCorrelation | None) -> pd.DataFrame:
    """Tomorrow and the next 7 days (fewer when the horizon is shorter; none for one day) per port: sums of the daily
    values; ranges over several rows are :func:`~riskmodel.core.operations.arrival_range` and
    :func:`~riskmodel.core.operations.referral_range` at the error correlation ``corr``."""
    first, n = workload["ds"].min(), _week_days(workload)
    rows = []
    for port in ports:
        w = workload[workload["port"] == port] if port != "All ports" else workload
        day = w[w["ds"] == first]
        week = w[w["ds"] < first + pd.Timedelta(days=n)]
        row = {  # what the duty manager staffs by first: it is the column a phone shows beside the port
            "port": port,
            "tomorrow: officers": _people(day["officers"].sum()),
            "tomorrow: arrivals": _people(day["expected_arrivals"].sum()),
            "range (80%)": _sum_range(day, corr),
            "tomorrow: referrals": _people(day["expected_referrals"].sum()),
            "referral range": _referrals_range(day, corr),
        }
        if n > 1:  # the columns are labelled with the days they sum: a 3-day horizon is never called 7 days
            row.update({
                f"{n} days: officer shifts": _people(week["officers"].sum()),
                f"{n} days: arrivals": _people(week["expected_arrivals"].sum()),
                f"{n}-day range": _sum_range(week, corr),
                f"{n} days: referrals": _people(week["expected_referrals"].sum()),
                f"{n}-day referral range": _referrals_range(week, corr),
            })
        rows.append(row)
    return pd.DataFrame(rows)


def _first_day_words(first: pd.Timestamp, today: dt.date) -> str:
    """``Tomorrow is <date>`` when the first forecast day is the day after ``today``; else it names the date."""
    if first.date() == today + dt.timedelta(days=1):
        return f"Tomorrow is <strong>{first:%A %d %B %Y}</strong>."
    return (f'The first forecast day is <strong>{first:%A %d %B %Y}</strong> (the "tomorrow" columns below); this report was '
            f"made on {today:%Y-%m-%d}.")


def _stale_caution(first: pd.Timestamp | None, today: dt.date) -> tuple[str, str] | None:
    """A caution when the forecasts' first day has begun or passed by ``today``: its figures are not tomorrow's."""
    if first is None or pd.isna(first) or first.date() > today:
        return None
    late = (today - first.date()).days
    if late == 0:  # a run after midnight on the data to yesterday: on time, but its first day is today
        return ("The forecasts do not start tomorrow", f"their first day is today, {first:%Y-%m-%d}, the day this report was made: "
                "the \"tomorrow\" columns are today; plan tomorrow from the workload.csv row of its date.")
    return ("The forecasts do not start tomorrow", f"their first day, {first:%Y-%m-%d}, is {late} day{'s' if late > 1 else ''} "
            f"before this report was made ({today:%Y-%m-%d}): the data end the day before it, so they are {late + 1} days old. "
            "The \"tomorrow\" columns are that day; plan tomorrow from the workload.csv row of its date, and check why the "
            "data are late.")


def _headline(workload: pd.DataFrame | None, top: int = 10, shift_hours: float | None = None,
              corr: ErrorCorrelation | None = None, today: dt.date | None = None, young: Sequence[str] = (),
              ranged: bool = True) -> str:
    """The headline section's body; ``young``: the ids of series too young to forecast (``port/<name>`` marked);
    ``ranged``: the forecasts carry their 80% interval (without it the workload's arrival ends are the point forecast,
    no range: their columns are left out, and the note says what the officers cover)."""
    if workload is None or workload.empty:
        return '<p class="note">No workload table was given.</p>'
    first = workload["ds"].min()
    busiest = list(workload.groupby("port")["expected_arrivals"].sum().sort_values(ascending=False).index[:top])
    table = _headline_rows(workload, [*busiest, "All ports"], corr)
    n = _week_days(workload)
    if not ranged:  # "1,000-1,000 *" would read as a range the backtest found, where none was computed
        table = table.drop(columns=[c for c in ("range (80%)", f"{n}-day range") if c in table.columns])
    # the workload table has no `model` column: the forecasts' mark of a series too young is carried over by name
    shown_young = {f"port/{p}" for p in busiest} & set(young)
    table["port"] = [_names([f"port/{p}"], shown_young)[0] if p != "All ports" else p for p in table["port"]]
    marked = table[[c for c in ("range (80%)", f"{n}-day range") if c in table.columns]].apply(lambda c: c.str.endswith(_FLOOR_MARK)).to_numpy().any()
    return (
        f"<p>{_first_day_words(first, today or dt.date.today())} Expected travellers, referrals to a second officer "
        "and officers needed at the ten busiest ports, then all ports together; the officers first.</p>"
        + _table(table)
        + _young_note(shown_young)
        + (_FLOOR_NOTE if marked else "")
        + (_ABOVE_NOTE if table.drop(columns="port").apply(lambda c: c.astype(str).str.endswith(_ABOVE_MARK)).to_numpy().any() else "")
        + _headline_note(corr, n, shift_hours, ranged)
    )


def _headline_note(corr: ErrorCorrelation | None, n: int, shift_hours: float | None, ranged: bool) -> str:
    """What the headline's referrals, ranges and officers are; without the forecasts' range, what the officers cover."""
    # the length the workload was counted in (OperationsConfig.shift_hours), never a fixed figure
    shifts = f"{shift_hours:g}-hour shifts" if shift_hours else "shifts"
    referrals = ('<p class="note">Referrals = forecast arrivals x the share of that port\'s recent arrivals the risk model refers '
                 "(by nationality mix and season). ")
    if not ranged:
        return (referrals + "The forecasts carry no 80% range: no arrival range is shown, and the referral ranges hold the "
                "share's uncertainty and chance alone, in whole numbers. Officers cover the point forecast (no margin for more "
                f"arrivals than forecast) in {shifts} at each port's throughput (configs/operations.yaml). Every day of the "
                "horizon is in workload.csv.</p>")
    return (referrals + "Ranges are 80%: the forecast's range and the share's uncertainty together, in whole "
            "numbers, so a range of a few referrals holds more than 80% (0-1 for half a referral expected holds about 90%). "
            + _sums_note(corr, n) + " "
            f"Officers cover the upper end of the range in {shifts} at each port's throughput (configs/operations.yaml). "
            "Every day of the horizon is in workload.csv.</p>")


def _sums_note(corr: ErrorCorrelation | None, n: int) -> str:
    """What the ranges over several days or ports are, with the correlation they were simulated at."""
    what = "all-ports" if n == 1 else f"{n}-day and all-ports"
    if corr is None:
        return (f"The {what} arrival ranges are left empty: no error correlation was given, and adding the daily and ports' "
                "80% ends would hold 80% only if every day and port missed by the same amount; referral ranges over several "
                "days or ports assume they do (the widest).")
    return (f"The {what} ranges are 80% ranges of the total, simulated together at the correlations the forecaster's backtest "
            f"errors showed between two days of a port (each port its own; {corr.within(n):.2f} over all ports) and between two "
            f"ports on a day ({corr.ports:.2f}); adding the daily and ports' ends would hold 80% only at 1.")


def _headline_title(workload: pd.DataFrame | None) -> str:
    """``Tomorrow and the next 7 days, per port``, with the days the workload holds when they are fewer."""
    n = 7 if workload is None or workload.empty else _week_days(workload)
    return "Tomorrow, per port" if n == 1 else f"Tomorrow and the next {n} days, per port"


def _same_weeks(history: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, weeks: int) -> pd.Series:
    """Sums of ``y`` over the same weekdays ``weeks`` weeks earlier, by series (same season, same weekends).

    Only series whose own history starts by the first of those days and reaches the last of them
    (a horizon over 364 days ends them after the history): a sum over part of them would read as growth.
    """
    lo, hi = first - pd.Timedelta(weeks=weeks), last - pd.Timedelta(weeks=weeks)
    span = history.groupby("unique_id")["ds"].agg(["min", "max"])
    covered = history[history["unique_id"].isin(span.index[(span["min"] <= lo) & (span["max"] >= hi)])]
    return covered[(covered["ds"] >= lo) & (covered["ds"] <= hi)].groupby("unique_id")["y"].sum()


def _same_days_in(history: pd.DataFrame, forecasts: pd.DataFrame, year: int) -> pd.Series:
    """Sums of ``y`` over each forecast day's nearest same weekday inside ``year``, by series.

    Counting whole weeks back (52 a year) slides a day or two a year, so a horizon starting in late December
    reached into the next year (for 2019: the COVID collapse of early 2020). Each day is mapped on its own to
    the same date in ``year`` (28 February for 29 February) moved to the nearest day of the same weekday, or
    a week the other way where that leaves the year. A series lacking any of those days gets no sum.
    """
    ds = pd.DatetimeIndex(forecasts["ds"]).normalize()
    same = pd.to_datetime({"year": np.full(len(ds), year), "month": ds.month,
                           "day": np.where((ds.month == 2) & (ds.day == 29), 28, ds.day)})
    shift = (ds.day_of_week.to_numpy() - same.dt.day_of_week.to_numpy() + 3) % 7 - 3  # -3..3 days to the same weekday
    mapped = same + pd.to_timedelta(shift, unit="D")
    mapped = mapped.where(mapped.dt.year == year, mapped - pd.to_timedelta(np.sign(shift) * 7, unit="D"))
    wanted = pd.DataFrame({"unique_id": forecasts["unique_id"].to_numpy(), "ds": mapped.to_numpy()})
    days = history.assign(ds=pd.DatetimeIndex(history["ds"]).normalize()).groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    found = wanted.merge(days, on=["unique_id", "ds"], how="left")
    sums = found.groupby("unique_id")["y"].agg(["sum", "count", "size"])
    return sums["sum"].where(sums["count"] == sums["size"])


def _change(now: pd.Series, then: pd.Series) -> list[str]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = now.to_numpy(dtype=float) / then.to_numpy(dtype=float) - 1.0
    return [f"{c:+.0%}" if np.isfinite(c) else "" for c in ratio]


def _days(forecasts: pd.DataFrame, prefix: str) -> int:
    """Days from the first to the last forecast day of the series whose ids start with ``prefix`` (0 without any)."""
    ds = forecasts.loc[forecasts["unique_id"].astype(str).str.startswith(prefix), "ds"]
    return int((ds.max() - ds.min()).days) + 1 if len(ds) else 0


def _outlook(forecasts: pd.DataFrame, history: pd.DataFrame | None, top: int = 12, corr: ErrorCorrelation | None = None) -> str:
    fc = forecasts[forecasts["unique_id"].astype(str).str.startswith("port/")]
    if fc.empty:
        return '<p class="note">No port forecasts were given.</p>'
    first, last = fc["ds"].min(), fc["ds"].max()
    days = _days(fc, "port/")
    whole = fc.groupby("unique_id")["y_hat"].sum().sort_values(ascending=False)
    ids = list(whole.index[:top])
    young = set(_young_ids(fc))
    table = pd.DataFrame({"port": _names(ids, young), f"next {days} days": [_people(v) for v in whole[ids]]})
    ranged = {"y_lo_80", "y_hi_80"} <= set(fc.columns) and corr is not None
    if ranged:  # the horizon's days combined before the quantiles, at the backtest's correlation between days
        rows = fc.rename(columns={"unique_id": "port", "y_hat": "expected_arrivals", "y_lo_80": "arrivals_lo_80", "y_hi_80": "arrivals_hi_80"})
        table["range (80%)"] = [_arrivals_range(whole[u], *arrival_range(rows[rows["port"] == u], corr)) for u in ids]
    if history is not None and not history.empty:
        year_ago = _same_weeks(history, first, last, 52).reindex(ids)
        # the same weeks in 2019, the last year before COVID: each day's nearest same weekday inside 2019
        pre = _same_days_in(history, fc[fc["unique_id"].isin(ids)], 2019).reindex(ids)
        table["same weeks a year earlier"] = [_people(v) for v in year_ago]
        table["change on a year earlier"] = _change(whole[ids], year_ago)
        table["same weeks in 2019"] = [_people(v) for v in pre]
        table["change on 2019"] = _change(whole[ids], pre)
    ranges = (f" The range is the 80% range of the sum, simulated at the correlation between two days' errors the forecaster's "
              f"backtest showed at the port ({corr.within(days):.2f} over all ports; adding the daily ends would hold 80% only at 1)."
              if ranged else "")
    above = ranged and table["range (80%)"].str.endswith(_ABOVE_MARK).any()
    return _table(table) + (_ABOVE_NOTE if above else "") + _young_note(young & set(ids)) + (
        '<p class="note">Sums of the daily point forecasts; a year earlier over the same weekdays 52 weeks back, and 2019 over '
        "each day's nearest same weekday in 2019 (a horizon across New Year takes both ends of 2019), "
        f"so neither the season nor weekends read as growth. Empty where the history does not hold every one of those days.{ranges}</p>"
    )


_SIGNAL_WORDS = {"surge": "surge", "collapse": "collapse", "mixed": "above and below", "within": "as forecast", "unchecked": "not checked"}
#: Signals of a series whose recent months left the forecast's range (flagged in the report).
_FLAGGED = ("surge", "collapse", "mixed")


def _series_name(uid: str) -> tuple[str, str]:
    """``port/Batam`` -> ``("port", "Batam")``; ``total`` -> ``("all", "All arrivals")``."""
    if "/" in uid:
        kind, name = uid.split("/", 1)
        return kind.replace("_", " "), name
    return "all", "All arrivals"


def _trend_table(t: pd.DataFrame) -> pd.DataFrame:
    def pct(v) -> str:
        return f"{v:+.0%}" if np.isfinite(v) else ""

    kinds, names = zip(*(_series_name(str(u)) for u in t["unique_id"]), strict=True) if len(t) else ((), ())
    months = [f"{int(a)} above, {int(b)} below of {int(n)}" if n else "" for a, b, n in zip(t["n_above"], t["n_below"], t["n_checked"], strict=True)]
    return pd.DataFrame({
        "series": list(kinds), "name": list(names),
        "signal": [_SIGNAL_WORDS.get(str(v), str(v)) for v in t["signal"]],
        "months outside the 95% range": months,
        "arrivals, last 3 months": [_people(v) for v in t["recent_3m"].astype(float)],
        "on a year earlier, 3 months": [pct(v) for v in t["growth_3m"].astype(float)],
        "on a year earlier, 12 months": [pct(v) for v in t["growth_12m"].astype(float)],
        "12 months on before COVID": [pct(v) for v in t["vs_pre_break_12m"].astype(float)],
    })


def _trends(trends: pd.DataFrame | None, top: int = 12) -> str:
    if trends is None or trends.empty:
        return '<p>Surges and collapses: <strong>none flagged</strong> (no trend signals were given).</p>'
    t = trends[list(TREND_COLUMNS)].sort_values(["recent_3m", "unique_id"], ascending=[False, True])
    flagged = t[t["signal"].isin(_FLAGGED)]
    ports = t[t["unique_id"].astype(str).str.startswith("port/")].head(top)
    last = pd.Timestamp(trends["last_month"].max()) if "last_month" in trends else None
    months = f" ({(last - pd.DateOffset(months=2)):%B} to {last:%B %Y})" if last is not None and pd.notna(last) else ""
    head = (f"<p><strong>{len(flagged)}</strong> of {len(t)} ports and markets flagged: their arrivals in the last 3 "
            f"complete months{months} left the 95% range of the forecast made before them.</p>")
    if flagged.empty:
        head = f"<p>Surges and collapses: <strong>none flagged</strong> among {len(t)} ports and markets{months}.</p>"
    chance = flags_by_chance(t)
    if chance > 0:  # one month of 3 outside a 95% range flags 14% of series that did not change at all
        head += (f"<p>Chance alone would flag about <strong>{chance:.{0 if chance >= 1 else 1}f}</strong> of {len(t)} had none of them changed "
                 "(a month outside its 95% range happens to 5% of months), so a flag is a lead to check, not proof of a change; "
                 "the more months above (below) the range, and the larger the change on a year earlier, the firmer the lead.</p>")
    body = head + (("<h3>Flagged</h3>" + _table(_trend_table(flagged))) if len(flagged) else "")
    if len(ports):
        body += "<h3>Ports, busiest first</h3>" + _table(_trend_table(ports))
    return body + (
        '<p class="note">A surge or collapse: more of the last 3 months above (below) the 95% range of a monthly '
        "forecast fitted on the months before them than below (above); above and below: as many months above the range "
        "as below it (a swing, neither). Changes compare the same calendar months a year "
        "earlier and in the last year before COVID. Every series is in trends.csv.</p>"
    )


def _in_country(scored: pd.DataFrame, top: int = 10) -> str:
    bands = scored["risk_band"].astype(object)
    parts = [f'<p><strong>{_people((bands == "high").sum())}</strong> people in the country are at high risk and '
             f'<strong>{_people((bands == "elevated").sum())}</strong> at elevated risk, of {_people(len(scored))}.</p>']
    for col, label in (("entry_port", "port of entry"), ("nationality", "nationality")):
        if col not in scored.columns:
            continue
        counts = pd.crosstab(scored[col].astype(object), bands).reindex(columns=["high", "elevated"], fill_value=0)
        counts = counts.sort_values(["high", "elevated"], ascending=False).head(top)
        parts.append(f"<h3>By {label}</h3>" + _table(pd.DataFrame({
            label: counts.index.astype(str), "high risk": counts["high"].to_numpy(), "elevated risk": counts["elevated"].to_numpy(),
        })))
    return "".join(parts)


def _data_checks(drift: pd.DataFrame | None) -> str:
    if drift is None or drift.empty:
        return '<p class="note">No data checks were given.</p>'
    verdict = "red" if (drift["verdict"] == "red").any() else "amber" if (drift["verdict"] == "amber").any() else "green"
    words = {"green": "tonight's feed looks like the nights before", "amber": "a shift worth a look",
             "red": "the feed looks broken: check it before acting on tonight's numbers"}
    shown = drift[drift["verdict"] != "green"]
    # drift.csv of a run before `appeared` was checked has no such column
    # ... nor, before the feed checks, `count`, `usual` and `detail` (how many rows came, usually come, what to check)
    columns = [c for c in ("comparison", "column", "psi", "red_at", "vanished", "appeared", "count", "usual", "verdict", "detail")
               if c in shown.columns]
    if "count" in shown.columns:  # rows are whole numbers, not a PSI's three decimals
        shown = shown.assign(count=[("" if pd.isna(v) else f"{int(v):,}") for v in shown["count"]])
    table = _table(shown[columns]) if len(shown) else ""
    return (f'<p>Verdict: <span class="{verdict}">{verdict}</span>: {words[verdict]}.</p>' + table
            + '<p class="note">The feed: tonight\'s rows (overall and per port) against what the same weekday brought in '
            "the weeks before, allowing for how far earlier nights strayed; the hour its rows stop or start; rows given twice "
            "or of another day. Tonight's in-country population against last night's and the same weekday a year earlier; "
            "tonight's arrivals against the last 28 days. Red: PSI beyond what a night moves and beyond sampling noise, "
            "or a port or category that should be there is absent. Amber: a shift worth a look, or a category never seen in "
            "the comparison (a nationality) 10 times or more tonight. Not judged: the comparison had no reference rows "
            "(a log under a year old has no night a year earlier). Every column is in drift.csv.</p>")


@dataclass(frozen=True)
class ReportInputs:
    """The tables the report is drawn from (only ``scored`` and ``forecasts`` are required).

    Attributes
    ----------
    scored : DataFrame
        ``score()`` output for the current population (with reasons where referred).
    forecasts : DataFrame
        ``forecast()`` output. Port forecasts without ``y_lo_80``/``y_hi_80`` show no arrival range, and
        the cautions say that the workload's officers cover the point forecast only.
    history : DataFrame, optional
        The series the forecaster was trained on, for the fan charts.
    nationality_forecasts : DataFrame, optional
        ``forecast()`` output of the nationality hierarchy (``nationality/<code>`` series).
    nationality_history : DataFrame, optional
        Its training series, for the fan charts and the year-ago comparison.
    reliability : DataFrame, optional
        Holdout reliability table (``mean_predicted, observed_rate``).
    fairness : DataFrame, optional
        Fairness audit table (``attribute, group, support, referral_rate, fpr, ...``).
    fairness_bounds : dict, optional
        The gate's bounds, drawn on the bars.
    fairness_confidence : float, optional
        The audit policy's ``confidence`` (``fairness.confidence``), the level of every interval of the fairness
        table, named in its column headers ("referral_rate 90% interval"); without it they say "interval" alone.
    backtest : DataFrame, optional
        Forecast metrics per model on the forecaster's holdout window (the served forecast and
        the simple peers, seasonal naive among them; ``window`` says when they come from the
        selection windows instead, ``window_from``/``window_to`` the dates scored, ``hierarchy``
        which forecaster). The report states that window, and the fan charts how often the
        served forecast's intervals held there; a table without ``window`` is called optimistic.
    workload : DataFrame, optional
        :func:`riskmodel.core.operations.expected_workload` output (``workload.csv``).
    trends : DataFrame, optional
        Trend signals per series (:func:`riskmodel.core.forecasting.trends.monthly_trends`, the
        main job's ``trends.csv``), at least :data:`TREND_COLUMNS`: the surges and collapses are
        listed, then every port busiest first. Empty or absent: "none flagged".
    drift : DataFrame, optional
        :func:`riskmodel.core.monitoring.drift.nightly_checks` output (``drift.csv``).
    arrival_correlation : ErrorCorrelation, optional
        How the port forecasts' errors move together between days and ports
        (:func:`riskmodel.core.operations.error_correlation` of the forecaster's backtest): ranges over
        several days or ports are simulated at it. Without it those arrival ranges are left empty.
    shift_hours : float, optional
        The shift length ``workload``'s officers were counted in (:class:`~riskmodel.core.operations.OperationsConfig`);
        the headline names it, and names no length without it.
    facts : dict, optional
        Key facts for the summary (models, versions, data span, ...).
    cautions : dict, optional
        Title -> text of what a reader must know before acting on the numbers (e.g. a forecast
        that continues a break's level), shown first, above the headline.
    """

    scored: pd.DataFrame
    forecasts: pd.DataFrame
    history: pd.DataFrame | None = None
    nationality_forecasts: pd.DataFrame | None = None
    nationality_history: pd.DataFrame | None = None
    reliability: pd.DataFrame | None = None
    fairness: pd.DataFrame | None = None
    fairness_bounds: dict | None = None
    fairness_confidence: float | None = None
    backtest: pd.DataFrame | None = None
    workload: pd.DataFrame | None = None
    trends: pd.DataFrame | None = None
    drift: pd.DataFrame | None = None
    arrival_correlation: ErrorCorrelation | None = None
    shift_hours: float | None = None
    facts: dict | None = None
    cautions: dict | None = None


def _names(ids: Sequence[str], young: set[str]) -> list[str]:
    """Series names for a table, a series too young to forecast marked where its number is given."""
    return [u.split("/", 1)[1] + (YOUNG_LABEL if u in young else "") for u in ids]


def _young_note(shown: set[str]) -> str:
    """What the mark of a series too young to forecast means, under a table that shows one."""
    if not shown:
        return ""
    return ('<p class="note">(too young): the series started too recently to forecast; its figure comes from the zeros '
            "before its first count and says little. Plan it from its recent counts (see the cautions above).</p>")


def _has_range(forecasts: pd.DataFrame | None) -> bool:
    """Whether the port forecasts carry their 80% interval (the workload plans on the point forecast without it)."""
    ports = forecasts is not None and forecasts["unique_id"].astype(str).str.startswith("port/").any()
    return not ports or {"y_lo_80", "y_hi_80"} <= set(forecasts.columns)


def _young_ids(forecasts: pd.DataFrame | None) -> list[str]:
    """Series whose forecast rows are marked too young (``model`` ends in :data:`YOUNG_LABEL`)."""
    if forecasts is None or forecasts.empty or "model" not in forecasts.columns:
        return []
    marked = forecasts["model"].astype(str).str.endswith(YOUNG_LABEL)
    return sorted(set(forecasts.loc[marked, "unique_id"].astype(str)))


def _cautions(i: ReportInputs, today: dt.date) -> str:
    """The ``cautions`` section, or "" when there is nothing to say before the numbers."""
    items = [(str(k), str(v)) for k, v in (i.cautions or {}).items()]
    table = i.workload if i.workload is not None and not i.workload.empty else i.forecasts
    first = pd.Timestamp(table["ds"].min()) if table is not None and len(table) else None
    stale = _stale_caution(first, today)
    if stale:
        items.insert(0, stale)
    other = _other_days(i.nationality_forecasts, first)
    if other:
        items.insert(1 if stale else 0, other)
    if not _has_range(i.forecasts):
        items.append(("The forecasts carry no range", "the port forecasts have no 80% interval (columns y_lo_80, y_hi_80): "
                      "no arrival range is shown, and the officers were counted on the point forecast, with no margin for "
                      "more arrivals than forecast. Staff from forecast() output with its intervals."))
    young = _young_ids(i.forecasts) + _young_ids(i.nationality_forecasts)
    if young:
        items.append(("Series too young to forecast", f"{len(young)} series started too recently for their forecasts to mean "
                      f"much (fitted on the zeros before their first count): {', '.join(young[:10])}"
                      + (f" and {len(young) - 10} more" if len(young) > 10 else "") + ". Plan them from their recent counts."))
    silent = _silent_series(i.forecasts, i.history) + _silent_series(i.nationality_forecasts, i.nationality_history)
    if silent:
        items.append(("No arrival on record", f"{len(silent)} forecast series never had an arrival in their history: "
                      + "; ".join(silent[:10]) + (f"; and {len(silent) - 10} more" if len(silent) > 10 else "")
                      + ". Their forecast of 0 (and a range of 0-0) says only that none were counted, not that none will "
                      "come: check that the feed sends them (a port closed, or never delivered), and plan them from "
                      "what the port expects."))
    if i.drift is not None and not i.drift.empty and (i.drift["verdict"] == "red").any():
        items.append(("Tonight's data checks are red", "the feed looks broken: check it before acting on tonight's numbers "
                      "(appendix: tonight's data checks)."))
    if not items:
        return ""
    body = "".join(f'<li><span class="warn">{html.escape(k, quote=False)}</span>: {html.escape(v, quote=False)}</li>' for k, v in items)
    return _section("cautions", "Read first", f"<ul>{body}</ul>")


def _other_days(nationality: pd.DataFrame | None, first: pd.Timestamp | None) -> tuple[str, str] | None:
    """A caution when the nationality forecasts start on another day than the ports' (``first``): their outlook would
    read as the same coming days (the check that the forecasts start tomorrow sees the ports' only)."""
    if nationality is None or nationality.empty or first is None or pd.isna(first):
        return None
    start = pd.Timestamp(nationality["ds"].min())
    if start == first:
        return None
    return ("The nationality forecasts are of other days", f"they start {start:%Y-%m-%d}, the port forecasts {first:%Y-%m-%d}: "
            "the nationality outlook (appendix) is not of the days the headline and the port outlook cover. Forecast both "
            "from data that end on the same day.")


def _silent_series(forecasts: pd.DataFrame | None, history: pd.DataFrame | None) -> list[str]:
    """``"<id> (<first> to <last>)"`` of the forecast series whose history holds no arrival at all."""
    if forecasts is None or history is None or history.empty or forecasts.empty:
        return []
    h = history[history["unique_id"].isin(set(forecasts["unique_id"]))]
    span = h.groupby("unique_id")["ds"].agg(["min", "max"]).assign(total=h.groupby("unique_id")["y"].sum())
    silent = span[span["total"] == 0]
    return [f"{u} ({r['min']:%Y-%m-%d} to {r['max']:%Y-%m-%d})" for u, r in silent.iterrows()]


def _check_inputs(i: ReportInputs) -> None:
    """SchemaError naming the columns the report draws from that a table lacks (rather than a KeyError halfway)."""
    needs = {"scored": (i.scored, ("probability", "risk_band")), "forecasts": (i.forecasts, ("unique_id", "ds", "y_hat")),
             "nationality_forecasts": (i.nationality_forecasts, ("unique_id", "ds", "y_hat"))}
    for name, (table, columns) in needs.items():
        if table is None:
            continue
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise SchemaError(name, [SchemaProblem(c, "column is missing", f"pass the output of the step that makes `{name}`") for c in missing])
    for name, table in (("forecasts", i.forecasts), ("nationality_forecasts", i.nationality_forecasts)):
        if table is not None:  # a sum over no point forecast would read as 0 arrivals (the workload step refuses them too)
            y = pd.to_numeric(table["y_hat"], errors="coerce").to_numpy(dtype=float)
            bad = table[~np.isfinite(y)]
            if len(bad):
                rows = [f"{u} {pd.Timestamp(d):%Y-%m-%d}" for u, d in zip(bad["unique_id"].astype(str)[:5], bad["ds"][:5], strict=True)]
                raise SchemaError(name, [SchemaProblem(
                    "y_hat", "missing or not a number: these series have no forecast there, and their sums would read as 0 arrivals",
                    "pass forecast() output with a point forecast on every row, or leave out the series it could not forecast "
                    "(and say so to the duty managers)", tuple(rows), len(bad))])
    for name, table in (("forecasts", i.forecasts), ("nationality_forecasts", i.nationality_forecasts),
                        ("history", i.history), ("nationality_history", i.nationality_history)):
        if table is not None and {"unique_id", "ds"} <= set(table.columns):
            _check_daily(name, table)
    for name, table in (("forecasts", i.forecasts), ("nationality_forecasts", i.nationality_forecasts)):
        if table is not None and len(table):  # daily (checked above), so the same first and last day is the same days
            _check_same_days(name, table)
    _check_workload_matches(i)


def _check_workload_matches(i: ReportInputs) -> None:
    """Refuse a workload not built from the port forecasts given beside it: the headline's officers and arrivals would
    staff from other numbers than the outlook and fan charts below them show."""
    w, f = i.workload, i.forecasts
    if w is None or w.empty or f is None or not {"port", "ds", "expected_arrivals"} <= set(w.columns):
        return
    ports = f[f["unique_id"].astype(str).str.startswith("port/")]
    want = pd.Series(pd.to_numeric(ports["y_hat"], errors="coerce").to_numpy(dtype=float).clip(0),
                     index=pd.MultiIndex.from_arrays([ports["unique_id"].astype(str).str[len("port/"):].to_numpy(),
                                                      pd.to_datetime(ports["ds"]).to_numpy()]))
    got = pd.Series(pd.to_numeric(w["expected_arrivals"], errors="coerce").to_numpy(dtype=float),
                    index=pd.MultiIndex.from_arrays([w["port"].astype(str).to_numpy(), pd.to_datetime(w["ds"]).to_numpy()]))
    missing = got.index.difference(want.index)
    both = got.index.intersection(want.index)
    # workload.csv holds its numbers to 2 decimals (the main job writes it so and draws the report from it)
    differ = both[np.abs(got.loc[both].to_numpy() - want.loc[both].to_numpy()) > 0.005 + 1e-9] if len(both) else both
    unplanned = want.index.difference(got.index)
    bad = [*missing, *differ, *unplanned]
    if bad:
        rows = tuple(f"{p} {pd.Timestamp(d):%Y-%m-%d}" for p, d in bad[:5])
        raise SchemaError("workload", [SchemaProblem(
            "expected_arrivals", f"is not the port forecasts' y_hat ({len(missing)} workload rows with no port forecast, "
            f"{len(differ)} with another number, {len(unplanned)} port forecasts with no workload row)",
            "build the workload from the forecasts passed beside it (riskmodel.core.operations.expected_workload), "
            "from the same run", rows, len(bad))])


def _check_same_days(name: str, table: pd.DataFrame) -> None:
    """SchemaError when a forecast series starts after or ends before the others: its "tomorrow" would read 0
    arrivals and 0 officers, and its "next N days" a sum of fewer days under the same label."""
    ds = pd.to_datetime(table["ds"])
    lo, hi = ds.min(), ds.max()
    span = ds.groupby(table["unique_id"].astype(str).to_numpy()).agg(["min", "max"])
    short = span[(span["min"] != lo) | (span["max"] != hi)]
    if short.empty:
        return
    shown = [f"{u}: {r['min']:%Y-%m-%d} to {r['max']:%Y-%m-%d} ({(r['max'] - r['min']).days + 1} days)" for u, r in short.head(5).iterrows()]
    raise SchemaError(name, [SchemaProblem(
        "ds", f"{len(short)} series are forecast on days not the days of the others, {lo:%Y-%m-%d} to {hi:%Y-%m-%d} "
              f"({'; '.join(shown)}{'; ...' if len(short) > 5 else ''}): a day without its row would read as 0 arrivals and 0 "
              "officers, and its sums cover fewer days under the same label",
        "forecast every series over the same days (one forecast() call, or forecasters whose data end on the same day, at "
        "the same horizon), or leave those series out (and say so to the duty managers)",
        tuple(short.index[:5]), len(short))])


def _check_daily(name: str, table: pd.DataFrame) -> None:
    """SchemaError when a series' rows do not step one day at a time: the report counts each row as a day (sums over
    "the next N days", the same weeks a year earlier, officers per day), so monthly rows would be read as days."""
    t = table[["unique_id", "ds"]].assign(ds=pd.to_datetime(table["ds"])).sort_values(["unique_id", "ds"], kind="stable")
    t = t.assign(before=t.groupby("unique_id", sort=False)["ds"].shift(1))
    t = t.assign(step=t["ds"] - t["before"])
    first = t[t["step"].notna() & (t["step"] != pd.Timedelta(days=1))].drop_duplicates("unique_id")
    if first.empty:
        return

    def length(s: pd.Timedelta) -> str:  # whole days as "31 days" (0: a day given twice), else as it is ("0 days 12:00:00")
        return f"{s.days} day{'' if s.days == 1 else 's'}" if s == pd.Timedelta(days=s.days) else str(s)

    shown = [f"{u}: {length(s)} after {b:%Y-%m-%d %H:%M}".removesuffix(" 00:00")
             for u, s, b in zip(first["unique_id"].astype(str), first["step"], first["before"], strict=True)]
    raise SchemaError(name, [SchemaProblem(
        "ds", f"is not daily: the report counts each row as one day, but {len(first)} series step by other than one day "
        f"({'; '.join(shown[:5])}{'; ...' if len(shown) > 5 else ''})",
        "give daily forecasts and history (a forecaster with `series.freq: D`, as the main job's), one row per series and day "
        "with no day missing or given twice; a weekly or monthly outlook is forecast()'s own output, not this report's",
        tuple(first["unique_id"].astype(str)[:5]), len(first))])


def write_report(
    path: str | Path,
    inputs: ReportInputs,
    *,
    main_ports: Sequence[str] = ("port/Ngurah Rai", "port/Soekarno-Hatta", "port/Batam"),
    top_nationalities: int = 12,
    today: dt.date | None = None,
) -> Path:
    """Write the HTML report and return its path.

    Parameters
    ----------
    path : str or Path
        The ``.html`` file to write (atomically).
    inputs : ReportInputs
        The tables to draw: scores, forecasts and the optional ones.
    main_ports : sequence of str
        Series drawn as fan charts.
    top_nationalities : int, default=12
        Nationalities listed (largest expected arrivals first); the top three get fan charts.
    today : date, optional
        The day the report is made (default: this machine's local date). The headline calls the first
        forecast day "tomorrow" only when it is the day after; one already begun or past is a caution.

    Returns
    -------
    Path

    Raises
    ------
    SchemaError
        If the scores or forecasts lack a column the report draws from, a forecast row has no point forecast
        (``y_hat`` missing), a forecast or history series does not
        step one day at a time (the report counts each row as a day: monthly forecasts would read as days), or a
        forecast series starts after or ends before the others of its table (its missing days would read as 0 arrivals),
        or the workload's ports, days and ``expected_arrivals`` are not the port forecasts' (to the 2 decimals of
        ``workload.csv``): the headline would staff from numbers the outlook below it does not show.
    """
    i = inputs
    _check_inputs(i)
    path = Path(path)
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    today = today or dt.date.today()
    facts_rows = pd.DataFrame({"item": list((i.facts or {}).keys()), "value": [str(v) for v in (i.facts or {}).values()]})
    accuracy_title, accuracy = _accuracy(i.backtest)
    days = _days(i.forecasts, "port/")
    decisions = [
        _section("headline", _headline_title(i.workload), _headline(i.workload, shift_hours=i.shift_hours, corr=i.arrival_correlation,
                                                                    today=today, young=_young_ids(i.forecasts),
                                                                    ranged=_has_range(i.forecasts))),
        _section("outlook", f"The next {days} days per port against earlier years" if days else "The outlook per port against earlier years",
                 _outlook(i.forecasts, i.history, corr=i.arrival_correlation)),
        _section("trends", "Surges and collapses", _trends(i.trends)),
        _section("in-country", "Who is in the country at high risk", _in_country(i.scored)),
    ]
    appendix = [
        _section("nationalities", "Arrival outlook per nationality",
                 _nationalities(i.nationality_forecasts, i.nationality_history, top_nationalities, i.backtest)),
        _section("forecasts", "Arrival forecasts for the main ports", _port_charts(i.forecasts, i.history, main_ports, i.backtest)),
        _section("data-checks", "Tonight's data checks", _data_checks(i.drift)),
        _section("risk-distribution", "Risk scores of everyone in the country", _risk_distribution(i.scored)),
        _section("reasons", "Most frequent reasons among referred travellers", _reasons(i.scored)),
        _section("reliability", "Reliability of the probabilities", _reliability(i.reliability)),
        _section("fairness", "Fairness audit per group", _fairness(i.fairness, i.fairness_bounds, i.fairness_confidence)),
        _section("backtest", accuracy_title, accuracy),
        _section("summary", "What was run", f'<p class="note">Generated {now}.</p>' + _table(facts_rows)),
    ]
    doc = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>riskmodel duty report</title>"
        f"<style>{_CSS}</style></head><body><h1>Arrivals, referrals and staffing: duty report</h1>"
        + _cautions(i, today)
        + "".join(decisions)
        + '<div id="appendix"><h1>Appendix: the models behind the numbers</h1>'
        + "".join(appendix)
        + "</div></body></html>"
    )
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path
