"""Config in, then fit -> evaluate -> log -> gate -> register: the pipelines the CLI and ``training/`` run."""
