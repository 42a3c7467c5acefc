"""The nightly job: score every stay in the country from a folder of Parquet parts, resumably.

Writes the in-country population as Parquet parts, scores it in chunks with
``score_file`` (what ``riskmodel score`` runs), prints the run summary with the
drift check, and runs again to show that finished parts are reused. Run:
``python examples/nightly_batch.py [OUT]`` (default ``riskmodel-output/nightly``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from riskmodel import make_crossings
from riskmodel import score_file
from riskmodel.core.config import load_config
from riskmodel.core.features import build_features, training_table
from riskmodel.core.risk import RiskConfig
from riskmodel.core.risk.model import RiskModel, time_split
from riskmodel.integrations.tracking.registry import resolve_version


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "riskmodel-output/nightly")
    out.mkdir(parents=True, exist_ok=True)
    data = make_crossings(15_000, seed=3)
    if resolve_version("overstay-risk", "champion") is not None:
        model = "models:/overstay-risk@champion"
    else:
        cfg = load_config("configs/risk.yaml", RiskConfig)
        parts = time_split(training_table(data.crossings), "entry_time", cfg.model.splits)
        model = str(RiskModel.from_config(cfg.model).fit(parts["train"], valid=parts["valid"], calib=parts["calib"]).save(out / "model"))

    feats = build_features(data.crossings)
    in_country = feats[feats["exit_time"].isna()].reset_index(drop=True)
    folder = out / "in_country"
    folder.mkdir(exist_ok=True)
    for i, idx in enumerate(np.array_split(np.arange(len(in_country)), 4)):
        in_country.iloc[idx].to_parquet(folder / f"part-{i:02d}.parquet", index=False)

    for run in (1, 2):
        res = score_file(folder, out / "scores", model=model, chunk_rows=500, progress=False, track=False)
        s = res.extra["summary"]
        print(f"run {run}: {res.rows_in:,} rows in, {res.rows_out:,} out, {res.resumed_parts}/{res.parts} parts reused")
    print("bands:", s["band_counts"])
    drifted = {k: v for k, v in s["psi"].items() if v is not None and v >= 0.1}
    print("PSI >= 0.1:", {k: (round(v, 3), s["psi_verdict"][k]) for k, v in sorted(drifted.items())} or "none")
    print("summary:", res.extra["summary_path"])


if __name__ == "__main__":
    main()
