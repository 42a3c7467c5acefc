"""Train, register and promote an arrival forecaster from a config.

    python -m training.forecast --config configs/forecast_daily.yaml [--no-promote]
"""

import argparse

from riskmodel.apps.pipelines import forecast

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--config", default="configs/forecast.yaml")
parser.add_argument("--no-promote", action="store_true", help="register as challenger only")
args = parser.parse_args()
logged = forecast.train(args.config).logged
print(f"logged {logged.model_uri} (run {logged.run_id})")
if not args.no_promote:
    print(forecast.promote(args.config))
