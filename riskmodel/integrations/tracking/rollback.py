"""Rolling the champion back to an earlier one: the way back when a champion is found wrong in service.

A promotion judges a challenger against the champion, so it cannot put back a version that ranks below a champion
found leaky or unfair (the drop rule refuses it) and nothing else but a per-load override
(``allow_ungated``) could stop a bad champion serving. :func:`rollback` moves ``champion`` back to a version that a
passed, signed gate made champion before, with a written reason, under the promotion lease:

* the version put back must hold its signed "promoted" decision and its files must match their signed manifest;
* the registered model's signed champion record names it, so loads by ``@champion`` accept it;
* the version it replaces is *withdrawn*: signed version tags name the version put back, the time and the reason,
  and the window gate's lineage rule no longer counts it among the earlier champions a challenger must stay within
  the tolerance of (a withdrawn version might have ranked well for the reason it was withdrawn, a leak). A later
  passed gate making it champion again, or a rollback to it, removes the withdrawal;
* a risk model must have been trained and audited under the audit policy of ``config`` (default: the shipped
  ``risk.yaml``), as a promotion's challenger must: the way back does not bring in a model today's policy never judged.
  The Python call holds this guard itself, under the lease, so it is the same whether ``riskmodel rollback risk`` or a
  script calls it;
* the audit log records the event ``rollback`` with both versions and the reason.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from mlflow.exceptions import MlflowException

from riskmodel.core import audit
from riskmodel.core.config import SHIPPED_CONFIGS
from riskmodel.core.exceptions import ConfigError, ModelLoadError
from riskmodel.core.risk.config import RiskConfig, audit_policy_changes
from riskmodel.integrations.tracking import lease, registry, risk_pyfunc, signing
from riskmodel.integrations.tracking.risk import logged_config, policy_config

__all__ = ["rollback"]

#: A reason longer than this is cut in the tags (MLflow keeps tag values up to 5,000 characters).
MAX_REASON = 1000


def _check_reason(reason) -> str:
    """The reason, stripped, or a ConfigError (a ValueError) naming ``reason`` and the fix."""
    text = str(reason or "").strip()
    if not text:
        raise ConfigError("`reason` is blank: a rollback withdraws a champion from service and the store and audit log keep why; "
                         "say what was found (e.g. 'leak in the exit feed join', 'refers children too often').")
    if len(text) > MAX_REASON:
        raise ConfigError(f"`reason` has {len(text)} characters; keep it under {MAX_REASON} and put the details in the case file.")
    try:
        audit.check_purpose(text, "reason")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return text


def rollback(name: str, version: str | int, *, reason: str, config: str | Path | RiskConfig | None = None,
             lease_ttl: float = lease.DEFAULT_TTL, wait: float = lease.DEFAULT_WAIT) -> registry.Decision:
    """Make ``version`` of ``name`` champion again and withdraw the champion it replaces (see the module docstring).

    Parameters
    ----------
    name : str
        Registered model name (``overstay-risk``, ``arrival-forecast``).
    version : str or int
        An earlier champion: a version whose signed gate decision reads "promoted".
    reason : str
        Why, in words kept in the store and the audit log (no identifier: a run of 5 or more digits is refused).
    config : str, Path or RiskConfig, optional
        The risk config whose audit policy (the fairness section, audit attributes and their override, target, grace days)
        a risk model's version must have been trained and audited under; default the shipped ``risk.yaml``, as
        ``riskmodel rollback risk``'s ``--config``. To put back a version gated under another policy, knowingly, pass the
        config it was trained with (its run's ``config/risk.json``) and say why in ``reason``. Not read for a forecaster.
    lease_ttl, wait : float
        As for :func:`~riskmodel.integrations.tracking.registry.promote`.

    Returns
    -------
    Decision
        ``passed`` True, ``candidate`` the version put back, ``champion`` the version withdrawn.

    Raises
    ------
    ConfigError
        A ValueError: if ``reason`` is blank, too long or could name a person, or a risk model's ``version`` was trained
        and audited under another audit policy than ``config``'s, or logged none (nothing is moved).
    ModelLoadError
        If ``name`` has no such version, no champion, ``version`` is the champion already, or its gate decision is
        not a signed "promoted" one.
    ArtifactIntegrityError
        If ``version``'s files do not match their signed manifest (nothing is moved).
    PromotionBusyError
        If another promotion holds the lease for longer than ``wait``.
    """
    text = _check_reason(reason)
    version = str(version)
    client = registry.configure()
    with lease.promotion_lease(client, name, ttl=lease_ttl, wait=wait) as held:
        try:
            target = client.get_model_version(name, version)
        except MlflowException as exc:
            raise ModelLoadError(f"`{name}` has no version {version}: {exc.message}") from None
        current = registry.resolve_version(name, signing.CHAMPION, client)
        if current is None:
            raise ModelLoadError(f"`{name}` has no champion to roll back from; promote a version with `riskmodel promote`.")
        registry.check_signed_champion(client, name, str(current.version))  # a hand's pick is no champion to roll back from
        if str(current.version) == version:
            raise ModelLoadError(f"`{name}` version {version} is already the champion: nothing to roll back.")
        _check_earlier_champion(name, version, dict(target.tags or {}))
        with tempfile.TemporaryDirectory() as tmp:
            root = registry.verified_copy(f"models:/{name}/{version}", tmp)  # a tampered version is never put back
            is_risk = (root / "data" / risk_pyfunc.ARTIFACT).is_dir()
        if is_risk:  # under the lease: the check and the move see the same versions
            _check_audit_policy(name, version, config)
        when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        replaced = str(current.version)
        tags = dict(zip(signing.WITHDRAWN_TAGS[:3], (version, when, text[:MAX_REASON]), strict=True))
        tags[signing.WITHDRAWN_TAGS[3]] = signing.sign_withdrawal(registry.tracking_uri(), name, replaced, version, when, text)
        held.check()  # still ours: nothing is written otherwise
        registry.move_champion(client, name, signing.CHAMPION, version, when, mark_failed=False)
        for k, v in tags.items():
            client.set_model_version_tag(name, replaced, k, v)
        for tag in signing.WITHDRAWN_TAGS if any(t in (target.tags or {}) for t in signing.WITHDRAWN_TAGS) else ():
            client.delete_model_version_tag(name, version, tag)  # reinstated: no longer withdrawn
    audit.append("rollback", model_name=name, model_version=version, replaced_version=replaced, reason=text)
    return registry.Decision(True, (f"rolled back: version {version} is champion again, version {replaced} withdrawn: {text}",),
                             version, replaced)


def _check_earlier_champion(name: str, version: str, tags: dict[str, str]) -> None:
    """Refuse a version that no passed, signed gate made champion: a rollback only puts back what a gate let through."""
    if tags.get("gate.decision") != "promoted":
        got = tags.get("gate.decision")
        raise ModelLoadError(
            f"`{name}` version {version} has no passed, signed gate decision ({'none' if got is None else repr(got)}): no gate ever made "
            "it champion, so a rollback cannot put it back; promote it through the gate (`riskmodel promote`) instead.")
    try:
        signing.check_gate(registry.tracking_uri(), name, version, tags, signing.CHAMPION)
    except ModelLoadError:
        raise ModelLoadError(
            f"`{name}` version {version}'s gate decision is not signed by riskmodel (tag {signing.GATE_SIGNATURE_TAG} missing or "
            "wrong: set by hand): a rollback cannot put it back; promote it through the gate (`riskmodel promote`) instead.") from None


def _check_audit_policy(name: str, version: str, config: str | Path | RiskConfig | None) -> None:
    """Refuse a risk version trained and audited under another audit policy than ``config``'s (or none logged), as a
    promotion refuses such a challenger: a ConfigError naming each change and the fix."""
    changes = audit_policy_changes(logged_config(name, version=version), policy_config(config))
    if changes:
        said = "the RiskConfig given" if isinstance(config, RiskConfig) else f"`{SHIPPED_CONFIGS / 'risk.yaml' if config is None else config}`"
        raise ConfigError(f"version {version} of {name} was trained and audited under another audit "
                          f"policy than {said}: {'; '.join(changes)}. Nothing was moved. Put back a version gated under this "
                          f"policy, or, knowingly, pass as `config` (`riskmodel rollback risk --config`) the config version "
                          f"{version} was trained with (its run's config/risk.json) and say why in `reason`.")
