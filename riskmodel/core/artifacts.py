"""Signed content manifests of model folders: the one place where artifacts are verified.

Every logged model folder carries a ``manifest.json`` listing the SHA-256 digest
of every other file in it, signed with HMAC-SHA256. Loaders in every layer call
:func:`verify_manifest` before they read anything else; a missing, unsigned,
regenerated (re-hashed without the key) or altered manifest is refused, and so
is any file that is missing, added or changed.

The signing key
---------------
``RISKMODEL_SIGNING_KEY`` (at least 32 bytes of text; generate one with
``python -c "import secrets; print(secrets.token_hex(32))"``) is used when set:
set it on every machine that logs or loads models of a shared store. When it is
unset, a key file is used instead, created with 0600 permissions on first use:
the tracking integration keeps one per store (beside a local sqlite store), and
the core falls back to ``riskmodel-signing.key`` in the working directory, where
the embedded default store ``sqlite:///mlflow.db`` lives.

A key file beside the store only protects against someone who can change the
artifacts but not read that file. Anyone who can read the key can sign a
tampered model, so on a shared or remote store set ``RISKMODEL_SIGNING_KEY``
from a secret manager and keep it away from the people and services that can
write to the artifact store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from riskmodel.core.exceptions import ArtifactIntegrityError

__all__ = [
    "MANIFEST",
    "SIGNING_KEY_ENV",
    "KEY_FILE",
    "MIN_KEY_BYTES",
    "file_digest",
    "signing_key",
    "sign",
    "signature_matches",
    "write_manifest",
    "verify_manifest",
    "signed_files",
    "verify_part",
    "logged_model_around",
]

MANIFEST = "manifest.json"
SIGNING_KEY_ENV = "RISKMODEL_SIGNING_KEY"
KEY_FILE = "riskmodel-signing.key"
MIN_KEY_BYTES = 32
_FORMAT = 2  # format 1 (unsigned, before issue 15) is refused


def logged_model_around(path: str | Path) -> Path | None:
    """The logged model folder that ``path`` is, or lies in as its ``data/<kind>`` folder; else None.

    A logged model is a folder holding ``MLmodel``; one whose ``MLmodel`` was deleted is still told by its signed
    ``manifest.json`` one or two levels above ``path`` (a folder's own manifest, as ``data/risk_model`` carries,
    does not count). Such a folder is checked as a whole, with the store's key, by ``riskmodel.load``; never
    read as a plain saved model.
    """
    path = Path(path)
    for level, folder in enumerate((path, path.parent, path.parent.parent)):
        if (folder / "MLmodel").is_file() or (level and (folder / MANIFEST).is_file()):
            return folder
    return None


def file_digest(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def signing_key(key_file: str | Path | None = None, *, create: bool = False) -> bytes:
    """The HMAC key: ``$RISKMODEL_SIGNING_KEY``, else the contents of ``key_file``.

    Parameters
    ----------
    key_file : str or Path, optional
        Key file to use when the environment variable is unset; default
        ``riskmodel-signing.key`` in the working directory (beside the embedded
        default store).
    create : bool, default=False
        Create the key file (random 32 bytes, hex, permissions 0600) if it does not exist:
        logging a model creates it, loading never does.

    Raises
    ------
    ArtifactIntegrityError
        If the key is shorter than 32 bytes, or there is no key to verify with.
    """
    text = os.environ.get(SIGNING_KEY_ENV)
    source = f"${SIGNING_KEY_ENV}"
    if not text:
        path = Path(key_file) if key_file is not None else Path.cwd() / KEY_FILE
        source = f"key file `{path}`"
        if create and not path.exists():
            _create_key_file(path)
        if not path.is_file():
            raise ArtifactIntegrityError(
                f"no signing key to verify the model with: ${SIGNING_KEY_ENV} is unset and {source} does not exist. "
                f"Set ${SIGNING_KEY_ENV} to the key the model was logged with."
            )
        _refuse_shared_key_file(path)
        text = path.read_text(encoding="utf-8").strip()
    key = text.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise ArtifactIntegrityError(
            f"the signing key from {source} has {len(key)} bytes; expected at least {MIN_KEY_BYTES}. "
            'Use a random key, e.g. python -c "import secrets; print(secrets.token_hex(32))".'
        )
    return key


def _refuse_shared_key_file(path: Path) -> None:
    """Refuse a key file another user owns, or one others (group or world) can read or change.

    Whoever can read the key can sign a model the store then trusts; whoever can write it
    (or owns it: they can chmod it) can swap it. The file logging creates is 0600, owned by
    the user who logged. No check where POSIX permissions do not exist (Windows).
    """
    if os.name != "posix":
        return
    st = path.stat()
    fix = (f"fix: `chmod 600 {path}` as its owner (and check nobody else has used it), or set ${SIGNING_KEY_ENV} "
           "from a secret store instead of a file")
    if st.st_uid not in (os.geteuid(), 0):
        problem = f"it belongs to another user (uid {st.st_uid}), who can change it"
    elif st.st_mode & 0o044:
        problem = "others can read it, and sign models with it"
    elif st.st_mode & 0o022:
        problem = "others can change it"
    else:
        return
    raise ArtifactIntegrityError(f"the signing key file `{path}`: {problem}; refused. {fix}.")


def _create_key_file(path: Path) -> None:
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes creating the key at once must not end with two keys
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")


def sign(key: bytes, *fields: str) -> str:
    """HMAC-SHA256 (hex) of ``fields``, joined unambiguously."""
    payload = json.dumps([str(f) for f in fields], separators=(",", ":")).encode("utf-8")
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def signature_matches(key: bytes, signature: str | None, *fields: str) -> bool:
    """Whether ``signature`` is :func:`sign` of ``fields`` with ``key`` (constant-time)."""
    return isinstance(signature, str) and hmac.compare_digest(signature, sign(key, *fields))


def _listing(folder: Path, ignore: tuple[str, ...]) -> set[str]:
    skip = {MANIFEST, *ignore}
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() not in skip}


def _body(files: dict[str, str]) -> str:
    return json.dumps({"format": _FORMAT, "algorithm": "sha256", "files": files}, sort_keys=True, separators=(",", ":"))


def _text(manifest: dict) -> str:
    """The exact text of a manifest file, as written and as verified."""
    return json.dumps(manifest, indent=1, sort_keys=True)


def write_manifest(folder: str | Path, *, key: bytes | None = None, ignore: tuple[str, ...] = ()) -> str:
    """Write a signed ``manifest.json`` listing the SHA-256 of every other file under ``folder``.

    Parameters
    ----------
    folder : str or Path
    key : bytes, optional
        Signing key; default :func:`signing_key` (created if needed).
    ignore : tuple of str, default=()
        Relative paths to leave out (files a client writes after download).

    Returns
    -------
    str
        The digest of the manifest file itself (stored beside the model as a tag, for information).
    """
    folder = Path(folder)
    key = key if key is not None else signing_key(create=True)
    files = {name: file_digest(folder / name) for name in sorted(_listing(folder, ignore))}
    body = _body(files)
    manifest = {**json.loads(body), "signature": {"algorithm": "hmac-sha256", "value": sign(key, body)}}
    (folder / MANIFEST).write_bytes(_text(manifest).encode("utf-8"))
    return file_digest(folder / MANIFEST)


def signed_files(manifest_file: str | Path, *, key: bytes | None = None, expected_digest: str | None = None) -> dict[str, str]:
    """The files a ``manifest.json`` lists (relative path -> SHA-256), after checking its signature.

    Parameters
    ----------
    manifest_file : str or Path
        A ``manifest.json`` written by :func:`write_manifest`.
    key : bytes, optional
        Verification key; default :func:`signing_key`.
    expected_digest : str, optional
        Digest of the manifest itself as recorded at logging, checked when given.

    Raises
    ------
    ArtifactIntegrityError
        If the manifest is missing, unreadable, unsigned, or its signature does not match.
    """
    mf = Path(manifest_file)
    folder = mf.parent
    if not mf.is_file():
        raise ArtifactIntegrityError(f"`{folder}` has no {MANIFEST}; the model was not logged by riskmodel or was altered. Do not use it.")
    if expected_digest is not None and file_digest(mf) != expected_digest:
        raise ArtifactIntegrityError(f"{MANIFEST} in `{folder}` differs from the one recorded at logging; do not use this model.")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
        recorded = manifest["files"]
        signature = manifest.get("signature")
        if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
            raise ValueError
    except (ValueError, KeyError, AttributeError, TypeError, UnicodeDecodeError):
        raise ArtifactIntegrityError(f"{MANIFEST} in `{folder}` is not readable; do not use this model.") from None
    if not isinstance(signature, dict) or not signature.get("value"):
        raise ArtifactIntegrityError(
            f"{MANIFEST} in `{folder}` is not signed; expected an HMAC-SHA256 signature. "
            "Re-log the model with this version of riskmodel; never load an unsigned artifact."
        )
    key = key if key is not None else signing_key()
    if manifest.get("format") != _FORMAT or not signature_matches(key, signature["value"], _body(recorded)):
        raise ArtifactIntegrityError(
            f"the signature of {MANIFEST} in `{folder}` does not match: the manifest was changed or regenerated, "
            f"or the model was signed with another key (check ${SIGNING_KEY_ENV}). Do not use this model."
        )
    if mf.read_bytes() != _text(manifest).encode("utf-8"):  # the signature covers the meaning; this, every byte
        raise ArtifactIntegrityError(f"{MANIFEST} in `{folder}` was changed after it was signed (its bytes differ from what riskmodel wrote); do not use this model.")
    return recorded


def verify_manifest(
    folder: str | Path, *, key: bytes | None = None, expected_digest: str | None = None, ignore: tuple[str, ...] = (),
    read: tuple[str, ...] = (),
) -> dict[str, bytes]:
    """Check the signature of ``folder``'s ``manifest.json``, then every file against it.

    The files the caller will use are named in ``read``: their bytes are read once, checked and returned,
    so that what the caller parses is what was verified. Read again from the folder after this returns, a
    file rewritten in between (by another process, or a save into the same folder) would be used unsigned.

    Parameters
    ----------
    folder : str or Path
        A model folder written with :func:`write_manifest`.
    key : bytes, optional
        Verification key; default :func:`signing_key`.
    expected_digest : str, optional
        Digest of the manifest itself as recorded at logging (tag ``manifest_sha256``):
        checked when given, but the signature is checked either way.
    ignore : tuple of str, default=()
        Relative paths that are not part of the model (files a client writes after download).
    read : tuple of str, default=()
        Relative paths of the files to return the verified bytes of.

    Returns
    -------
    dict of str to bytes
        The bytes of each file of ``read`` that the manifest lists, as checked against its digest
        (a name the manifest does not list is left out: if the file is there, it is refused as added).

    Raises
    ------
    ArtifactIntegrityError
        If the manifest is missing, unreadable, unsigned or its signature does not
        match (changed, regenerated or signed with another key), or a file is
        missing, added or differs from its recorded digest.
    """
    folder = Path(folder)
    recorded = signed_files(folder / MANIFEST, key=key, expected_digest=expected_digest)
    present = {name: folder / name for name in _listing(folder, ignore)}
    data = {name: present[name].read_bytes() for name in read if name in recorded and name in present}
    _compare(recorded, present, expected=set(recorded), where=f"model folder `{folder}`", data=data)
    return data


def verify_part(recorded: dict[str, str], local: str | Path, path: str, *, where: str, ignore: tuple[str, ...] = ()) -> None:
    """Check a downloaded part of a model folder (one file, or a subfolder) against its signed manifest's entries.

    Parameters
    ----------
    recorded : dict
        The entries of the model's manifest (:func:`signed_files`).
    local : str or Path
        The downloaded file or folder.
    path : str
        Its path relative to the model folder (``MLmodel``, ``data/risk_model``; ``""`` for the whole folder).
    where : str
        How to name the model in a message.
    ignore : tuple of str, default=()
        Paths relative to the model folder that are not part of the model.

    Raises
    ------
    ArtifactIntegrityError
        If a file is missing (for a folder: every file the manifest lists under
        ``path`` must be there), added, or differs from its recorded digest.
    """
    local = Path(local)
    if local.is_file():
        _compare(recorded, {path: local}, expected={path} & set(recorded), where=where)
        return
    prefix = f"{path}/" if path else ""
    present = {prefix + p.relative_to(local).as_posix(): p for p in local.rglob("*") if p.is_file()}
    for skip in (MANIFEST, *ignore):
        present.pop(skip, None)
    _compare(recorded, present, expected={n for n in recorded if n.startswith(prefix)}, where=where)


def _compare(recorded: dict[str, str], present: dict[str, Path], *, expected: set[str], where: str,
             data: dict[str, bytes] | None = None) -> None:
    """Missing (of ``expected``), unexpected and changed files, as one error; a file of ``data`` is checked by those bytes."""
    data = data or {}

    def digest(name: str) -> str:
        return hashlib.sha256(data[name]).hexdigest() if name in data else file_digest(present[name])

    problems = [f"missing file {name}" for name in sorted(expected - set(present))]
    problems += [f"unexpected file {name}" for name in sorted(set(present) - set(recorded))]
    problems += [f"content of {name} changed" for name in sorted(set(recorded) & set(present)) if digest(name) != recorded[name]]
    if problems:
        raise ArtifactIntegrityError(
            f"{where} does not match its manifest: {'; '.join(problems)}. "
            "Re-download or re-log the model; never load an altered artifact."
        )
