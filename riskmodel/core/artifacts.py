"""Content-hash manifests of model folders: the one place where artifacts are verified.

Every saved or logged model folder carries a ``manifest.json`` of the SHA-256
digests of its files, written when it is saved for logging and checked before
anything in it is read. The tracking integration stores the manifest's own digest
beside the registered version; loaders in every layer call :func:`verify_manifest`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from riskmodel.core.exceptions import ArtifactIntegrityError

__all__ = ["MANIFEST", "file_digest", "write_manifest", "verify_manifest"]

MANIFEST = "manifest.json"



def file_digest(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: str | Path) -> str:
    """Write ``manifest.json`` listing the SHA-256 of every other file under ``folder``.

    Returns
    -------
    str
        The digest of the manifest file itself (store it beside the model, e.g. as a tag).
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {"algorithm": "sha256", "files": {p.relative_to(folder).as_posix(): file_digest(p) for p in files}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return file_digest(folder / MANIFEST)


def verify_manifest(folder: str | Path, *, expected_digest: str | None = None) -> None:
    """Check every file of ``folder`` against its ``manifest.json``.

    Parameters
    ----------
    folder : str or Path
        A model folder written with :func:`write_manifest`.
    expected_digest : str, optional
        Digest of the manifest itself as recorded at logging (tag ``manifest_sha256``).

    Raises
    ------
    ArtifactIntegrityError
        If the manifest is missing or was changed, a file is missing, added or
        differs from its recorded digest.
    """
    folder = Path(folder)
    mf = folder / MANIFEST
    if not mf.is_file():
        raise ArtifactIntegrityError(f"`{folder}` has no {MANIFEST}; the model was not logged by riskmodel or was altered.")
    if expected_digest is not None and file_digest(mf) != expected_digest:
        raise ArtifactIntegrityError(f"{MANIFEST} in `{folder}` differs from the one recorded at logging; do not use this model.")
    try:
        recorded = json.loads(mf.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError):
        raise ArtifactIntegrityError(f"{MANIFEST} in `{folder}` is not readable.") from None
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    problems = []
    for name in sorted(set(recorded) - present):
        problems.append(f"missing file {name}")
    for name in sorted(present - set(recorded)):
        problems.append(f"unexpected file {name}")
    for name in sorted(set(recorded) & present):
        if file_digest(folder / name) != recorded[name]:
            problems.append(f"content of {name} changed")
    if problems:
        raise ArtifactIntegrityError(
            f"model folder `{folder}` does not match its manifest: {'; '.join(problems)}. "
            "Re-download or re-log the model; never load an altered artifact."
        )
