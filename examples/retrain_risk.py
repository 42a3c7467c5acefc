"""Monthly retrain of the overstay-risk model on synthetic data, end to end.

Trains from ``configs/risk.yaml`` (fewer travellers, so it runs in about a
minute), logs the run and registers the model as ``challenger`` in MLflow
(``MLFLOW_TRACKING_URI``, default ``sqlite:///mlflow.db`` here), runs the
promotion gate, then loads ``champion`` back by URI and prints reason codes for
the riskiest holdout stays.

Run from the repository root::

    python examples/retrain_risk.py --travellers 5000
"""

from __future__ import annotations

import argparse
import dataclasses

from riskmodel.core.config import load_config
from riskmodel.core.risk import RiskConfig, explain
from riskmodel.integrations.tracking.risk import load_risk_model
from riskmodel.apps.pipelines.risk import load_crossings, promote, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/risk.yaml")
    parser.add_argument("--travellers", type=int, default=5_000)
    args = parser.parse_args()

    cfg = load_config(args.config, RiskConfig)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, n_travellers=args.travellers))
    crossings, truth = load_crossings(cfg)
    outcome = train(cfg, crossings=crossings, oracle=truth, progress=print)
    m = outcome.result.metrics
    print(f"holdout: ROC-AUC {m['roc_auc']:.3f} (oracle {m['oracle_roc_auc']:.3f}), PR-AUC {m['pr_auc']:.3f} "
          f"(logistic regression {m['logreg_pr_auc']:.3f}), ECE {m['ece']:.4f}")
    print(outcome.result.fairness.table.query("enough_support")[["attribute", "group", "support", "referral_rate", "fpr", "fnr"]]
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    decision = promote(cfg, crossings=crossings)
    print("gate:", "PROMOTED" if decision.passed else "REFUSED", *decision.reasons, sep="\n  ")
    if not decision.passed:
        # a refusal is an answer too: with few travellers the fairness policy cannot judge enough groups
        print("no new champion: see the reasons above (more travellers, or a policy for smaller samples, would change them)")
        return

    champion = load_risk_model(f"models:/{cfg.tracking.registered_name}@champion")
    from riskmodel.core.features import training_table

    table = training_table(crossings, grace_days=cfg.data.grace_days)
    recent = table.tail(5_000)
    recent = recent.assign(p=champion.predict_proba(recent)[:, 1]).nlargest(5, "p")
    reasons = explain(champion, recent, k=3)
    for (_, row), (_, why) in zip(recent.iterrows(), reasons.iterrows(), strict=True):
        print(f"p={row['p']:.3f} band={champion.band([row['p']])[0]}: "
              + "; ".join(why[f"reason_{i}"] for i in (1, 2, 3) if why[f"reason_{i}"]))


if __name__ == "__main__":
    main()
