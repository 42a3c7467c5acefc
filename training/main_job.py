"""The main job end to end: synthetic data, risk model, forecasters, scores, report.

    python -m training.main_job [--out riskmodel-output] [--travellers 40000] [--fresh]

The same as ``riskmodel run``; copy this file to vary the steps.
"""

import argparse

from riskmodel.apps.pipelines.main_job import MainJobSettings, run_main_job


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="riskmodel-output", help="output folder (default: %(default)s)")
    parser.add_argument("--travellers", type=int, default=MainJobSettings.travellers, help="synthetic travellers (default: %(default)s)")
    parser.add_argument("--fresh", action="store_true", help="redo every step instead of reusing valid earlier results")
    args = parser.parse_args(argv)
    result = run_main_job(args.out, MainJobSettings(travellers=args.travellers), fresh=args.fresh, progress=print)
    print(f"report: {result.report}; done in {result.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
