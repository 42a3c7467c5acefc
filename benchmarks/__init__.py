"""Accuracy and speed benchmarks: ``python -m benchmarks NAME...``.

Each benchmark is a module ``benchmarks/<name>.py`` with

- ``run() -> dict``: computes and returns its figures, ``{key: value}``;
- ``BARS`` (optional): ``{key: (op, threshold)}`` with ``op`` one of
  ``"<=", "<", ">=", ">"``, the bar the issue sets for that figure;
- ``ABOUT`` (optional): one paragraph saying what is measured and how.

The figure keys are a contract: other issues, CI and RESULTS.md refer to them.
"""
