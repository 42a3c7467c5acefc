"""The main job end to end: synthetic data, risk model, forecasters, scores, report.

    python -m training.main_job [--out riskmodel-output]
"""

import argparse

from riskmodel.apps.pipelines.main_job import run_main_job

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="riskmodel-output")
args = parser.parse_args()
result = run_main_job(out=args.out, progress=print)
print(result)
