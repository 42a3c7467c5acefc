"""Monitoring maths: input and score drift (``drift``), outcomes of past risk scores (``outcomes``)
and accuracy of past forecasts (``forecasts``). The MLflow logging side is
:mod:`riskmodel.integrations.tracking.monitoring`.
"""
