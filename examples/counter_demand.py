"""Counter demand at an immigration service hall: forecast daily visitors from any count series.

The forecaster takes any long frame ``unique_id, ds, y``. Here: two years of
daily visitors at two counters (passport renewals, stay-permit extensions)
with a weekly rhythm, closures on Sundays and public holidays, and a rush
before Eid al-Fitr. Run: ``python examples/counter_demand.py``.
"""

from __future__ import annotations

import holidays
import numpy as np
import pandas as pd

from riskmodel import forecast


def visitors() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ds = pd.date_range("2022-01-01", "2023-12-31", freq="D")
    off = {pd.Timestamp(d) for d in holidays.country_holidays("ID", years=[2022, 2023])}
    eid = [pd.Timestamp(d) for d, n in holidays.country_holidays("ID", years=[2022, 2023], language="en_US").items() if n == "Eid al-Fitr"]
    frames = []
    for counter, base in (("passport", 180.0), ("stay_permit", 90.0)):
        week = np.array([1.3, 1.1, 1.0, 1.0, 0.9, 0.5, 0.0])[ds.day_of_week]
        rush = sum(((e - ds).days.to_numpy() > 0) & ((e - ds).days.to_numpy() <= 14) for e in eid) * 0.6
        lam = base * week * (1 + rush) * np.where(ds.isin(list(off)), 0.0, 1.0)
        frames.append(pd.DataFrame({"unique_id": counter, "ds": ds, "y": rng.poisson(lam).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    history = visitors()
    fc = forecast(28, history=history, level=(80, 95))
    first_week = fc[fc["ds"] < fc["ds"].min() + pd.Timedelta(days=7)]
    print(first_week.round(0).to_string(index=False))


if __name__ == "__main__":
    main()
