"""Time the id rule of the crossings contract on 1,000,000 crossings (not one of ``python -m benchmarks``' benchmarks).

Usage (from the repository root; run it under each pandas the package supports)::

    PYTHONPATH=. python -m benchmarks._id_rule_timing

"before" is the rule as it was, every value of each id column read in Python (``_id_kind`` per value, after
``astype(object)``); "after" is :func:`riskmodel.core.schema._id_checks` as it is: both times the whole of
``_id_checks``, the same frame of valid ids (``C000000001``-like, a few missing), best of three, with the verdicts
of both compared value for value. A string column (pandas 3's default) is read in bulk; an object column (pandas
2's default) is still judged value by value, so the two should take about as long there.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from riskmodel.core import schema
from riskmodel.core.schema import CROSSINGS, _id_checks, _id_kind, _id_kinds

N = 1_000_000


def _per_value(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The rule as it was: presence and :func:`_id_kind` of every value, each read in Python."""
    values = series.astype(object).to_numpy()
    return ~pd.isna(values), np.fromiter((_id_kind(v) for v in values), dtype=np.int8, count=len(values))


def _checks(df: pd.DataFrame, cols: list[str], kinds) -> list:
    saved, schema._id_kinds = schema._id_kinds, kinds
    try:
        return _id_checks(df, CROSSINGS, "crossing_id", set(cols))
    finally:
        schema._id_kinds = saved


def _best(f) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    cols = [c.name for c in CROSSINGS if c.kind == "id"]
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: [f"{c[0].upper()}{int(i):09d}" for i in rng.integers(0, 10**9, N)] for c in cols})
    df.iloc[::1000, 1] = None  # a few missing, as extracts have
    for c in cols:
        for now, then in zip(_id_kinds(df[c]), _per_value(df[c]), strict=True):
            assert (now == then).all(), c
    old = _best(lambda: _checks(df, cols, _per_value))
    new = _best(lambda: _checks(df, cols, _id_kinds))
    print(f"pandas {pd.__version__}, {N:,} crossings, id columns {cols} ({df[cols[0]].dtype}): _id_checks "
          f"before {old:.3f} s, after {new:.3f} s; the same verdicts for every value")

if __name__ == "__main__":
    main()
