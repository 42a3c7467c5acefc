"""The public entry points that take a model by URI: ``load``, ``score``, ``forecast`` and their batch and Spark forms.

The core scores and forecasts with a model already in memory (or a local folder);
this module is where a model *reference* (``models:/overstay-risk@champion``,
``models:/name/3``, ``runs:/<run_id>/model`` or a folder logged to MLflow) becomes
that model, through the tracking integration, verified and cached. Every public
function that takes ``model=`` goes through :func:`load`, so there is one place
that reads models from the store.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskmodel.core.artifacts import logged_model_around
from riskmodel.core.exceptions import ModelLoadError, ModelNotFoundError
from riskmodel.core.forecasting import forecaster as _forecasting
from riskmodel.core.forecasting.forecaster import Forecaster
from riskmodel.core.risk.model import RiskModel
from riskmodel.core.scoring import Scorer, as_scorer
from riskmodel.core.scoring import score as _score

__all__ = ["load", "forget_aliases", "score", "forecast", "score_file", "score_spark", "score_parquet", "forecast_spark", "verified_copy"]

_ALLOW_UNGATED_ENV = "RISKMODEL_ALLOW_UNGATED"  # the same name as riskmodel.integrations.tracking.loading.ALLOW_UNGATED_ENV
#: Seconds a cached model behind an alias (``models:/name@champion``) is served before the alias is
#: looked up again. A look-up is one registry query (about 2 ms on a local sqlite store, a network
#: round trip on a tracking server), about three times what scoring one record by URI takes
#: otherwise (``score_single_uri_ms`` in benchmarks/RESULTS.md), and for ``@champion`` a second one
#: (the gate record, checked again): so not on every call.
ALIAS_RECHECK_SECONDS = 10.0


@dataclass
class _Entry:
    """A cached model; for an alias URI the version it pointed at, and when that was last looked up."""

    model: Scorer | Forecaster
    version: str | None
    checked: float


_cache: dict[str, _Entry] = {}
_cache_lock = threading.Lock()


def _now() -> float:
    return time.monotonic()


def load(
    uri: str | Path | RiskModel | Scorer | Forecaster, *, refresh: bool = False, allow_ungated: bool = False
) -> Scorer | Forecaster:
    """Load a risk model (as a :class:`~riskmodel.core.scoring.Scorer`) or a forecaster, whichever ``uri`` holds.

    Cached by URI and safe to call from many threads. A logged model is loaded
    only after the signed manifest of all its files is verified (see
    :mod:`riskmodel.core.artifacts` for the signing key), and ``@champion`` only
    when its version carries a passed gate decision signed by riskmodel.

    An alias (``models:/name@champion``) is looked up in the registry again once
    its last look-up is over :data:`ALIAS_RECHECK_SECONDS` (10) seconds old, and
    the model is loaded again if the alias moved: a promotion or a rollback
    reaches a long-lived process within 10 seconds, with no restart and no
    ``refresh``. Pass ``models:/name/<version>`` to use one version whatever the
    alias does (the main job does). ``@champion`` is also checked against the
    gate again at each look-up: moved back by hand to a version, even the one
    cached, it is refused as a fresh load refuses it. When the store gives no
    answer (out of reach), the version the alias last pointed at is served on,
    with a logged warning, and the look-up is tried again 10 s later; when the
    registry answers that the alias is gone (deleted, or its version deleted),
    calls are refused (:class:`~riskmodel.core.exceptions.ModelNotFoundError`).

    The alias is followed by the URI, not by the object returned: a Scorer kept by a service and passed as
    ``model=`` stays the version it was loaded as (a rollback included). Pass the URI to :func:`score` on every
    call, or call ``load(uri)`` each time: both are served from the cache.

    Parameters
    ----------
    uri : str, Path, RiskModel, Scorer or Forecaster
        ``models:/name@alias``, ``models:/name/version``, ``models:/m-<logged model id>``,
        ``runs:/<run_id>/model``, a local copy of a logged model, a local folder
        written by :meth:`RiskModel.save` or :meth:`Forecaster.save`, or an already fitted model (returned as
        it is, a RiskModel wrapped in a Scorer). A folder written by
        :meth:`RiskModel.save` or :meth:`Forecaster.save` carries no signature and is trusted as the caller's
        own file (its LightGBM text is still checked; a forecaster's is JSON and Parquet); a copy of a logged model
        (a folder holding ``MLmodel``, or its ``data/risk_model``) is verified
        like the store.
    refresh : bool, default=False
        Load and verify again even if cached (e.g. to see a moved alias at once).
    allow_ungated : bool, default=False
        Emergency override: load ``@champion`` even if its version was not promoted
        through the gate (an alias moved by hand); also ``RISKMODEL_ALLOW_UNGATED=1``.
        Each such load is recorded in the audit log (event ``ungated_load``).

    Returns
    -------
    Scorer or Forecaster

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved or holds no riskmodel model, if its LightGBM
        model text is malformed, or if ``@champion`` is not a gated version.
    ArtifactIntegrityError
        If the model's manifest is missing, unsigned or not signed with the key in
        use, or any of its files differs from it.
    """
    if isinstance(uri, Scorer | RiskModel):
        return as_scorer(uri)
    if isinstance(uri, Forecaster):
        return uri
    if not isinstance(uri, str | Path):
        raise ModelLoadError(f"`model` must be a model URI, a local folder or a fitted model; got {type(uri).__name__}.")
    ungated = bool(allow_ungated) or os.environ.get(_ALLOW_UNGATED_ENV) == "1"
    text = str(uri)
    key = _cache_key(text) + ("\0ungated" if ungated else "")  # an override must never serve a later gated call
    seen = _cache.get(key)
    if not refresh and seen is not None and _still_current(seen, text, ungated):
        return seen.model
    with _cache_lock:
        entry = _cache.get(key)
        if not refresh and entry is not None and entry is not seen:  # another thread loaded it meanwhile
            return entry.model
        loaded, version = _load_uncached(text, allow_ungated)
        _cache[key] = _Entry(loaded, version if _names_alias(text) else None, _now())
        return loaded


def forget_aliases(name: str) -> None:
    """Drop the cached models that ``load`` holds behind any alias of registered model ``name``.

    riskmodel's training pipelines call it after each promotion they make, so that the process
    which promoted serves the new champion on its next call by alias, not up to
    :data:`ALIAS_RECHECK_SECONDS` later; a service may call it after promoting by other means.
    """
    prefix = f"models:/{name}@"
    with _cache_lock:
        for key in [k for k in _cache if k.startswith(prefix)]:
            del _cache[key]


def _names_alias(uri: str) -> bool:
    return uri.startswith("models:/") and "@" in uri


def _still_current(entry: _Entry, uri: str, ungated: bool = False) -> bool:
    """Whether a cached model may be served: not behind an alias, or the alias was looked up under
    ALIAS_RECHECK_SECONDS ago, or is looked up now, has not moved, and (``@champion``) its version still
    passes the gate checks. False when the registry answers that the alias is gone: loading again refuses it."""
    if entry.version is None or _now() - entry.checked < ALIAS_RECHECK_SECONDS:
        return True
    from riskmodel.integrations.tracking.loading import alias_still_serves

    try:
        moved = not alias_still_serves(uri, entry.version, allow_ungated=ungated)
    except ModelNotFoundError:
        return False  # the registry's answer, not a store out of reach: a deleted champion must not serve on
    except ModelLoadError as exc:
        # a tracking store out of reach must not stop a service that scores by alias: the version last seen serves on
        logging.getLogger(__name__).warning(
            "could not look up %s (%s): serving version %s, where it pointed %.0f s ago; trying again in %.0f s",
            uri, exc, entry.version, _now() - entry.checked, ALIAS_RECHECK_SECONDS,
        )
        moved = False
    if moved:
        return False
    entry.checked = _now()
    return True


def verified_copy(uri: str | Path, dst: str | Path) -> Path:
    """Download the logged model ``uri`` into ``dst`` and verify every file against its signed manifest.

    Returns the copy's root (the folder holding ``MLmodel``), for a server to
    read instead of downloading again by URI (``riskmodel serve`` does this).

    Raises
    ------
    ModelLoadError
        If the URI cannot be resolved or downloaded.
    ArtifactIntegrityError
        If the manifest is missing, unsigned or regenerated, or any file differs from it.
    """
    from riskmodel.integrations.tracking.registry import verified_copy as _verified_copy

    return _verified_copy(uri, dst)


def _cache_key(uri: str) -> str:
    """The URI, and for a local folder the size and change time of its files: a model saved again
    at the same path is loaded again, never served stale from the cache."""
    if uri.startswith(("models:", "runs:")):
        # the same name in another store is another model: the store is part of the key
        return f"{uri}|{os.environ.get('MLFLOW_TRACKING_URI', 'sqlite:///mlflow.db')}|{Path.cwd()}"
    folder = Path(uri)
    try:
        stats = sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file())
    except OSError:
        return uri
    return f"{uri}|{hash(tuple(stats))}"


def _inside_logged_model(path: Path) -> bool:
    """Whether ``path`` is a logged model or its ``data/<kind>`` folder (those are verified by signature), also one whose
    ``MLmodel`` was deleted (:func:`riskmodel.core.artifacts.logged_model_around`)."""
    return logged_model_around(path) is not None


def _load_uncached(uri: str, allow_ungated: bool) -> tuple[Scorer | Forecaster, str | None]:
    """The model ``uri`` holds and, for a logged one, its registered version (that of the alias when it was read)."""
    if not uri.startswith(("models:", "runs:")) and (Path(uri) / "meta.json").is_file() and not _inside_logged_model(Path(uri)):
        return as_scorer(uri), None  # a plain saved RiskModel folder needs no tracking store
    if not uri.startswith(("models:", "runs:")) and (Path(uri) / "forecaster.json").is_file() and not _inside_logged_model(Path(uri)):
        return Forecaster.load(uri), None  # nor a Forecaster.save folder (JSON and Parquet, nothing pickled)
    from riskmodel.integrations.tracking.loading import load_logged  # MLflow is imported only when a URI needs it

    # a service loading from its local store gets no download bar on stderr (the CLI sets the same)
    quiet = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ
    if quiet:
        os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        logged = load_logged(uri, allow_ungated=allow_ungated)
    finally:
        if quiet:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
    if isinstance(logged.model, Forecaster):
        return logged.model, logged.version
    return Scorer(logged.model, name=logged.name, version=logged.version, source=uri), logged.version


def _scorer(model) -> Scorer:
    loaded = load(model)
    if not isinstance(loaded, Scorer):
        raise ModelLoadError(f"`model` {model!r} holds a forecaster, not a risk model; pass the risk model's URI.")
    return loaded


@functools.wraps(_score)
def score(stays, *, model, **options) -> pd.DataFrame:
    return _score(stays, model=_scorer(model), **options)


@functools.wraps(_forecasting.forecast)
def forecast(horizon, *, model=None, **options) -> pd.DataFrame:
    _forecasting.check_horizon(horizon)
    if isinstance(model, str | Path):
        model = load(model)
        if not isinstance(model, Forecaster):
            raise ModelLoadError("`model` holds a risk model, not a forecaster; pass the forecaster's URI.")
    return _forecasting.forecast(horizon, model=model, **options)


def score_file(input: str | Path, output: str | Path, *, model, track: bool | None = None, **options):
    """Score a file or folder of stays resumably (:func:`riskmodel.integrations.batch.scoring.score_file`), by URI.

    Parameters
    ----------
    input, output : str or Path
        As in the batch job.
    model : str, Path, RiskModel or Scorer
        Anything :func:`load` accepts.
    track : bool, optional
        Log the run summary and its audit record to MLflow; default: when
        ``MLFLOW_TRACKING_URI`` is set.
    **options
        The batch job's settings (``reasons``, ``errors``, ``chunk_rows``, ...).

    Returns
    -------
    BatchResult
    """
    from riskmodel.integrations.batch.scoring import score_file as _score_file

    scorer = _scorer(model)
    result = _score_file(input, output, model=scorer, **options)
    if track if track is not None else bool(os.environ.get("MLFLOW_TRACKING_URI")):
        from riskmodel.integrations.tracking.monitoring import log_summary

        log_summary(
            "overstay-risk-batch",
            result.extra["summary"],
            result.extra["summary_path"],
            run_name=f"batch {scorer.name} v{scorer.version}",
            records={"audit.json": result.extra["audit_record"]},
        )
    return result


def score_spark(stays, *, model, **options):
    """:func:`riskmodel.integrations.spark.score_spark` with ``model`` loaded by :func:`load` (any URI)."""
    from riskmodel.integrations import spark

    return spark.score_spark(stays, model=_scorer(model), **options)


def score_parquet(input: str | Path, output: str | Path, *, model, **options):
    """:func:`riskmodel.integrations.spark.score_parquet` with ``model`` loaded by :func:`load` (any URI)."""
    from riskmodel.integrations import spark

    return spark.score_parquet(input, output, model=_scorer(model), **options)


def forecast_spark(history, **options) -> pd.DataFrame:
    """:func:`riskmodel.integrations.spark.forecast_spark`: many series forecast on Spark."""
    from riskmodel.integrations import spark

    return spark.forecast_spark(history, **options)
