"""A service scoring one traveller at the desk, then a few hundred, with reasons.

Uses the registered champion when there is one (``riskmodel run`` makes it),
otherwise trains a small model in a temporary folder first, so the example
runs anywhere. Run: ``python examples/service_score.py``.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings

from riskmodel import make_crossings, score
from riskmodel.core.config import load_config
from riskmodel.core.features import build_features, training_table
from riskmodel.core.risk import RiskConfig
from riskmodel.core.risk.model import RiskModel, time_split
from riskmodel.integrations.tracking.registry import resolve_version


def model_uri(tmp: str) -> str:
    if resolve_version("overstay-risk", "champion") is not None:
        return "models:/overstay-risk@champion"
    print("no champion in this MLflow store yet: training a small model for the example")
    cfg = load_config("configs/risk.yaml", RiskConfig)
    table = training_table(make_crossings(5_000, seed=1).crossings)
    parts = time_split(table, "entry_time", cfg.model.splits)
    model = RiskModel.from_config(cfg.model).fit(parts["train"], valid=parts["valid"], calib=parts["calib"])
    return str(model.save(f"{tmp}/overstay-risk"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uri = model_uri(tmp)
        # today's arrivals, with their point-in-time travel history
        feats = build_features(make_crossings(3_000, "2023-01-01", "2023-12-31", seed=7).crossings)
        in_country = feats[feats["exit_time"].isna()]

        # one record, as a JSON body would bring it
        record = json.loads(in_country.iloc[0].to_json(date_format="iso"))
        t = time.perf_counter()
        one = score(record, model=uri, reasons=3, purpose="desk check")
        print(f"one record in {(time.perf_counter() - t) * 1000:.1f} ms (first call loads the model):")
        print(one.T.to_string(header=False))

        # a few hundred, errors flagged instead of raised
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch = score(in_country.head(300), model=uri, reasons=2, errors="flag", purpose="shift list")
        print(batch["risk_band"].value_counts().to_string())
        print(batch.sort_values("probability", ascending=False).head(5)[["stay_id", "probability", "risk_band", "reason_1"]].to_string(index=False))


if __name__ == "__main__":
    main()
