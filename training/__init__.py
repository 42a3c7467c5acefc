"""Scripts a data scientist runs or copies: each is a few lines over the package's pipeline functions.

    python -m training.risk --config configs/risk.yaml
    python -m training.forecast --config configs/forecast_daily.yaml
    python -m training.main_job --out riskmodel-output

The pipelines themselves live in :mod:`riskmodel.apps.pipelines`; the library never imports this folder,
and it is not installed into site-packages.
"""
