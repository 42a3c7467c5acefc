"""Thin training pipelines: config in, then data -> fit -> evaluate -> log -> register; promotion is a separate step.

Every step is a public function of the library; these modules only chain them.
"""
