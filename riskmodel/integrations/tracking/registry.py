"""Generic MLflow registry helpers: tracking URI, content-hash manifests, register, promote, load.

Shared by every model of the library (risk and forecasting). Nothing here knows
what a model predicts:

* :func:`tracking_uri` / :func:`configure`: ``MLFLOW_TRACKING_URI`` if set,
  else ``sqlite:///mlflow.db`` in the working directory (MLflow 3's embedded
  default; the old ``./mlruns`` file store is refused by MLflow 3).
* :func:`use_experiment`: the active experiment, created (when new) with its artifact
  location under riskmodel's scheme (:mod:`~riskmodel.integrations.tracking.verified_store`),
  so that MLflow's own loaders get its models' files only verified.
* :func:`write_manifest` / :func:`verify_manifest`: a signed ``manifest.json``
  of SHA-256 digests of every file of a logged model, written when the model is
  logged and checked when it is loaded, with the store's key
  (:mod:`~riskmodel.integrations.tracking.signing`); any difference raises
  :class:`~riskmodel.core.exceptions.ArtifactIntegrityError`. The manifest's own
  digest is also stored as the model version tag ``manifest_sha256``; deleting
  that tag does not turn the check off.
* :func:`register`: set the alias ``challenger`` (by default) on a logged version.
* :func:`promote`: move ``champion`` to the challenger only when a gate passes,
  under a lease held in the tracking store (:mod:`.lease`), so promotions from
  any machine are serialised; :func:`promote_pinned` hands its gate the exact versions
  picked (:class:`Pinned`), for a gate that loads models or reads more than run metrics,
  and record the :class:`~riskmodel.core.gate.GateDecision` as model-version tags
  (``gate.decision``, ``gate.reasons``, ``gate.comparisons`` (JSON), ``gate.compared_with``,
  ``gate.time``, ``gate.lease``), whether or not it passed, the same way for every model kind, with
  ``gate.signature`` (HMAC over name, version, decision and time) so that a
  champion moved by hand is refused at load.
* :func:`download_model_folder`: fetch a model folder by ``models:/name@alias``,
  ``runs:/...`` or a local path, verified against its manifest;
  :func:`verified_model_files` returns the verified bytes of its files too, for
  loaders that must not read the folder a second time.

Registry *stages* are not used: MLflow 3 works with aliases.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from riskmodel.core import audit
from riskmodel.core.artifacts import MANIFEST, file_digest
from riskmodel.core.exceptions import ArtifactIntegrityError, ModelLoadError, ModelNotFoundError
from riskmodel.core.gate import Comparison
from riskmodel.integrations.tracking import lease, signing, verified_store

__all__ = [
    "DEFAULT_TRACKING_URI",
    "MANIFEST",
    "tracking_uri",
    "check_store_exists",
    "configure",
    "use_experiment",
    "file_digest",
    "write_manifest",
    "verify_manifest",
    "logged_identity",
    "check_identity",
    "register",
    "promote",
    "promote_pinned",
    "check_signed_champion",
    "Pinned",
    "Decision",
    "version_metrics",
    "resolve_version",
    "download_model_folder",
    "verified_model_files",
    "fetch_model",
    "model_version",
    "model_root",
    "LoggedModel",
]

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# model-version tag values are capped (5,000 characters in MLflow's SQL store); keep a margin
_TAG_LIMIT = 4900


@dataclass(frozen=True)
class LoggedModel:
    """Where a logged model went: ``run_id``, ``model_uri`` (``models:/name/version``), ``name``, ``version``."""

    run_id: str
    model_uri: str
    name: str
    version: str


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///mlflow.db`` (in the working directory)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def check_store_exists() -> None:
    """Refuse a look-up in a ``sqlite:///`` tracking store whose file does not exist.

    MLflow would create an empty store there (a service started in the wrong folder leaves an ``mlflow.db``
    behind) and answer "not found" for the model, naming neither the store nor the folder. Other stores
    (a tracking server, PostgreSQL) answer for themselves.

    Raises
    ------
    ModelNotFoundError
        Naming the store's URI, its file and the fix.
    """
    uri = tracking_uri()
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///"):].split("?", 1)[0])
    if path.exists():
        return
    where = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "the default without MLFLOW_TRACKING_URI"
    raise ModelNotFoundError(
        f"no MLflow store: `{uri}` is {path.absolute()}, which does not exist ({where}), so no model is registered there. "
        "Fix: set MLFLOW_TRACKING_URI to the store the models were logged to, or run from the folder holding its mlflow.db."
    )


def configure() -> MlflowClient:
    """Point MLflow at :func:`tracking_uri` (also for the registry) and return a client."""
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def use_experiment(name: str) -> str:
    """Make ``name`` the active experiment (as ``mlflow.set_experiment``); return its id.

    A new experiment is created with its artifact location under riskmodel's scheme
    (:mod:`~riskmodel.integrations.tracking.verified_store`), beside where MLflow would
    have put it, so that MLflow's own loaders get its models' files only verified. An
    existing experiment keeps its location (riskmodel's own loaders verify its models).
    """
    client = configure()
    if client.get_experiment_by_name(name) is None:
        location = None
        try:
            location = verified_store.experiment_location(client.get_experiment("0").artifact_location)
        except MlflowException:
            pass  # no default experiment to take the store's artifact root from
        if location is None:
            logging.getLogger(__name__).warning(
                "experiment %r gets MLflow's own artifact location: the store's artifact root could not be told or has no "
                "riskmodel scheme, so MLflow's own loaders will not verify its models (riskmodel's loaders still do)", name)
        try:
            client.create_experiment(name, artifact_location=location)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":  # another process created it meanwhile: use that one
                raise
    return mlflow.set_experiment(name).experiment_id


def write_manifest(folder: str | Path) -> str:
    """Write the signed manifest of a model folder with the key of the current store; return its digest."""
    return signing.sign_folder(folder, tracking_uri())


def verify_manifest(folder: str | Path, *, expected_digest: str | None = None, read: tuple[str, ...] = (),
                    identity: dict[str, str] | None = None, uri: str = "") -> dict[str, bytes]:
    """Verify a model folder's signed manifest with the key of the current store (see :func:`write_manifest`); return the
    checked bytes of the files named in ``read``, for the caller to parse instead of reading them again.

    ``identity`` (:func:`logged_identity` of the ``uri`` it was fetched by): the run and logged model its signed ``MLmodel``
    must name (:func:`check_identity`); another model signed with the same key, copied over this one, is refused.
    """
    wanted = (*read, "MLmodel") if identity else read
    data = signing.verify_folder(folder, tracking_uri(), expected_digest=expected_digest, read=wanted)
    if identity:
        check_identity(data.get("MLmodel"), identity, uri=uri, where=folder)
        if "MLmodel" not in read:
            data.pop("MLmodel", None)
    return data


_LOGGED_MODEL_ID = re.compile(r"(?:^models:/|/models/)(m-[0-9a-f]+)(?:/|$)")


def logged_identity(uri: str | Path) -> dict[str, str]:
    """What ``uri`` names of a logged model, as its signed ``MLmodel`` records it: ``run_id`` and/or ``model_id``.

    ``runs:/<run>/...`` names the run; ``models:/m-<id>`` the logged model; ``models:/<name>/<version>`` (or ``@alias``)
    the version's run and the logged model it was registered from. {} for a local folder (nothing named).
    """
    text = str(uri)
    if text.startswith("runs:"):
        return {"run_id": text[len("runs:"):].strip("/").split("/", 1)[0]}
    if not text.startswith("models:/"):
        return {}
    mv = model_version(text)
    if mv is None:
        return {"model_id": text[len("models:/"):].split("/", 1)[0]}
    ids = {"run_id": str(mv.run_id)} if mv.run_id else {}
    found = _LOGGED_MODEL_ID.search(str(mv.source or ""))
    if found is not None:
        ids["model_id"] = found.group(1)
    return ids


def check_identity(mlmodel: bytes | None, identity: dict[str, str], *, uri: str, where: str | Path) -> None:
    """Refuse a verified ``MLmodel`` whose ``run_id``/``model_id`` are not those of ``identity``.

    Every model riskmodel logs is signed with the store's one key, so the signature alone cannot tell one of them from
    another: version 2's folder copied over version 1's passes it. ``MLmodel``, signed with the rest, names its run and
    logged model.

    Raises
    ------
    ArtifactIntegrityError
        Naming what the folder holds and what ``uri`` names.
    """
    try:
        doc = yaml.safe_load(mlmodel.decode("utf-8")) if mlmodel is not None else None
    except (yaml.YAMLError, UnicodeDecodeError):
        doc = None
    doc = doc if isinstance(doc, dict) else {}
    if all(str(doc.get(k)) == str(v) for k, v in identity.items()):
        return
    named = ", ".join(f"{k} {v}" for k, v in identity.items())
    raise ArtifactIntegrityError(
        f"`{where}` holds the logged model {doc.get('model_id')} of run {doc.get('run_id')}, not the one `{uri}` names "
        f"({named}): another model signed with the store's key was copied over it in the artifact store. Do not use it; "
        "restore the store's copy or log the model again."
    )


# ----------------------------------------------------------------------------- registry


def resolve_version(name: str, alias: str, client: MlflowClient | None = None):
    """The model version behind ``name@alias``, or None when the alias is not set."""
    client = client or configure()
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def register(name: str, version: str | int, *, alias: str = "challenger", tags: dict[str, str] | None = None) -> None:
    """Point ``alias`` of registered model ``name`` at ``version`` and set version ``tags``."""
    client = configure()
    client.set_registered_model_alias(name, alias, str(version))
    for k, v in (tags or {}).items():
        client.set_model_version_tag(name, str(version), k, str(v))


def version_metrics(name: str, version: str | int, client: MlflowClient | None = None) -> dict[str, float]:
    """Metrics of the run that produced a model version."""
    client = client or configure()
    mv = client.get_model_version(name, str(version))
    if not mv.run_id:
        return {}
    return dict(client.get_run(mv.run_id).data.metrics)


@dataclass(frozen=True)
class Decision:
    """A promotion record: the gate's ``passed``, ``reasons`` and ``comparisons``, and the versions involved."""

    passed: bool
    reasons: tuple[str, ...]
    candidate: str
    champion: str | None
    comparisons: tuple[Comparison, ...] = ()


@dataclass(frozen=True)
class Pinned:
    """A version the promotion picked, for its gate: ``name``, ``version``, its run's ``metrics`` and its version ``tags``.

    Read what the gate judges through :attr:`uri` (``models:/<name>/<version>``), never through an alias: a trainer
    registering a new ``challenger`` does not take the promotion lease, so the alias may move while the gate runs.
    """

    name: str
    version: str
    metrics: dict[str, float]
    tags: dict[str, str]

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``: this version, whatever the aliases point at by now."""
        return f"models:/{self.name}/{self.version}"


def promote(
    name: str,
    decide: Callable[[dict[str, float], dict[str, float] | None], object],
    *,
    candidate_alias: str = "challenger",
    champion_alias: str = "champion",
    version: str | int | None = None,
    lease_ttl: float = lease.DEFAULT_TTL,
    wait: float = lease.DEFAULT_WAIT,
) -> Decision:
    """Move ``champion`` to the ``challenger`` version only if ``decide`` passes; tag the decision.

    Promotions of one model are serialised by a lease in the tracking store
    itself (:mod:`~riskmodel.integrations.tracking.lease`: the registered model
    ``<name>.promotion-lease``, created to acquire and deleted to release; the
    store's unique names make that atomic), so they are serialised across
    machines, temp folders and spellings of the store's URI alike. Inside the
    lease the champion is read afresh: a promotion that waited compares its
    candidate with the champion the other may just have set. Every decision is
    recorded on its version, with the champion it was compared with
    (``gate.compared_with``) and the lease it was taken under (``gate.lease``),
    and appended to the audit log (event ``promotion``).

    The lease does not stop a trainer from registering a new ``challenger``
    meanwhile: ``decide`` gets the metrics of the versions picked; a gate that
    reads anything else (a model to score, a run's lineage) must use
    :func:`promote_pinned`, which names those versions.

    Parameters
    ----------
    name : str
        Registered model name.
    decide : callable
        ``decide(candidate_metrics, champion_metrics_or_None)`` returning a
        :class:`~riskmodel.core.gate.GateDecision` (any object with ``passed`` and
        ``reasons``, and optionally ``comparisons``), e.g.
        :func:`riskmodel.core.risk.gate.evaluate_gate` or
        :func:`riskmodel.core.forecasting.gate.forecast_gate` with its config bound.
    candidate_alias, champion_alias : str, default="challenger", "champion"
    version : str or int, optional
        Promote this version instead of the one behind ``candidate_alias`` (a
        trainer promoting the version it just registered).
    lease_ttl : float, default=300
        Seconds after which a lease whose holder has not released it counts as
        stale (its holder crashed) and a waiting promotion breaks it.
    wait : float, default=900
        Seconds to wait for another promotion's lease before giving up.

    Returns
    -------
    Decision

    Raises
    ------
    ModelLoadError
        If ``name@candidate_alias`` does not exist.
    PromotionBusyError
        If another promotion holds the lease for longer than ``wait``, or this
        one outlived its ``lease_ttl`` (then no alias was moved).
    """
    def judge(candidate: Pinned, champion: Pinned | None):
        return decide(candidate.metrics, None if champion is None else champion.metrics)

    return promote_pinned(name, judge, aliases=(candidate_alias, champion_alias), version=version, lease_ttl=lease_ttl, wait=wait)


def promote_pinned(
    name: str,
    judge: Callable[[Pinned, Pinned | None], object],
    *,
    aliases: tuple[str, str] = ("challenger", "champion"),
    version: str | int | None = None,
    lease_ttl: float = lease.DEFAULT_TTL,
    wait: float = lease.DEFAULT_WAIT,
) -> Decision:
    """:func:`promote` with a gate that is told the exact versions picked, under the lease.

    ``judge(candidate, champion_or_None)`` gets each as a :class:`Pinned` (version number, run
    metrics, version tags, ``models:/<name>/<version>`` URI) and returns the decision; the version
    it judges is the version promoted, whatever ``@challenger`` points at by the time it loads it.

    Parameters
    ----------
    name : str
        Registered model name.
    judge : callable
        ``judge(candidate, champion_or_None)`` returning a :class:`~riskmodel.core.gate.GateDecision`.
    aliases : tuple of str, default=("challenger", "champion")
        The candidate's alias (unless ``version`` is given) and the champion's.
    version, lease_ttl, wait
        As for :func:`promote`.

    Returns
    -------
    Decision

    Raises
    ------
    ModelLoadError, PromotionBusyError
        As for :func:`promote`.
    """
    lease.check_settings(lease_ttl, wait)
    client = configure()
    with lease.promotion_lease(client, name, ttl=lease_ttl, wait=wait) as held:
        return _promote_locked(client, name, judge, aliases, version, held)


def _pinned(client, name: str, mv) -> Pinned:
    return Pinned(name, str(mv.version), version_metrics(name, mv.version, client), dict(mv.tags or {}))


def _promote_locked(client, name, judge, aliases, version, held: lease.Lease) -> Decision:
    candidate_alias, champion_alias = aliases
    if version is not None:
        try:
            cand = client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise ModelLoadError(f"`{name}` has no version {version}: {exc.message}") from None
    else:
        cand = resolve_version(name, candidate_alias, client)
    if cand is None:
        raise ModelLoadError(f"no version of `{name}` has alias `{candidate_alias}`; train and register a model first.")
    champ = resolve_version(name, champion_alias, client)
    if champ is not None and champion_alias == signing.CHAMPION:
        check_signed_champion(client, name, str(champ.version))  # else "already champion", or judged against a hand's pick
    if champ is not None and champ.version == cand.version:
        return Decision(True, (f"version {cand.version} is already {champion_alias}",), str(cand.version), str(champ.version))
    champion = _pinned(client, name, champ) if champ is not None else None
    result = judge(_pinned(client, name, cand), champion)
    passed = bool(result.passed)
    reasons = tuple(str(r) for r in result.reasons)
    comparisons = tuple(getattr(result, "comparisons", ()))
    tags = {
        "gate.decision": "promoted" if passed else "refused",
        "gate.reasons": "\n".join(reasons)[:4900],
        "gate.comparisons": _comparisons_tag(comparisons),
        "gate.compared_with": str(champ.version) if champ is not None else "none",
        "gate.time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "gate.lease": held.token,
    }
    tags[signing.GATE_SIGNATURE_TAG] = signing.sign_gate(tracking_uri(), name, str(cand.version), tags["gate.decision"], tags["gate.time"])
    held.check()  # still ours, with time to spare: nothing is written otherwise
    for k, v in tags.items():
        client.set_model_version_tag(name, cand.version, k, v)
    if passed:
        move_champion(client, name, champion_alias, str(cand.version), tags["gate.time"])
        for tag in signing.WITHDRAWN_TAGS if any(t in (cand.tags or {}) for t in signing.WITHDRAWN_TAGS) else ():
            client.delete_model_version_tag(name, str(cand.version), tag)  # a passed gate made it champion again
    audit.append("promotion", model_name=name, model_version=str(cand.version), decision=tags["gate.decision"],
                 compared_with=tags["gate.compared_with"], lease=held.token)
    return Decision(passed, reasons, str(cand.version), str(champ.version) if champ is not None else None, comparisons)


def check_signed_champion(client, name: str, version: str) -> None:
    """Refuse to promote or roll back past ``champion`` at ``version`` unless the signed record of the last promotion names it.

    An alias moved by hand (the MLflow UI) serves nothing (every load refuses it), yet a gate would judge its challenger
    against that version, or call a challenger it was moved onto "already champion" and sign nothing, and a rollback to
    the version it was moved onto would find nothing to roll back.

    Only a record this process can verify is read: without one nothing is refused here (see the comment below).

    Raises
    ------
    ModelLoadError
        Naming the version the last promotion made champion and the fix: put the alias back on it.
    """
    promoted = signing.last_promoted(tracking_uri(), name, dict(client.get_registered_model(name).tags or {}))
    # no record this process can verify (none written, or another key: a store reached by another URI spelling): left to
    # the loads, which refuse such a champion, and to the window gate, which refuses it too (check_pinned_champion)
    if promoted is None or promoted == str(version):
        return
    raise ModelLoadError(f"the alias `champion` of {name} is version {version}, but the last promotion made version {promoted} champion: "
                         f"the alias was moved by hand (every load of it refuses it), and no gate judges against a champion no "
                         f"gate made. Nothing was moved. To judge or roll back, first put `champion` back on version {promoted} "
                         "in MLflow (`MlflowClient().set_registered_model_alias`); to put an earlier champion back, use "
                         "`riskmodel rollback` after that.")


def move_champion(client, name: str, alias: str, version: str, when: str, *, mark_failed: bool = True) -> None:
    """Sign which version the passed promotion makes champion, then move the alias; undone when a write fails.

    Only a passed gate (``promote``) and a governed rollback (``rollback.rollback``, which first checks a gate
    passed the version) call it, each under the promotion lease: it judges nothing itself.

    The signed record is written first (a load between the two writes refuses one call, never serves an
    unsigned champion). A store that fails on either write would otherwise leave the record naming the new
    version and the alias on the old one: every load of the champion still serving refused as "moved by hand".
    The record is put back (best effort: the store may still be down) and the version's decision reads
    ``failed`` (unless not ``mark_failed``: a rollback's version keeps the decision of the gate that passed it), then
    the error is raised.
    """
    before = dict(client.get_registered_model(name).tags or {})
    try:
        if alias == signing.CHAMPION:  # which version the last passed promotion made champion, signed
            client.set_registered_model_tag(name, signing.CHAMPION_TAG, f"{version}|{when}")
            client.set_registered_model_tag(name, signing.CHAMPION_SIGNATURE_TAG, signing.sign_champion(tracking_uri(), name, version, when))
        client.set_registered_model_alias(name, alias, version)
    except Exception:
        for tag in (signing.CHAMPION_TAG, signing.CHAMPION_SIGNATURE_TAG) if alias == signing.CHAMPION else ():
            with contextlib.suppress(Exception):
                if tag in before:
                    client.set_registered_model_tag(name, tag, before[tag])
                else:
                    client.delete_registered_model_tag(name, tag)
        with contextlib.suppress(Exception):  # "promoted" on a version that is not champion would be untrue
            if mark_failed:
                client.set_model_version_tag(name, version, "gate.decision", "failed")
        raise


def _comparisons_tag(comparisons: tuple[Comparison, ...]) -> str:
    """The comparisons as a JSON list, within the registry's tag length (a cut list would not parse)."""
    items = [c.as_dict() for c in comparisons]
    text = json.dumps(items, separators=(",", ":"))
    while len(text) > _TAG_LIMIT:  # drop whole comparisons from the end; gate.reasons still lists every rule
        items.pop()
        text = json.dumps(items, separators=(",", ":"))
    return text


def model_version(uri: str, client: MlflowClient | None = None):
    """The registered version a ``models:/`` URI names, or None for a logged-model id (``models:/m-<id>``).

    Accepted: ``models:/<name>/<version>``, ``models:/<name>@<alias>`` and ``models:/m-<id>``.

    Raises
    ------
    ModelNotFoundError
        If the registry answers that the model, version or alias does not exist.
    ModelLoadError
        If the URI has another form (a registry stage, ``latest``, no version), or the store gives no answer.
    """
    rest = uri[len("models:/"):] if uri.startswith("models:/") else ""
    forms = "models:/<name>/<version>, models:/<name>@<alias> or models:/m-<logged model id>"
    if not rest or rest.startswith("/") or rest.endswith("/"):
        raise ModelLoadError(f"`{uri}` is not a model URI this library loads; expected {forms}.")
    if "@" not in rest and "/" not in rest:
        if rest.startswith("m-"):
            return None
        raise ModelLoadError(f"`{uri}` names no version; expected {forms}.")
    client = client or configure()
    try:
        if "@" in rest:
            mname, alias = rest.split("@", 1)
            return client.get_model_version_by_alias(mname, alias)
        mname, version = rest.rsplit("/", 1)
        if not version.isdigit():
            raise ModelLoadError(f"`{uri}`: version `{version}` is not a number (registry stages and `latest` are not used); expected {forms}.")
        return client.get_model_version(mname, version)
    except MlflowException as exc:
        # the registry's own answer ("alias champion not found" is INVALID_PARAMETER_VALUE), not a store out of reach
        answered = exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
        if not answered:
            raise ModelLoadError(f"cannot resolve `{uri}`: {exc.message}") from None
        raise ModelNotFoundError(f"cannot resolve `{uri}`: {exc.message}. {_what_the_store_holds(client, mname)}") from None


def _what_the_store_holds(client: MlflowClient, asked: str) -> str:
    """The registered models of the store with their aliases, and the fix: for a URI the registry does not know."""
    try:
        models = [m for m in client.search_registered_models(max_results=50) if not m.name.endswith(".promotion-lease")
                  and ".promotion-lease.broken-" not in m.name]
    except MlflowException:
        models = []
    held = ", ".join(f"{m.name} ({', '.join('@' + a for a in sorted(m.aliases or {})) or 'no alias'})"
                     for m in sorted(models, key=lambda m: m.name)[:10])
    return (f"In {tracking_uri()} the store holds {held or 'no registered model'}"
            f"{' and more' if len(models) > 10 else ''}. Fix: name one of them, or train and promote `{asked}` first "
            "(`riskmodel train`, then `riskmodel promote`; `riskmodel run` registers overstay-risk, arrival-forecast-daily and "
            "arrival-forecast-daily-nationality), or set MLFLOW_TRACKING_URI to the store that holds it.")


def fetch_model(uri: str | Path, dst: str | Path | None = None) -> tuple[Path, str | None]:
    """Local copy of a logged model (unverified) and the manifest digest its registered version recorded.

    Callers verify the model folder they read with
    :func:`verify_manifest` (the digest is checked when the tag is there; the
    signature always), as :func:`download_model_folder` does.
    """
    expected = None
    local = Path(str(uri)) if not str(uri).startswith(("models:", "runs:", "mlflow-artifacts:", "s3:", "gs:", "http")) else None
    if local is None:
        client = configure()
        uri = str(uri)
        if uri.startswith("models:"):
            mv = model_version(uri, client)
            expected = mv.tags.get("manifest_sha256") if mv is not None else None
        verified_store.take_refusal()
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=None if dst is None else str(dst)))
            refusal = verified_store.take_refusal()  # runs:/ delivers the refused model's stub rather than the error
            if refusal is not None:
                raise refusal
        except (MlflowException, OSError) as exc:
            refusal = verified_store.take_refusal()  # runs:/ turns the store's refusal into "failed to download"
            if refusal is not None:
                raise refusal from None
            raise ModelLoadError(f"cannot download `{uri}`: {exc}") from None
    if not local.exists():
        raise ModelLoadError(f"`{local}` does not exist; pass a model URI (models:/name@alias) or a local model folder.")
    return local, expected


def model_root(folder: Path) -> Path | None:
    """The logged model folder (holding ``MLmodel``) that ``folder`` is, or lies in (``data/<artifact>``); else None."""
    for candidate in (folder, folder.parent, folder.parent.parent):
        if (candidate / "MLmodel").is_file():
            return candidate
    return None


def verified_copy(uri: str | Path, dst: str | Path | None = None) -> Path:
    """A local copy of a logged model, every file checked against its signed manifest; returns its root.

    What a server should read: a copy verified once cannot be changed in the
    store between the check and the load, as a second download by URI could.
    """
    local, expected = fetch_model(uri, dst)
    root = model_root(local) or local
    if dst is not None and Path(dst).resolve() not in (root.resolve(), *root.resolve().parents):
        # a local folder is not downloaded: copy it, so that what is verified is what is read
        root = Path(shutil.copytree(root, Path(dst) / root.name, symlinks=False))
    verify_manifest(root, expected_digest=expected, identity=logged_identity(uri), uri=str(uri))
    return root


def verified_model_files(uri: str | Path, artifact: str, names: tuple[str, ...], dst: str | Path | None = None) -> tuple[Path, dict[str, bytes]]:
    """The folder ``artifact`` of a logged model and the bytes of its files ``names`` that the check of its signed manifest read.

    Build the model from these bytes (``RiskModel.from_files``, ``Forecaster.from_files``): read again from the
    folder after the check, a file rewritten in between would be used unsigned.

    Parameters
    ----------
    uri : str or Path
        As for :func:`download_model_folder`.
    artifact : str
        Name of the model's folder under ``data/`` (``risk_model`` or ``forecaster``).
    names : tuple of str
        The files of that folder to return, by name (one the manifest does not list is left out).
    dst : str or Path, optional
        Where to download; default a temporary folder.

    Returns
    -------
    tuple of Path and dict of str to bytes
        The folder (for messages), and the verified bytes of each file of ``names`` by name.

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved or downloaded, or holds no ``data/<artifact>`` folder.
    ArtifactIntegrityError
        If the model has no signed manifest, or any of its files differs from it.
    """
    local, expected = fetch_model(uri, dst)
    root = model_root(local) or local
    paths = {f"data/{artifact}/{name}": name for name in names}
    files = verify_manifest(root, expected_digest=expected, read=tuple(paths), identity=logged_identity(uri), uri=str(uri))
    folder = root / "data" / artifact
    if not folder.is_dir():
        raise ModelLoadError(f"`{uri}` holds no `{artifact}` model (no data/{artifact} folder); pass a model logged by riskmodel.")
    return folder, {paths[path]: data for path, data in files.items()}


def download_model_folder(uri: str | Path, artifact: str, dst: str | Path | None = None) -> Path:
    """Local, signature-verified folder ``artifact`` of a logged model.

    Parameters
    ----------
    uri : str or Path
        ``models:/name@alias``, ``models:/name/version``, ``models:/m-<id>``, ``runs:/run_id/model``
        or a local copy of a logged model (its root, or its ``data/<artifact>`` folder).
    artifact : str
        Name of the model's folder under ``data/`` (``risk_model`` or ``forecaster``).
    dst : str or Path, optional
        Where to download; default a temporary folder.

    Returns
    -------
    Path

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved or downloaded.
    ArtifactIntegrityError
        If the model has no signed manifest, or any of its files differs from it.
    """
    root = verified_copy(uri, dst)
    folder = root / "data" / artifact
    if not folder.is_dir():
        raise ModelLoadError(f"`{uri}` holds no `{artifact}` model (no data/{artifact} folder); pass a model logged by riskmodel.")
    return folder
