"""The core: contracts, errors, config, reference tables, synthetic data, stays, features, the risk
model and forecasting, scoring of a loaded model, and monitoring maths.

It imports no outside system but its modelling libraries (no MLflow, no Spark):
everything here runs and is tested with no tracking server. See ARCHITECTURE.md.
"""
