"""The duty manager's report: one self-contained HTML file with every image embedded.

Sections (each an ``<section id=...>`` so tests and readers can find them):

- ``summary``: what was run, on which data and models;
- ``risk-distribution``: the score histogram and band counts of everyone in the country;
- ``reliability``: predicted against observed overstay rate on the holdout;
- ``fairness``: referral rate and false-positive rate per audit group, with the gate's bounds;
- ``reasons``: the most frequent reasons among referred travellers;
- ``forecasts``: fan charts (80/95% intervals) for the main ports;
- ``backtest``: forecast accuracy against seasonal naive;
- ``workload``: per port and day, expected arrivals and expected referrals
  (forecast x the referral rate of that port's scored population): what a duty
  manager staffs by.

Images are PNGs drawn with matplotlib (Agg backend) and embedded as base64, so
the file can be mailed or archived as is.
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

__all__ = ["expected_workload", "write_report", "ReportInputs", "SECTIONS"]

SECTIONS = ("summary", "risk-distribution", "reliability", "fairness", "reasons", "forecasts", "nationalities", "backtest", "workload")
REFER_BANDS = ("elevated", "high")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2933;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;border-bottom:1px solid #d9e2ec;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0} th,td{padding:.25rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right}
th{background:#f0f4f8} td:first-child,th:first-child{text-align:left} .note{color:#52606d;font-size:.85rem}
img{max-width:100%;height:auto} .warn{color:#b44d12;font-weight:600}
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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{body}</section>'


def expected_workload(
    forecasts: pd.DataFrame,
    scored: pd.DataFrame,
    *,
    port_column: str = "entry_port",
    days: int = 14,
    refer_bands: Sequence[str] = REFER_BANDS,
    id_prefix: str = "port/",
) -> pd.DataFrame:
    """Expected arrivals and referrals per port and day for the next ``days`` days.

    Parameters
    ----------
    forecasts : DataFrame
        Daily forecasts (``unique_id, ds, y_hat`` and optionally ``y_hi_80``) with port
        series named ``port/<port>``.
    scored : DataFrame
        Scores of the current population with the port column (``score(...,
        passthrough=[port_column])``): the referral rate of a port is the share of
        its scored stays in ``refer_bands``.
    port_column : str, default="entry_port"
    days : int, default=14
    refer_bands : sequence of str, default=("elevated", "high")
    id_prefix : str, default="port/"

    Returns
    -------
    DataFrame
        ``port, ds, expected_arrivals, arrivals_hi_80, referral_rate, expected_referrals``,
        sorted by port and day. Ports with no scored stays use the overall referral rate.
    """
    fc = forecasts[forecasts["unique_id"].astype(str).str.startswith(id_prefix)].copy()
    if fc.empty:
        return pd.DataFrame(columns=["port", "ds", "expected_arrivals", "arrivals_hi_80", "referral_rate", "expected_referrals"])
    fc["port"] = fc["unique_id"].astype(str).str[len(id_prefix):]
    first = fc["ds"].min()
    fc = fc[fc["ds"] < first + pd.Timedelta(days=days)]
    referred = scored["risk_band"].astype(object).isin(list(refer_bands))
    overall = float(referred.mean()) if len(scored) else 0.0
    rate = referred.groupby(scored[port_column].astype(object)).mean()
    out = pd.DataFrame(
        {
            "port": fc["port"].to_numpy(),
            "ds": fc["ds"].to_numpy(),
            "expected_arrivals": fc["y_hat"].to_numpy(dtype=float),
            "arrivals_hi_80": fc["y_hi_80"].to_numpy(dtype=float) if "y_hi_80" in fc.columns else np.nan,
        }
    )
    out["referral_rate"] = out["port"].map(rate).fillna(overall).astype(float)
    out["expected_referrals"] = out["expected_arrivals"] * out["referral_rate"]
    return out.sort_values(["port", "ds"]).reset_index(drop=True)


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


def _fairness(table: pd.DataFrame | None, bounds: dict | None) -> str:
    if table is None or table.empty:
        return '<p class="note">No fairness audit was given.</p>'
    import matplotlib.pyplot as plt

    attrs = list(dict.fromkeys(table["attribute"]))
    fig, axes = plt.subplots(len(attrs), 2, figsize=(9, 2.2 * len(attrs)), squeeze=False)
    for i, attr in enumerate(attrs):
        t = table[(table["attribute"] == attr) & table["enough_support"].astype(bool)]
        for j, (col, label) in enumerate((("referral_rate", "referral rate"), ("fpr", "false-positive rate"))):
            ax = axes[i][j]
            ax.barh(t["group"].astype(str), t[col], color="#486581")
            ax.set_title(f"{attr}: {label}", fontsize=9)
            if len(t):
                lowest = float(t[col][t[col] > 0].min()) if (t[col] > 0).any() else 0.0
                key = "max_referral_ratio" if col == "referral_rate" else "max_fpr_ratio"
                if bounds and key in bounds and lowest > 0:
                    ax.axvline(lowest * bounds[key], color="#c53030", ls="--", lw=1)
    fig.tight_layout()
    note = ""
    if bounds:
        note = '<p class="note">Dashed red line: the gate\'s bound (lowest group rate x the allowed ratio). Bounds: ' + html.escape(
            ", ".join(f"{k} = {v}" for k, v in bounds.items())
        ) + ".</p>"
    cols = [c for c in ("attribute", "group", "support", "referral_rate", "fpr", "fnr", "precision", "mean_predicted", "observed_rate") if c in table.columns]
    return _png(fig) + note + _table(table[cols])


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
        ax.set_title(uid, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def _nationalities(forecasts: pd.DataFrame | None, history: pd.DataFrame | None, top: int) -> str:
    if forecasts is None or forecasts.empty:
        return '<p class="note">No nationality forecasts were given.</p>'
    fc = forecasts[forecasts["unique_id"].astype(str).str.startswith("nationality/")]
    if fc.empty:
        return '<p class="note">The forecasts have no nationality series.</p>'
    first, last = fc["ds"].min(), fc["ds"].max()
    days = (last - first).days + 1
    month = fc[fc["ds"] < first + pd.Timedelta(days=30)].groupby("unique_id")["y_hat"].sum()
    whole = fc.groupby("unique_id")["y_hat"].sum().sort_values(ascending=False)
    ids = list(whole.index[:top])
    table = pd.DataFrame({"nationality": [u.split("/", 1)[1] for u in ids], "next 30 days": month.reindex(ids).to_numpy(dtype=float)})
    table[f"next {days} days"] = whole.reindex(ids).to_numpy(dtype=float)
    if history is not None and not history.empty:
        # the same weeks 52 weeks earlier (same weekdays, same number of days), so neither the
        # season nor the weekend pattern reads as growth
        lo, hi = first - pd.Timedelta(weeks=52), last - pd.Timedelta(weeks=52)
        ago = history[(history["ds"] >= lo) & (history["ds"] <= hi)].groupby("unique_id")["y"].sum()
        table["same weeks a year earlier"] = ago.reindex(ids).to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = table[f"next {days} days"] / table["same weeks a year earlier"] - 1.0
        table["change"] = [f"{c:+.0%}" if np.isfinite(c) else "" for c in change]
    note = (
        '<p class="note">Sums of daily point forecasts (reconciled so nationalities add up to their region and '
        "the total); the fan charts show the daily 80% and 95% intervals. Full table in forecasts_nationality.parquet.</p>"
    )
    return _table(table, "{:,.1f}") + note + _fan_charts(fc, history, ids[:3])


@dataclass(frozen=True)
class ReportInputs:
    """The tables the report is drawn from (only ``scored`` and ``forecasts`` are required).

    Attributes
    ----------
    scored : DataFrame
        ``score()`` output for the current population (with reasons where referred).
    forecasts : DataFrame
        ``forecast()`` output.
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
    backtest : DataFrame, optional
        Backtest metrics per model (including seasonal naive).
    workload : DataFrame, optional
        :func:`expected_workload` output.
    facts : dict, optional
        Key facts for the summary (models, versions, data span, ...).
    """

    scored: pd.DataFrame
    forecasts: pd.DataFrame
    history: pd.DataFrame | None = None
    nationality_forecasts: pd.DataFrame | None = None
    nationality_history: pd.DataFrame | None = None
    reliability: pd.DataFrame | None = None
    fairness: pd.DataFrame | None = None
    fairness_bounds: dict | None = None
    backtest: pd.DataFrame | None = None
    workload: pd.DataFrame | None = None
    facts: dict | None = None


def _workload_section(workload: pd.DataFrame | None) -> str:
    if workload is None or workload.empty:
        return '<p class="note">No workload table was given.</p>'
    pivot = workload.pivot_table(index="ds", columns="port", values="expected_referrals", aggfunc="sum")
    busiest = workload.groupby("port")["expected_arrivals"].sum().sort_values(ascending=False).index[:6]
    arrivals = workload.pivot_table(index="ds", columns="port", values="expected_arrivals", aggfunc="sum")[list(busiest)]
    table = pd.concat({"arrivals": arrivals.round(0), "referrals": pivot[list(busiest)].round(1)}, axis=1)
    table = table[[(kind, port) for port in busiest for kind in ("arrivals", "referrals")]]
    table.columns = [f"{port}: {kind}" for kind, port in table.columns]
    table = table.reset_index()
    table["ds"] = table["ds"].dt.strftime("%a %d %b")
    return _table(table, "{:,.1f}") + '<p class="note">Expected referrals = forecast arrivals x the share of that port\'s scored stays in bands elevated or high. Full table in workload.csv.</p>'


def write_report(
    path: str | Path,
    inputs: ReportInputs,
    *,
    main_ports: Sequence[str] = ("port/Ngurah Rai", "port/Soekarno-Hatta", "port/Batam"),
    top_nationalities: int = 12,
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

    Returns
    -------
    Path
    """
    i = inputs
    path = Path(path)
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    facts_rows = pd.DataFrame({"item": list((i.facts or {}).keys()), "value": [str(v) for v in (i.facts or {}).values()]})
    backtest = _table(i.backtest) if i.backtest is not None and not i.backtest.empty else '<p class="note">No backtest table was given.</p>'
    parts = [
        _section("summary", "Summary", f'<p class="note">Generated {now}.</p>' + _table(facts_rows)),
        _section("risk-distribution", "Risk scores of everyone in the country", _risk_distribution(i.scored)),
        _section("reliability", "Reliability of the probabilities", _reliability(i.reliability)),
        _section("fairness", "Fairness audit per group", _fairness(i.fairness, i.fairness_bounds)),
        _section("reasons", "Most frequent reasons among referred travellers", _reasons(i.scored)),
        _section("forecasts", "Arrival forecasts for the main ports", _fan_charts(i.forecasts, i.history, main_ports)),
        _section("nationalities", "Arrival outlook per nationality", _nationalities(i.nationality_forecasts, i.nationality_history, top_nationalities)),
        _section("backtest", "Forecast accuracy in backtests", backtest),
        _section("workload", "Expected workload per port and day", _workload_section(i.workload)),
    ]
    doc = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>riskmodel report</title>"
        f"<style>{_CSS}</style></head><body><h1>Overstay risk and arrivals: duty report</h1>"
        + "".join(parts)
        + "</body></html>"
    )
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path
