"""Chunked, resumable file jobs: the job engine (``jobs``) and the nightly scoring job (``scoring``)."""
