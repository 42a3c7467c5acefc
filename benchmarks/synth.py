"""Synthetic generator speed and memory at one million stays."""

from __future__ import annotations

import json
import subprocess
import sys

ABOUT = (
    "`make_crossings` over 2017-2023 (COVID included) with enough travellers for at least one "
    "million stays, in a fresh process: `synth_1m_seconds` is the generation wall time (imports "
    "excluded), `synth_1m_peak_gib` the process's peak resident memory (interpreter and imports included)."
)
BARS = {"synth_1m_seconds": ("<=", 60), "synth_1m_stays": (">=", 1_000_000)}

_CHILD = """
import json, resource, time
from riskmodel.core.datasets import make_crossings
t = time.perf_counter()
data = make_crossings({n}, "2017-01-01", "2023-12-31", seed=1)
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "stays": len(data.stays), "crossings": len(data.crossings),
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def run(n_travellers: int = 210_000) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD.format(n=n_travellers)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "synth_1m_seconds": round(r["seconds"], 1),
        "synth_1m_peak_gib": round(r["peak_kib"] / 2**20, 2),
        "synth_1m_stays": r["stays"],
        "synth_1m_crossings": r["crossings"],
        "synth_stays_per_s": round(r["stays"] / r["seconds"]),
    }
