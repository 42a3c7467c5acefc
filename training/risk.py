"""Train, register and promote the overstay-risk model from a config.

    python -m training.risk --config configs/risk.yaml [--no-promote]

The same as ``riskmodel train risk`` then ``riskmodel promote risk``; copy this file to vary the steps.
"""

import argparse

from riskmodel.apps.pipelines import risk


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/risk.yaml", help="risk config (default: %(default)s)")
    parser.add_argument("--no-promote", action="store_true", help="register as challenger only")
    args = parser.parse_args(argv)
    outcome = risk.train(args.config, progress=print)
    print(f"logged {outcome.logged.model_uri} (run {outcome.logged.run_id}); pr_auc {outcome.result.metrics['pr_auc']:.4f}")
    if args.no_promote:
        return 0
    decision = risk.promote(args.config)
    print(("PROMOTED" if decision.passed else "REFUSED") + f": version {decision.candidate}; " + "; ".join(decision.reasons))
    return 0 if decision.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
