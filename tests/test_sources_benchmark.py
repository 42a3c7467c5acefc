"""The sources benchmark's own arithmetic (benchmarks/sources.py): the gain's ceiling and the training window."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.sources import HOLDOUT_DAYS, TRAIN_DAYS, _fresh_draws_figures
from riskmodel.core.sources.monitor import HORIZON_DAYS, LABEL_GAP_DAYS


def test_the_gain_ceiling_is_one_over_the_lowest_crossings_only_pr_auc():
    per_seed = {10: {"gain": 1.05, "crossings": 0.90, "all": 0.945}, 11: {"gain": 1.10, "crossings": 0.80, "all": 0.88}}
    figures = _fresh_draws_figures(per_seed)
    # PR-AUC <= 1: on the draw whose crossings-only model reaches 0.80, no model shows a gain above 1.25
    assert figures["risk_prauc_gain_ceiling_fresh_max"] == pytest.approx(1.25)
    assert figures["risk_prauc_gain_all_sources_fresh_mean"] == pytest.approx(1.075)


def test_the_training_snapshots_end_when_their_labels_are_settled():
    """The last training snapshot is the latest whose 14 days and late records have passed by the first holdout day."""
    assert LABEL_GAP_DAYS > HORIZON_DAYS
    assert HOLDOUT_DAYS[0] - TRAIN_DAYS[-1] == pd.Timedelta(days=LABEL_GAP_DAYS)
    assert TRAIN_DAYS[0] == pd.Timestamp("2022-07-01") and (pd.Series(TRAIN_DAYS).diff().dropna() == pd.Timedelta(days=7)).all()
