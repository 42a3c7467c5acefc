"""MLflow pyfunc of the arrival forecaster, in MLflow's ``loader_module`` form (nothing pickled, no code from the store).

MLflow calls :func:`_load_pyfunc` of this installed module with the model's
``data/forecaster`` folder; the signed manifest of the whole logged model is
verified first, and the forecaster is parsed from the bytes that check read
(:func:`verified_forecaster`, :meth:`riskmodel.core.forecasting.Forecaster.from_files`: JSON and Parquet only).

Input: a DataFrame with a column ``h`` (the horizon in periods, the same whole number >= 1 in
every row; without the column, the forecaster's own ``h``) and, optionally, ``unique_id`` to
keep only some series (in every row, ids the forecaster holds, as it spells them); or
``params={"h": 12}``, which takes precedence over the column (forecasters logged before the signature
declared the param never see it: MLflow drops it, and they answer the column's ``h``; log them again).
Output: the columns of :meth:`riskmodel.core.forecasting.Forecaster.predict`
(``unique_id, ds, y_hat, y_lo_<L>, y_hi_<L>, model``). What :func:`riskmodel.forecast` warns of goes to the
server's log as warnings (the answer's columns are a contract): an outlook of past periods, steps never
backtested, a history ending inside a break, series too young, interval ends at the largest backtest error.
A request that cannot be answered as asked (a missing, fractional or conflicting ``h``, an
unknown series, a column of another name such as ``horizon``, a horizon past the event calendar) is refused naming the field, the rows and
the fix, never a changed or empty answer: an ``MlflowException`` (``INVALID_PARAMETER_VALUE``)
carrying the text of the :class:`~riskmodel.core.exceptions.SchemaError` or
:class:`~riskmodel.core.exceptions.ConfigError` it comes from (its ``__cause__``), because MLflow's
scoring server passes on the message of an ``MlflowException`` only (any other error becomes
"Encountered an unexpected error", its words left in the stack trace ``riskmodel serve`` drops).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem
from riskmodel.core.forecasting.forecaster import warn_largest_error_ends, warn_open_breaks, warn_young_series
from riskmodel.core.forecasting.stale import warn_stale_outlook

ARTIFACT = "forecaster"
_REQUEST = "forecast request"


class ForecastPyfunc:
    """Point forecasts and intervals for every series of the fitted hierarchy."""

    def __init__(self, forecaster):
        self.forecaster = forecaster

    def predict(self, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """The forecast a request asks for (see the module's docstring); a request it cannot honour is refused with an
        MlflowException (INVALID_PARAMETER_VALUE) whose cause is the SchemaError or ConfigError, in the same words."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        try:
            _check_fields(model_input)
            h = _horizon(model_input, params)
            wanted = _series(model_input, self.forecaster.forecasts_["unique_id"].unique())
            out = self.forecaster.predict(h)
        except (SchemaError, ConfigError) as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc
        if wanted is not None:
            out = out[out["unique_id"].isin(wanted)]
        # said in the server's log: the answer's columns are a contract, and its `ds` shows where the outlook starts
        warn_stale_outlook(out, self.forecaster.freq_, self.forecaster.history_["ds"].max(), stacklevel=2)
        # ... and what forecast() says of the model on every call: a REST client is served the same numbers
        warn_open_breaks(self.forecaster, stacklevel=2)
        warn_largest_error_ends(self.forecaster, stacklevel=2)
        warn_young_series(self.forecaster, stacklevel=2)
        return out.reset_index(drop=True)


def _rows(mask) -> tuple[tuple[str, ...], int]:
    where = np.flatnonzero(np.asarray(mask, dtype=bool))
    return tuple(f"row {i}" for i in where[:5]), len(where)


def _numbers(values: pd.Series) -> np.ndarray:
    """Values as floats, NaN for what is no number (True is no horizon; the text '3' is, as MLflow's CSV reading gives it)."""
    if pd.api.types.is_bool_dtype(values):
        return np.full(len(values), np.nan)
    values = values.map(lambda v: np.nan if isinstance(v, bool) else v) if values.dtype == object else values
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


#: The columns a forecast request may hold.
REQUEST_FIELDS = ("h", "unique_id")


def _check_fields(model_input: pd.DataFrame | None) -> None:
    """Refuse a column that is no field of a request: ``{"horizon": 30}`` has no ``h``, and was answered with the
    forecaster's own horizon as if it had asked for none."""
    if model_input is None or not hasattr(model_input, "columns"):
        return
    other = [c for c in model_input.columns if c not in REQUEST_FIELDS]
    if other:
        raise SchemaError(_REQUEST, [SchemaProblem(str(c), "is no field of a forecast request",
                                                   "send `h` (the horizon, a whole number of periods >= 1; leave it out for the "
                                                   "forecaster's own) and, to keep some series, `unique_id`; nothing else",
                                                   *_rows(np.ones(len(model_input)))) for c in other[:5]])


def _horizon(model_input: pd.DataFrame | None, params) -> int | None:
    """The one horizon a request asks for; None (the forecaster's own) when it names none."""
    fix = "give the horizon as a whole number of periods >= 1, e.g. 12"
    if (params or {}).get("h") is not None:
        v = _numbers(pd.Series([params["h"]], dtype=object))[0]
        if not (np.isfinite(v) and v >= 1 and v == np.floor(v)):
            raise SchemaError(_REQUEST, [SchemaProblem("h", f"params h {params['h']!r} is not a whole number >= 1", fix)])
        return int(v)
    if model_input is None or "h" not in model_input or not len(model_input):
        return None
    col = model_input["h"].reset_index(drop=True)
    missing, v = col.isna().to_numpy(), _numbers(col)
    problems = []
    if missing.any():
        problems.append(SchemaProblem("h", "is missing", "give every row the horizon as a whole number of periods >= 1 (e.g. 12), or leave the column out for the forecaster's own horizon", *_rows(missing)))
    bad = ~missing & ~(np.isfinite(v) & (v >= 1) & (v == np.floor(v)))
    if bad.any():
        problems.append(SchemaProblem("h", "is not a whole number >= 1", fix, *_rows(bad)))
    if not problems and len(np.unique(v)) > 1:
        asked = ", ".join(str(int(x)) for x in np.unique(v))
        problems.append(SchemaProblem("h", "has different horizons in one request",
                                      f"ask one horizon per request (here {asked}): every row the same h", *_rows(np.ones(len(col)))))
    if problems:
        raise SchemaError(_REQUEST, problems)
    return int(v[0])


def _series(model_input: pd.DataFrame | None, known) -> set[str] | None:
    """The series a request names (None: every series); rows without one beside rows with one, or unknown ids, refused."""
    if model_input is None or "unique_id" not in model_input or model_input["unique_id"].isna().all():
        return None
    ids = model_input["unique_id"].reset_index(drop=True)
    unnamed = ids.isna().to_numpy()
    if unnamed.any():
        raise SchemaError(_REQUEST, [SchemaProblem("unique_id", "some rows name a series and some do not",
                                                   "name a series in every row, or in none for every series", *_rows(unnamed))])
    text, known = ids.astype(str), sorted(map(str, known))
    unknown = ~text.isin(known).to_numpy()
    if unknown.any():
        by_case = {k.casefold(): k for k in known}
        hints = [f"{u!r}: did you mean {by_case[u.casefold()]!r}?" if u.casefold() in by_case else f"{u!r} is none of them"
                 for u in dict.fromkeys(text[unknown])][:5]
        listed = ", ".join(repr(k) for k in known[:10]) + (f", ... ({len(known)} series)" if len(known) > 10 else "")
        raise SchemaError(_REQUEST, [SchemaProblem("unique_id", "names a series the forecaster does not hold",
                                                   f"use its ids as it spells them ({listed}); {'; '.join(hints)}", *_rows(unknown))])
    return set(text)


def verified_forecaster(root: Path, *, expected_digest: str | None = None, identity: dict[str, str] | None = None,
                        uri: str = ""):
    """The forecaster of the logged model ``root``, parsed from the bytes that the check of its signed manifest read.

    Read again from ``data/forecaster`` after the check, a forecaster.json or Parquet file rewritten in between would
    be used unsigned.

    ``identity``: the run and logged model its signed ``MLmodel`` must name (:func:`riskmodel.integrations.tracking.registry.check_identity`),
    those of the ``uri`` it was fetched by.

    Raises
    ------
    ArtifactIntegrityError
        If the logged model does not match its signed manifest, or is not the one ``identity`` names.
    ModelLoadError
        If its forecaster's files are missing or not a Forecaster.
    """
    from riskmodel.core.forecasting.forecaster import FORECASTER_FILES, Forecaster
    from riskmodel.integrations.tracking import registry

    names = {f"data/{ARTIFACT}/{name}": name for name in FORECASTER_FILES}
    files = registry.verify_manifest(root, expected_digest=expected_digest, read=tuple(names), identity=identity, uri=uri)
    return Forecaster.from_files({names[path]: data for path, data in files.items()}, where=root / "data" / ARTIFACT)


def _load_pyfunc(path: str, model_config: dict | None = None) -> ForecastPyfunc:
    """MLflow's entry point: verify the whole logged model, and parse ``path`` (its ``data/forecaster``) from the bytes checked."""
    from riskmodel.core.exceptions import ArtifactIntegrityError
    from riskmodel.integrations.tracking import registry
    from riskmodel.integrations.tracking.risk_pyfunc import check_registered

    folder = Path(path)
    root = registry.model_root(folder)
    if root is None or folder != root / "data" / ARTIFACT:
        raise ArtifactIntegrityError(f"`{folder}` is not the data/{ARTIFACT} folder of a model logged by riskmodel; do not use it.")
    forecaster = verified_forecaster(root)
    check_registered(root)  # a champion serves only with its signed gate decision
    return ForecastPyfunc(forecaster)
