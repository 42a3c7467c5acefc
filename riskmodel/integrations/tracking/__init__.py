"""Everything that touches MLflow lives in this package, and nothing outside it imports mlflow.

The core library (features, models, metrics, forecasting) runs with no tracking
server; this package logs, registers, promotes and loads models. Where the
tracking server lives comes from ``MLFLOW_TRACKING_URI``; the embedded default is
``sqlite:///mlflow.db`` in the working directory.
"""
