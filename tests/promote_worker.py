"""One promotion in its own process, for tests/test_promotion_lease.py.

``python tests/promote_worker.py NAME VERSION DELAY READY GO OUT`` with the store in
``$MLFLOW_TRACKING_URI``: signals READY, waits for GO, then promotes VERSION with a gate that
takes DELAY seconds and passes when the candidate's ``roc_auc`` beats the champion's; writes the
decision to OUT as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace


def main(name: str, version: str, delay: float, ready: Path, go: Path, out: Path) -> None:
    from riskmodel.integrations.tracking import registry

    registry.configure()

    def decide(cand, champ):
        time.sleep(delay)  # a slow gate: the other promotion gets every chance to interleave
        passed = champ is None or cand["roc_auc"] > champ["roc_auc"]
        return SimpleNamespace(passed=passed, reasons=[f"roc_auc {cand['roc_auc']} vs {None if champ is None else champ['roc_auc']}"])

    ready.touch()
    deadline = time.time() + 120
    while not go.exists() and time.time() < deadline:
        time.sleep(0.01)
    d = registry.promote(name, decide, version=version, lease_ttl=60, wait=120)
    out.write_text(json.dumps({"version": version, "passed": d.passed, "champion": d.champion}))


if __name__ == "__main__":
    n, v, delay, ready, go, out = sys.argv[1:7]
    main(n, v, float(delay), Path(ready), Path(go), Path(out))
