"""Monitoring maths: input and score drift (``drift``) and accuracy of past forecasts (``forecasts``)."""
