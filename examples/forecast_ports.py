"""Forecast monthly arrivals per port on synthetic data and print the holdout-window accuracy.

Run: ``python examples/forecast_ports.py [--travellers 20000]``.
"""

from __future__ import annotations

import argparse

from riskmodel import Forecaster, make_crossings, make_series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--travellers", type=int, default=20_000)
    parser.add_argument("--horizon", type=int, default=12)
    args = parser.parse_args()

    data = make_crossings(args.travellers, "2017-01-01", "2023-12-31", seed=0)
    series = make_series(data.crossings, freq="M", levels=["total", "port_type", "port"])
    forecaster = Forecaster(h=args.horizon, progress=True).fit(series.df, series.hierarchy)
    # the holdout window chose and calibrated nothing: its figures are the honest ones
    metrics = forecaster.holdout_metrics_ if len(forecaster.holdout_metrics_) else forecaster.metrics_
    print(metrics[metrics["level"] == "all"].round(3).to_string(index=False))
    fc = forecaster.predict()
    print(fc[fc["unique_id"].isin(["total", "port/Ngurah Rai"])].round(0).to_string(index=False))


if __name__ == "__main__":
    main()
