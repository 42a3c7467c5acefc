"""Integrations with outside systems: MLflow (``tracking``), Spark (``spark``) and chunked,
resumable file jobs (``batch``). Each imports the core and none imports another's internals.
"""
