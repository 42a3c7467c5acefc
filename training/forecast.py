"""Train, register and promote an arrival forecaster from a config.

    python -m training.forecast --config configs/forecast_daily.yaml [--no-promote]

The same as ``riskmodel train forecast`` then ``riskmodel promote forecast``; copy this file to vary the steps.
"""

import argparse

from riskmodel.apps.pipelines import forecast


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/forecast.yaml", help="forecast config (default: %(default)s)")
    parser.add_argument("--no-promote", action="store_true", help="register as challenger only")
    args = parser.parse_args(argv)
    outcome = forecast.train(args.config, progress=print)
    print(f"logged {outcome.logged.model_uri} (run {outcome.logged.run_id})")
    if args.no_promote:
        return 0
    decision = forecast.promote(args.config)
    print(("PROMOTED" if decision.passed else "REFUSED") + f": version {decision.candidate}; " + "; ".join(decision.reasons))
    return 0 if decision.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
