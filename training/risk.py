"""Train, register and promote the overstay-risk model from a config.

    python -m training.risk --config configs/risk.yaml [--no-promote]
"""

import argparse

from riskmodel.apps.pipelines import risk

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--config", default="configs/risk.yaml")
parser.add_argument("--no-promote", action="store_true", help="register as challenger only")
args = parser.parse_args()
logged = risk.train(args.config).logged
print(f"logged {logged.model_uri} (run {logged.run_id})")
if not args.no_promote:
    print(risk.promote(args.config))
