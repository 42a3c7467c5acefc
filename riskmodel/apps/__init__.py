"""Applications on top of the library: the command line (``cli``), the training and main-job
pipelines (``pipelines``) and the duty manager's report (``report``).
"""
