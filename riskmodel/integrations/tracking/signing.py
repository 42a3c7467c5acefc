"""Signing for the tracking store: the store's key, signed model folders and signed gate decisions.

The key is ``$RISKMODEL_SIGNING_KEY`` when set (see :mod:`riskmodel.core.artifacts`).
When it is unset, each store has its own key file, created with 0600
permissions the first time a model is logged:

* a local sqlite store (``sqlite:///path/mlflow.db``, the embedded default):
  ``riskmodel-signing.key`` in the folder of the database file;
* any other store (a team ``mlflow server``, a database): a file under
  ``$XDG_CONFIG_HOME/riskmodel/`` (default ``~/.config/riskmodel/``) named after
  the store's scheme, host, port and path (not its user, password or query: a rotated
  password keeps the key; a file named after the whole URI, as before, is still read). It exists only for this user on this machine, so a team that
  trains on one machine and scores on another must set ``RISKMODEL_SIGNING_KEY``.

Either key file protects only against people who can change the artifacts but
cannot read the file: whoever can read the key can sign anything. Set
``RISKMODEL_SIGNING_KEY`` from a secret store on shared systems.

A promotion is signed too: :func:`sign_gate` is an HMAC over the model name,
version, decision and time, stored as the version tag ``gate.signature``;
:func:`check_gate` refuses a version whose alias was moved by hand. A passed
promotion also signs which version it made champion (:func:`sign_champion`,
registered-model tags ``gate.champion`` and ``gate.champion_signature``): a
version promoted once keeps its signed decision after it is replaced, so
:func:`check_champion` also refuses ``champion`` moved back to it by hand.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mlflow

from riskmodel.core import audit

from riskmodel.core.artifacts import KEY_FILE, sign, signature_matches, signing_key, verify_manifest, write_manifest
from riskmodel.core.exceptions import ArtifactIntegrityError, ModelLoadError

__all__ = ["ALLOW_UNGATED_ENV", "CHAMPION", "check_champion", "CLIENT_FILES", "GATE_SIGNATURE_TAG", "key_file", "store_key", "sign_folder", "verify_folder", "sign_gate", "check_gate", "sign_champion", "CHAMPION_TAG", "CHAMPION_SIGNATURE_TAG", "WITHDRAWN_TAGS", "sign_withdrawal", "is_withdrawn", "last_promoted"]


def _client_files(version: str) -> tuple[str, ...]:
    """The files MLflow ``version``'s client writes into a model folder after downloading it: not part of the model.

    Up to 3.17 a ``models:/name/...`` download got ``registered_model_meta`` (the registered name and version), written
    after the store delivered the model; 3.18 writes none. Where none is written, a file of that name is no MLflow's:
    it is refused as added, like any other (tests/test_mlflow_loaders.py checks this against the installed MLflow).
    """
    from packaging.version import Version

    return ("registered_model_meta",) if Version(version).release < (3, 18) else ()


#: Files the installed MLflow's client writes into a model folder after download; not part of the model, not signed.
#: Only riskmodel's check of a downloaded copy ignores them: the store never holds one (verified_store ignores none).
CLIENT_FILES = _client_files(mlflow.__version__)
GATE_SIGNATURE_TAG = "gate.signature"
ALLOW_UNGATED_ENV = "RISKMODEL_ALLOW_UNGATED"
CHAMPION = "champion"
#: Registered-model tags of the last passed promotion: ``<version>|<time>`` and its signature.
CHAMPION_TAG = "gate.champion"
CHAMPION_SIGNATURE_TAG = "gate.champion_signature"


def key_file(store_uri: str) -> Path:
    """Where the key of ``store_uri`` lives when ``RISKMODEL_SIGNING_KEY`` is unset."""
    if store_uri.startswith("sqlite:///"):
        db = Path(store_uri[len("sqlite:///"):].split("?", 1)[0])
        return db.resolve().parent / KEY_FILE
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "riskmodel"
    path = base / f"signing-{hashlib.sha256(_store_identity(store_uri).encode()).hexdigest()[:16]}.key"
    # named after the whole URI before: a key file of that name is still this store's key
    before = base / f"signing-{hashlib.sha256(store_uri.encode()).hexdigest()[:16]}.key"
    return before if not path.exists() and before.exists() else path


def _store_identity(store_uri: str) -> str:
    """The store a URI names: its scheme, host, port and path, without user, password, query or a trailing slash.

    The key file was named after the whole URI: a rotated database password, an added ``?sslmode=`` or another
    spelling of the same server made a new key, and every model signed before was refused.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(store_uri)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    where = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme.lower()}://{where}{parts.path.rstrip('/')}"


def store_key(store_uri: str, *, create: bool = False) -> bytes:
    """The signing key for models of ``store_uri`` (see the module docstring)."""
    return signing_key(key_file(store_uri), create=create)


def sign_folder(folder: str | Path, store_uri: str) -> str:
    """Write the signed manifest of a model folder; return the manifest's digest."""
    return write_manifest(folder, key=store_key(store_uri, create=True), ignore=CLIENT_FILES)


