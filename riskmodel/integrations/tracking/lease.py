"""A promotion lease that lives in the MLflow tracking store itself.

Two promotions of one model must not interleave: each must compare its
candidate with the champion as it is when it moves the alias, or the worse
model can end as champion. A lock on the promoting machine (a file under
``$TMPDIR``) does not serialise two machines, two temp folders or two
spellings of one store's URI. What every store MLflow supports (a local
sqlite file, a team ``mlflow server`` over HTTP, a PostgreSQL or MySQL
backend) does give atomically is a unique name: creating a registered model
whose name exists fails with ``RESOURCE_ALREADY_EXISTS`` (a unique constraint
in the store's database). So the lease is a registered model:

* **acquire**: create ``<name>.promotion-lease`` (``<name>_promotion_lease``
  for a Unity Catalog name, see :func:`lease_name`) with a random holder token
  (and, for people, the holder's host, process and time) in its tags, in the
  same request. Whoever's token the lease then carries holds it; everyone else
  polls until it is gone. A create that failed for another reason (a dropped
  connection, a busy sqlite file) is judged by the same read, so a lease
  created by a request whose answer was lost is not leaked.
* **release**: delete the lease.
* **stale lease** (its holder crashed): a waiter that has seen the same holder
  token for ``ttl`` seconds of its own monotonic clock breaks it by renaming
  the lease to ``<name>.promotion-lease.broken-<token>`` (:func:`broken_name`). The rename is itself
  the atomic step: that name can be taken once, so of several waiters that saw
  the same stale lease exactly one breaks it, and a slow one cannot rename the
  next holder's lease by mistake (its target name is taken). The broken lease
  is kept in the registry as the record of the crash (delete it by hand once
  read; it only ever exists after a crash).
* **holder safety**: ages are measured on monotonic clocks, never compared
  across machines, so clock skew does not matter. The holder starts its clock
  before asking for the lease and a waiter only after first seeing it, so a
  waiter can break a lease only after its holder's clock passed ``ttl``. The
  holder re-reads the lease and checks that it has at least
  ``ttl * SAFETY`` seconds left before it writes anything, and refuses (moving
  no alias) otherwise; raise ``ttl`` if promotions are that slow.

A lease held by a crashed process also shows in the MLflow UI under that
name; deleting it by hand releases it at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import secrets
import socket
import time
import warnings
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from riskmodel.core.exceptions import ConfigError, PromotionBusyError, RiskModelWarning

__all__ = ["LEASE_SUFFIX", "UC_LEASE_SUFFIX", "DEFAULT_TTL", "DEFAULT_WAIT", "lease_name", "broken_name", "Lease", "promotion_lease"]

LEASE_SUFFIX = ".promotion-lease"
DEFAULT_TTL = 300.0  # a promotion is a handful of registry calls; a lease this old has a dead holder
DEFAULT_WAIT = 900.0
#: the holder writes only while at least this share of ``ttl`` is left
SAFETY = 0.25
_POLL = (0.1, 0.5)
_TOKEN_TAG = "lease.token"


#: the lease's suffix for a Unity Catalog model (``catalog.schema.model``), whose own name may hold no period
UC_LEASE_SUFFIX = "_promotion_lease"


def _unity_catalog(name: str) -> bool:
    """True for a Unity Catalog model name: three parts, ``catalog.schema.model`` (MLflow's registry has no such rule)."""
    return name.count(".") == 2 and all(name.split("."))


def lease_name(name: str) -> str:
    """The registered-model name of the promotion lease of model ``name``.

    ``<name>.promotion-lease`` in MLflow's own registry (the name leases have
    always had there, so a store shared with an older riskmodel keeps one lease
    per model). A Unity Catalog name (``catalog.schema.model``) cannot take a
    fourth part: its lease is ``catalog.schema.model_promotion_lease``, in the
    same schema, whose last part holds only letters, digits and underscores
    (Unity Catalog refuses a period, a space, a slash or a control character in
    it, and stores it lowercase).
    """
    return name + UC_LEASE_SUFFIX if _unity_catalog(name) else name + LEASE_SUFFIX


def broken_name(name: str, token: str) -> str:
    """The name a broken lease ``name`` is renamed to: valid wherever ``name`` is (see :func:`lease_name`)."""
    return f"{name}_broken_{token}" if name.endswith(UC_LEASE_SUFFIX) and _unity_catalog(name) else f"{name}.broken-{token}"


@dataclass
class Lease:
    """A held lease: its registered-model ``name``, holder ``token``, ``ttl`` and the holder's monotonic start."""

    client: MlflowClient
    name: str
    token: str
    ttl: float
    started: float

    def left(self) -> float:
        """Seconds before a waiter may break this lease."""
        return self.ttl - (time.monotonic() - self.started)

    def check(self) -> None:
        """Refuse to go on unless this lease is still ours with a safe share of its time left.

        Raises
        ------
        PromotionBusyError
            If the lease was broken or taken, or too little of its time is left.
        """
        holder = _holder(self.client, self.name)
        if holder != self.token:
            raise PromotionBusyError(
                f"the promotion lease `{self.name}` is no longer held by this promotion (its holder is now "
                f"{holder or 'nobody'}): it took longer than lease_ttl={self.ttl:g} s and a waiting promotion broke it. "
                f"Nothing was moved; rerun the promotion, with a larger lease_ttl if it is slow."
            )
        if self.left() < self.ttl * SAFETY:
            raise PromotionBusyError(
                f"the promotion lease `{self.name}` has {max(self.left(), 0):.1f} s of lease_ttl={self.ttl:g} s left, too "
                f"little to move the alias safely. Nothing was moved; rerun the promotion with a larger lease_ttl."
            )

    def release(self) -> None:
        """Delete the lease if it is still ours (a lease past its safe time is broken instead, as a waiter would)."""
        try:
            if _holder(self.client, self.name) != self.token:
                return
            if self.left() >= self.ttl * SAFETY:
                self.client.delete_registered_model(self.name)
            else:
                _break(self.client, self.name, self.token, by="its own holder, after its lease_ttl")
        except MlflowException as exc:
            warnings.warn(
                f"could not release the promotion lease `{self.name}` ({exc.message}); the next promotion breaks it "
                f"after lease_ttl={self.ttl:g} s, or delete that registered model by hand.",
                RiskModelWarning,
                stacklevel=3,
            )


def _read(client: MlflowClient, name: str) -> dict[str, str] | None:
    """The lease's tags, or None when there is no lease."""
    try:
        return dict(client.get_registered_model(name).tags)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise


def _holder(client: MlflowClient, name: str) -> str | None:
    """The token of the lease's holder ("" for a lease made by hand), or None when there is no lease."""
    tags = _read(client, name)
    return None if tags is None else tags.get(_TOKEN_TAG, "")


def _stale_after(tags: dict[str, str], ttl: float) -> float:
    """Seconds after which a lease counts as stale: this promotion's ``ttl``, or the longer one its holder asked for."""
    try:
        return max(ttl, float(tags.get("lease.ttl_seconds", "0")))
    except ValueError:
        return ttl


def _break(client: MlflowClient, name: str, token: str, *, by: str) -> bool:
    """Rename the lease held by ``token`` out of the way; True if this call did it."""
    if _holder(client, name) != token:
        return False
    tomb = broken_name(name, token)
    try:
        client.rename_registered_model(name, tomb)
    except MlflowException:  # another waiter broke it first, or it was released meanwhile
        return False
    with contextlib.suppress(MlflowException):
        client.set_registered_model_tag(tomb, "lease.broken_by", f"{by} on {socket.gethostname()} pid {os.getpid()}")
        client.set_registered_model_tag(tomb, "lease.broken_time", _now())
    return True


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _try_create(client: MlflowClient, name: str, token: str, ttl: float, purpose: str) -> None:
    tags = {
        _TOKEN_TAG: token,
        "lease.holder": f"{socket.gethostname()} pid {os.getpid()}",
        "lease.acquired": _now(),
        "lease.ttl_seconds": f"{ttl:g}",
    }
    description = (
        f"Held by riskmodel while it {purpose}. Deleted when that ends; if its holder crashed, the next promotion "
        f"breaks it after {ttl:g} s, or delete this registered model by hand."
    )
    # any failure (name taken, busy store, lost answer) is judged by reading the lease afterwards
    with contextlib.suppress(MlflowException):
        client.create_registered_model(name, tags=tags, description=description)


def acquire(client: MlflowClient, model: str, *, ttl: float = DEFAULT_TTL, wait: float = DEFAULT_WAIT, purpose: str = "promotes a model") -> Lease:
    """Take the promotion lease of ``model``, waiting up to ``wait`` seconds; break a lease stale for ``ttl``.

    Raises
    ------
    PromotionBusyError
        If another promotion still holds the lease after ``wait`` seconds.
    """
    name, token = lease_name(model), secrets.token_hex(8)
    waited_from = time.monotonic()
    seen: tuple[str, float] | None = None  # the other holder's token and when this waiter first saw it
    while True:
        started = time.monotonic()
        _try_create(client, name, token, ttl, purpose)
        try:
            tags = _read(client, name)
        except MlflowException:  # a busy or unreachable store: ask again until `wait` runs out, never break on it
            tags, seen = {_TOKEN_TAG: "unknown (the store did not answer)"}, None
        holder = None if tags is None else tags.get(_TOKEN_TAG, "")
        if holder == token:
            return Lease(client, name, token, ttl, started)
        now = time.monotonic()
        if tags is not None and not holder.startswith("unknown"):
            seen = _watch(client, name, holder, seen, now, _stale_after(tags, ttl))
            if seen is None:  # broken just now: try to take it at once
                continue
        if now - waited_from >= wait:
            raise PromotionBusyError(
                f"another promotion of `{model}` has held the lease `{name}` for over {wait:g} s (holder token {holder}); "
                f"try again later. If its holder crashed, the lease is broken after lease_ttl={ttl:g} s, or delete "
                f"the registered model `{name}` by hand."
            )
        time.sleep(random.uniform(*_POLL))


def _watch(client: MlflowClient, name: str, holder: str, seen: tuple[str, float] | None, now: float, stale: float):
    """Track how long ``holder`` has held the lease as this waiter saw it; break it once ``stale``; None after a break."""
    if seen is None or seen[0] != holder:
        return (holder, now)
    if now - seen[1] < stale:
        return seen
    with contextlib.suppress(MlflowException):  # a store that fails now: the next round reads it again
        _break(client, name, holder, by=f"a promotion that saw it unchanged for {stale:g} s")
    return None


def check_settings(ttl: float, wait: float) -> None:
    """Refuse a ``lease_ttl`` that is not > 0 or a ``wait`` that is not >= 0 (NaN included)."""
    if not ttl > 0 or not wait >= 0:
        raise ConfigError(f"`lease_ttl` must be > 0 and `wait` >= 0 seconds; got lease_ttl={ttl!r}, wait={wait!r}.")


@contextlib.contextmanager
def promotion_lease(client: MlflowClient, model: str, *, ttl: float = DEFAULT_TTL, wait: float = DEFAULT_WAIT):
    """Hold the promotion lease of ``model`` for the ``with`` block (see the module docstring)."""
    check_settings(ttl, wait)
    lease = acquire(client, model, ttl=ttl, wait=wait)
    try:
        yield lease
    finally:
        lease.release()
