"""Arrival forecasting: accuracy on real BPS series and synthetic daily series, against peers.

Run with ``python -m benchmarks forecast`` in an environment with the ``bench`` extra
(statsforecast, which needs pandas < 3: this is also where the library runs on
pandas 2.x).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import FallbackWarning
from riskmodel.core.forecasting import Forecaster, fill_gaps, make_series
from riskmodel.core.forecasting.backtest import mase_scale

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

ABOUT = """\
Monthly BPS series (`../shared/data`): 29 ports + 118 nationalities trained through 2018-12 and
scored on 2019 (h=12); 4 selected series (Ngurah Rai, Soekarno-Hatta, Batam, Total) trained
2008-2022 with COVID (2020-04..2022-03) declared as a break and scored on 2023. MASE is the mean
over series of MAE / in-sample mean absolute 12-month difference; ratios divide riskmodel's
mean MASE by the peer's on the same series. Peers: seasonal naive and statsforecast AutoETS
(season 12). `fc_bps2019_cov95` is the share of 2019 actuals inside riskmodel's 95% intervals,
`fc_bps2019_width95` the median width of those intervals over the forecast (sharpness: lower is
better at the same coverage); `fc_synth_daily_cov95` and `_width95` the same on the daily series.
Synthetic daily: `make_crossings(300_000, 2017-01-01..2019-05-31, covid=False)`, port series with
>= 1 arrival a day, trained through 2019-02-28 and scored on March-April 2019 (h=61) against
weekly seasonal naive; `fc_synth_nyepi_ratio` is the forecast at Ngurah Rai on Nyepi
(2019-03-07) over its mean forecast on the other days. Timing: fit + 3-window backtest +
forecast of the 118 nationality series, riskmodel's Forecaster (default models, n_jobs=1)
against AutoETS fitted at the same 3 cutoffs and at the end (n_jobs=1), same machine, each
tool's fastest of two alternating runs. The 95% coverage bar (0.88..0.99) is checked as two
rows, `fc_bps2019_cov95` (lower) and `fc_bps2019_cov95_upper` (the same figure, upper).
"""

BARS = {
    "fc_bps2019_mase_over_snaive": ("<", 1.0),
    "fc_bps2019_mase_over_autoets": ("<", 1.0),
    "fc_bps2019_cov95": (">=", 0.88),
    "fc_bps2019_cov95_upper": ("<=", 0.99),
    "fc_bps2023_mase_over_snaive": ("<", 1.0),
    "fc_synth_daily_mase_over_snaive": ("<=", 0.8),
    "fc_synth_nyepi_ratio": ("<", 0.05),
    "fc_bps_nat_time_over_autoets": ("<=", 3.0),
}


def _read(name: str) -> pd.DataFrame:
    df = pd.read_csv(DATA / name, parse_dates=["ds"])[["unique_id", "ds", "y"]]
    df["y"] = df["y"].astype(float)
    return fill_gaps(df, "M")


def _mase(fc: pd.DataFrame, col: str, train: pd.DataFrame, test: pd.DataFrame, m: int) -> pd.Series:
    scales = train.groupby("unique_id")["y"].apply(lambda s: mase_scale(s.to_numpy(), m))
    merged = test.merge(fc[["unique_id", "ds", col]], on=["unique_id", "ds"], how="left")
    err = (merged["y"] - merged[col]).abs()
    return err.groupby(merged["unique_id"]).mean() / scales


def _snaive(train: pd.DataFrame, test: pd.DataFrame, m: int) -> pd.DataFrame:
    rows = []
    for uid, g in train.groupby("unique_id"):
        last = g["y"].to_numpy()[-m:]
        ds = test.loc[test["unique_id"] == uid, "ds"].sort_values()
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds.to_numpy(), "snaive": np.resize(last, len(ds))}))
    return pd.concat(rows, ignore_index=True)


def _autoets(train: pd.DataFrame, h: int, cutoffs=()) -> tuple[pd.DataFrame, float]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    sf = StatsForecast(models=[AutoETS(season_length=12)], freq="MS", n_jobs=1)
    start = time.perf_counter()
    for c in cutoffs:
        sf.forecast(df=train[train["ds"] <= c], h=h)
    fc = sf.forecast(df=train, h=h)
    seconds = time.perf_counter() - start
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    return fc.rename(columns={"AutoETS": "autoets"}), seconds


def _bps2019(figures: dict) -> None:
    mase_ours, mase_sn, mase_ets, inside, widths = [], [], [], [], []
    for name in ("bps_arrivals_by_port_2017_2023.csv", "bps_arrivals_by_nationality_2017_2023.csv"):
        df = _read(name)
        train, test = df[df["ds"] <= "2018-12-01"], df[(df["ds"] >= "2019-01-01") & (df["ds"] <= "2019-12-01")]
        # Timing alternates the two tools and keeps each one's fastest of two runs, so that
        # other load on the machine does not decide the ratio.
        ours_times, ets_times = [], []
        for _ in range(2 if "nationality" in name else 1):
            start = time.perf_counter()
            forecaster = Forecaster(h=12, n_windows=3, step=3, n_jobs=1).fit(train)
            ours_times.append(time.perf_counter() - start)
            cutoffs = sorted(forecaster.cv_["cutoff"].unique())
            ets, seconds = _autoets(train, 12, cutoffs)
            ets_times.append(seconds)
        ours_seconds, ets_seconds = min(ours_times), min(ets_times)
        fc = forecaster.predict()
        if "nationality" in name:
            figures["fc_bps_nat_time_ours_s"] = round(ours_seconds, 2)
            figures["fc_bps_nat_time_autoets_s"] = round(ets_seconds, 2)
            figures["fc_bps_nat_time_over_autoets"] = ours_seconds / ets_seconds
            figures["fc_bps2019_nat_chosen"] = ",".join(sorted(set(forecaster.chosen_.values())))
        else:
            figures["fc_bps2019_port_chosen"] = ",".join(sorted(set(forecaster.chosen_.values())))
        mase_ours.append(_mase(fc, "y_hat", train, test, 12))
        mase_sn.append(_mase(_snaive(train, test, 12), "snaive", train, test, 12))
        mase_ets.append(_mase(ets, "autoets", train, test, 12))
        merged = test.merge(fc, on=["unique_id", "ds"])
        inside.append(((merged["y"] >= merged["y_lo_95"]) & (merged["y"] <= merged["y_hi_95"])).to_numpy())
        widths.append(((merged["y_hi_95"] - merged["y_lo_95"]) / merged["y_hat"].clip(lower=1e-9)).to_numpy())
    ours, sn, ets = (pd.concat(x).mean() for x in (mase_ours, mase_sn, mase_ets))
    figures["fc_bps2019_mase"] = ours
    figures["fc_bps2019_mase_snaive"] = sn
    figures["fc_bps2019_mase_autoets"] = ets
    figures["fc_bps2019_mase_over_snaive"] = ours / sn
    figures["fc_bps2019_mase_over_autoets"] = ours / ets
    cov = float(np.concatenate(inside).mean())
    figures["fc_bps2019_cov95"] = cov
    figures["fc_bps2019_cov95_upper"] = cov
    figures["fc_bps2019_width95"] = float(np.median(np.concatenate(widths)))


def _bps2023(figures: dict) -> None:
    df = _read("bps_arrivals_selected_ports_2008_2023.csv")
    train, test = df[df["ds"] <= "2022-12-01"], df[df["ds"] >= "2023-01-01"]
    fc = Forecaster(h=12, n_windows=3, step=4).fit(train).predict()  # COVID_BREAK is declared by default
    ours = _mase(fc, "y_hat", train, test, 12).mean()
    sn = _mase(_snaive(train, test, 12), "snaive", train, test, 12).mean()
    figures["fc_bps2023_mase"] = ours
    figures["fc_bps2023_mase_snaive"] = sn
    figures["fc_bps2023_mase_over_snaive"] = ours / sn


def _synth_daily(figures: dict) -> None:
    from riskmodel.core.datasets import make_crossings

    data = make_crossings(300_000, "2017-01-01", "2019-05-31", seed=7, covid=False)
    series = make_series(data.crossings, freq="D", levels=["port"], start="2017-01-01", end="2019-04-30").df
    busy = series.groupby("unique_id")["y"].mean()
    series = series[series["unique_id"].isin(busy[busy >= 1].index)]
    train, test = series[series["ds"] <= "2019-02-28"], series[series["ds"] >= "2019-03-01"]
    fc = Forecaster(h=61, n_windows=3, step=30, n_jobs=2).fit(train).predict()
    ours = _mase(fc, "y_hat", train, test, 7).mean()
    sn = _mase(_snaive(train, test, 7), "snaive", train, test, 7).mean()
    figures["fc_synth_daily_series"] = int(series["unique_id"].nunique())
    figures["fc_synth_daily_mase"] = ours
    figures["fc_synth_daily_mase_snaive"] = sn
    figures["fc_synth_daily_mase_over_snaive"] = ours / sn
    merged = test.merge(fc, on=["unique_id", "ds"])
    figures["fc_synth_daily_cov95"] = float(((merged["y"] >= merged["y_lo_95"]) & (merged["y"] <= merged["y_hi_95"])).mean())
    figures["fc_synth_daily_width95"] = float(((merged["y_hi_95"] - merged["y_lo_95"]) / merged["y_hat"].clip(lower=1e-9)).median())
    bali = fc[fc["unique_id"] == "port/Ngurah Rai"].set_index("ds")["y_hat"]
    nyepi = pd.Timestamp("2019-03-07")
    figures["fc_synth_nyepi_ratio"] = float(bali[nyepi] / bali.drop(nyepi).mean())


def run() -> dict:
    figures: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)  # fallbacks are expected on tiny series; counted in tests
        if DATA.is_dir():
            _bps2019(figures)
            _bps2023(figures)
        _synth_daily(figures)
    return figures