def verify_folder(folder: str | Path, store_uri: str, *, expected_digest: str | None = None,
                  read: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Verify a model folder's signed manifest with the key of ``store_uri``; the checked bytes of the files in ``read``
    (:func:`riskmodel.core.artifacts.verify_manifest`)."""
    return verify_manifest(folder, key=store_key(store_uri), expected_digest=expected_digest, ignore=CLIENT_FILES, read=read)


def sign_gate(store_uri: str, name: str, version: str, decision: str, time: str) -> str:
    """Signature of one promotion decision, for the version tag ``gate.signature``."""
    return sign(store_key(store_uri, create=True), "gate", name, str(version), decision, time)


def check_gate(store_uri: str, name: str, version: str, tags: dict[str, str], alias: str) -> None:
    """Refuse ``name`` version ``version`` (behind ``alias``) unless its tags hold a passed, signed gate decision.

    Raises
    ------
    ModelLoadError
        If the decision is missing, is not "promoted", or its signature does not match.
    """
    decision, time, signature = tags.get("gate.decision"), tags.get("gate.time", ""), tags.get(GATE_SIGNATURE_TAG)
    fix = (
        f"Promote it with the library (riskmodel promote / promote_risk), or, in an emergency, load it with "
        f"allow_ungated=True or RISKMODEL_ALLOW_UNGATED=1 (recorded in the audit log)."
    )
    if decision != "promoted":
        got = "no gate decision" if decision is None else f"gate decision {decision!r}"
        raise ModelLoadError(f"`models:/{name}@{alias}` is version {version}, which has {got}: the alias was moved past the promotion gate. {fix}")
    if not signature_matches(store_key(store_uri), signature, "gate", name, str(version), decision, time):
        raise ModelLoadError(
            f"`models:/{name}@{alias}` is version {version}, whose gate decision is not signed by riskmodel "
            f"(tag {GATE_SIGNATURE_TAG} missing or wrong): the alias or the tags were changed by hand. {fix}"
        )


def sign_champion(store_uri: str, name: str, version: str, time: str) -> str:
    """Signature of "a passed promotion made ``version`` champion at ``time``", for :data:`CHAMPION_SIGNATURE_TAG`."""
    return sign(store_key(store_uri, create=True), "champion", name, str(version), time)


#: Version tags of a rollback's withdrawal of the champion it replaced (:func:`sign_withdrawal`).
WITHDRAWN_TAGS = ("gate.withdrawn_for", "gate.withdrawn_time", "gate.withdrawn_reason", "gate.withdrawn_signature")


def sign_withdrawal(store_uri: str, name: str, version: str, replaced_by: str, time: str, reason: str) -> str:
    """Signature of "a rollback at ``time`` withdrew ``version``, putting ``replaced_by`` back, for ``reason``"."""
    return sign(store_key(store_uri, create=True), "withdrawn", name, str(version), str(replaced_by), time, reason)


def is_withdrawn(store_uri: str, name: str, version: str, tags: dict[str, str]) -> bool:
    """Whether ``version``'s tags hold a rollback's signed withdrawal (tags set by hand are none)."""
    for_, time, reason, signature = (tags.get(t, "") for t in WITHDRAWN_TAGS)
    return bool(signature) and signature_matches(store_key(store_uri), signature, "withdrawn", name, str(version), for_, time, reason)


def last_promoted(store_uri: str, name: str, model_tags: dict[str, str]) -> str | None:
    """The version the last passed promotion (or rollback) made champion, read from its signed record in the registered
    model's tags (``model_tags``); None when there is no record, no key here to verify it, or its signature does not match."""
    record, signature = model_tags.get(CHAMPION_TAG, ""), model_tags.get(CHAMPION_SIGNATURE_TAG)
    promoted, _, time = record.partition("|")
    if not signature:
        return None
    try:
        key = store_key(store_uri)
    except ArtifactIntegrityError:  # no key here to read it with: no record this process can verify
        return None
    return promoted if signature_matches(key, signature, "champion", name, promoted, time) else None


def _check_last_promotion(store_uri: str, name: str, version: str, model_tags: dict[str, str]) -> None:
    """Refuse ``champion`` at ``version`` unless the last passed promotion, signed, made ``version`` champion."""
    record, signature = model_tags.get(CHAMPION_TAG, ""), model_tags.get(CHAMPION_SIGNATURE_TAG)
    promoted, _, time = record.partition("|")
    fix = ("Promote it with the library (riskmodel promote; back to an earlier champion: riskmodel rollback), or, in "
           "an emergency, load it with allow_ungated=True or RISKMODEL_ALLOW_UNGATED=1 (recorded in the audit log).")
    if not signature_matches(store_key(store_uri), signature, "champion", name, promoted, time):
        raise ModelLoadError(f"`models:/{name}@{CHAMPION}` is version {version}, but no signed record says which version the last "
                             f"promotion made champion (registered-model tags {CHAMPION_TAG}, {CHAMPION_SIGNATURE_TAG} missing or "
                             f"changed by hand). {fix}")
    if promoted != str(version):
        raise ModelLoadError(f"`models:/{name}@{CHAMPION}` is version {version}, but the last promotion made version {promoted} "
                             f"champion: the alias was moved by hand. {fix}")


def check_champion(store_uri: str, name: str, version: str, tags: dict[str, str], *, allow_ungated: bool, uri: str,
                   model_tags: dict[str, str] | None = None) -> None:
    """:func:`check_gate` for the ``champion`` alias, with the emergency override recorded in the audit log.

    The version must also be the one the last passed promotion made champion (``model_tags``: the
    registered model's tags, read from the store when not given). The override is ``allow_ungated``
    or ``$RISKMODEL_ALLOW_UNGATED=1``; each use appends an ``ungated_load`` event naming ``uri`` and
    why the gate refused it.
    """
    try:
        check_gate(store_uri, name, version, tags, CHAMPION)
        if model_tags is None:
            from mlflow import MlflowClient

            model_tags = dict(MlflowClient().get_registered_model(name).tags or {})
        _check_last_promotion(store_uri, name, version, model_tags)
    except ModelLoadError as exc:
        override = "allow_ungated=True" if allow_ungated else f"${ALLOW_UNGATED_ENV}" if os.environ.get(ALLOW_UNGATED_ENV) == "1" else None
        if override is None:
            raise
        audit.append("ungated_load", model_name=name, model_version=version, uri=uri, override=override, refused_because=str(exc))
