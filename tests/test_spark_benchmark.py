"""The spark benchmark's `spark_features_equal` (benchmarks/spark.py) calls columns equal only when their values are.

Spark is stood in for by pandas' own features read back from the same Parquet file (pyspark is not needed):
what is judged is the comparison, not Spark.
"""

from __future__ import annotations

import sys
import types

import pandas as pd
import pytest

from benchmarks.spark import _features_equal
from riskmodel.core import datasets
from riskmodel.core.features import build_features

_REAL_MAKE = datasets.make_crossings


class _SparkFrame:
    """What ``spark.read.parquet(path)`` returns here: its ``toPandas()`` is pandas' features, changed by ``change``."""

    change = staticmethod(lambda features: features)

    def __init__(self, path):
        self.path = path

    def toPandas(self):  # noqa: N802 (Spark's name)
        return self.change(build_features(pd.read_parquet(self.path)))


@pytest.fixture
def stand_in(monkeypatch):
    """``_features_equal`` on 400 travellers, with a Spark stand-in whose features are pandas' own, changed by ``change``."""
    monkeypatch.setattr(datasets, "make_crossings", lambda n, start, end, seed: _REAL_MAKE(400, start, end, seed=seed))
    module = types.ModuleType("riskmodel.integrations.spark_features")
    module.build_features_spark = lambda frame: frame
    monkeypatch.setitem(sys.modules, "riskmodel.integrations.spark_features", module)
    spark = types.SimpleNamespace(read=types.SimpleNamespace(parquet=_SparkFrame))

    def run(change, tmp_path):
        monkeypatch.setattr(_SparkFrame, "change", staticmethod(change))
        return _features_equal(spark, tmp_path)

    return run


def _as_doubles(features: pd.DataFrame) -> pd.DataFrame:
    """Spark's doubles for the whole-number columns (the same values)."""
    return features.assign(overstay_days=features["overstay_days"].astype("float64"))


def test_whole_numbers_back_as_doubles_of_the_same_value_are_equal(stand_in, tmp_path):
    assert stand_in(_as_doubles, tmp_path) == 1


def test_whole_numbers_back_with_fractions_are_not_equal(stand_in, tmp_path):
    # overstay days half a day off on every overstay (days counted from a time difference) were read as int(2.5) == 2
    def half_a_day(features):
        days = _as_doubles(features)["overstay_days"]
        assert (days > 0).any()
        return features.assign(overstay_days=days.where(days.isna() | (days == 0), days + 0.5))

    assert stand_in(half_a_day, tmp_path) == 0
