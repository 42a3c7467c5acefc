"""Forecast the real BPS monthly arrivals per port for 2023, trained through 2022 with COVID declared.

Reads ``../shared/data/bps_arrivals_by_port_2017_2023.csv`` (Statistics Indonesia,
beside this repository; not shipped with it), fits the forecaster on 2017-2022
with April 2020 - March 2022 declared as a break (not learned as seasonality),
forecasts 2023 and compares it with what happened, against seasonal naive.
Run: ``python examples/forecast_bps.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel import Forecaster

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bps_arrivals_by_port_2017_2023.csv"


def mase(actual: np.ndarray, pred: np.ndarray, history: np.ndarray, m: int = 12) -> float:
    scale = np.mean(np.abs(history[m:] - history[:-m]))
    return float(np.mean(np.abs(actual - pred)) / scale) if scale > 0 else np.nan


def main() -> None:
    raw = pd.read_csv(DATA, parse_dates=["ds"])[["unique_id", "ds", "y"]]
    big = raw.groupby("unique_id")["y"].sum().nlargest(8).index  # the main ports
    df = raw[raw["unique_id"].isin(big)]
    train, test = df[df["ds"] < "2023-01-01"], df[df["ds"] >= "2023-01-01"]
    fc = Forecaster(h=12, breaks=(("2020-04-01", "2022-03-31"),), reconcile=None).fit(train).predict()
    rows = []
    for uid, actual in test.groupby("unique_id"):
        hist = train[(train["unique_id"] == uid) & ((train["ds"] < "2020-04-01") | (train["ds"] > "2022-03-31"))]["y"].to_numpy(float)
        pred = fc[fc["unique_id"] == uid].sort_values("ds")["y_hat"].to_numpy()
        last_year = train[(train["unique_id"] == uid) & (train["ds"] >= "2022-01-01")].sort_values("ds")["y"].to_numpy(float)
        y = actual.sort_values("ds")["y"].to_numpy(float)
        rows.append({"port": uid, "MASE": mase(y, pred, hist), "MASE seasonal naive": mase(y, last_year, hist)})
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    print(f"mean MASE {table['MASE'].mean():.3f} vs seasonal naive {table['MASE seasonal naive'].mean():.3f}")


if __name__ == "__main__":
    main()
