"""The risk classifier: LightGBM on a fixed numeric encoding, calibrated on a later time slice.

:class:`RiskModel` is generic: it learns any binary ``target`` of any tabular
table from the ``features`` named in its settings, treating ``categorical``
ones natively in LightGBM.

Encoding is fixed at fit time and stored as JSON: each categorical column's
levels (sorted strings seen in training) become codes ``0..k-1``; numbers and
booleans become floats. :meth:`RiskModel.encode` turns any frame into that
float matrix in one pass, so single-row scoring does not pay for pandas
categoricals inside LightGBM. A level not seen in training is scored as missing
(LightGBM sends it down the missing-value branch), counted in
``unseen_counts_`` and reported with an :class:`~riskmodel.UnseenCategoryWarning`.

Class imbalance is *not* reweighted: weights would distort the probabilities
and the calibration slice would have to undo it. Early stopping watches the
log-loss of a validation slice later than training, and the calibrator is
fitted on a slice later still.

A fitted model saves to a folder of plain files (``model.txt`` from LightGBM,
``meta.json``) and loads without unpickling anything.
"""

from __future__ import annotations

import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import (
    ConfigError,
    ModelLoadError,
    NotFittedError,
    RiskModelWarning,
    SchemaError,
    SchemaProblem,
    UnseenCategoryWarning,
)
from riskmodel.core.monitoring.drift import training_reference
from riskmodel.core.params import SettingsMixin
from riskmodel.core.risk.booster_text import check_model_bytes
from riskmodel.core.risk.calibration import calibrator_from_dict, make_calibrator
from riskmodel.core.risk.config import ModelConfig, Splits, _check_known_at_entry

__all__ = ["RiskModel", "time_split", "DEFAULT_PARAMS", "DEFAULT_BANDS", "MODEL_FILES"]

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "max_cat_to_onehot": 8,
    "metric": "binary_logloss",
    "verbose": -1,
    "num_threads": 2,
}

#: Referral budgets of the risk bands when ``bands`` is not given.
DEFAULT_BANDS: dict[str, float] = {"high": 0.01, "elevated": 0.05}

_FORMAT = 1
#: The files :meth:`RiskModel.save` writes in its folder and :meth:`RiskModel.from_files` reads.
MODEL_FILES = ("meta.json", "model.txt")


def time_split(table: pd.DataFrame, time_column: str, splits: Splits) -> dict[str, pd.DataFrame]:
    """Cut a table into time-ordered slices: train, valid, calib, test (oldest to newest).

    Boundaries are time quantiles, so rows with the same time never straddle two slices.

    Parameters
    ----------
    table : DataFrame
        Rows to split; must have ``time_column``.
    time_column : str
        Column ordering the rows in time.
    splits : Splits
        Fractions of the valid, calib and test slices.

    Returns
    -------
    dict of str to DataFrame
        Keys ``train, valid, calib, test``, each a slice of ``table`` in its original order.

    Raises
    ------
    SchemaError
        If ``time_column`` is missing.
    """
    if time_column not in table.columns:
        raise SchemaError("table", [SchemaProblem(time_column, "time column is missing", "name an existing column in `time_column`")])
    t = table[time_column]
    fr = (splits.valid_fraction, splits.calib_fraction, splits.test_fraction)
    q = np.cumsum([1 - sum(fr), fr[0], fr[1]])
    cuts = t.quantile(q).to_numpy()
    tv = t.to_numpy()
    masks = {
        "train": tv < cuts[0],
        "valid": (tv >= cuts[0]) & (tv < cuts[1]),
        "calib": (tv >= cuts[1]) & (tv < cuts[2]),
        "test": tv >= cuts[2],
    }
    return {k: table.loc[m] for k, m in masks.items()}


class RiskModel(SettingsMixin):
    """Calibrated LightGBM classifier over a fixed, JSON-stored encoding.

    Parameters
    ----------
    features : list of str
        Feature columns, in model order.
    categorical : sequence of str, default=()
        Which of ``features`` are categorical.
    target : str, default="overstayed"
        Binary target column (bool, 0/1 or nullable boolean; missing rows are an error in ``fit``).
    params : dict, optional
        LightGBM parameters, merged over :data:`DEFAULT_PARAMS` (None: none).
    num_boost_round : int, default=2000
        Upper bound on trees; early stopping picks the number.
    early_stopping_rounds : int, default=100
        Patience on the validation slice.
    calibration : {"isotonic", "sigmoid", "none"}, default="isotonic"
        Calibrator fitted on the calibration slice.
    bands : dict of str to float, optional
        Risk bands as referral budgets. None means :data:`DEFAULT_BANDS`,
        ``{"high": 0.01, "elevated": 0.05}``: the top 1% of the calibration slice is
        ``high``, the next up to 5% ``elevated``, the rest ``low``.
    reasons : dict of str to str, optional
        Plain-language text per feature for reason codes (see :mod:`riskmodel.core.risk.reasons`).
    seed : int, default=0
        Seed of LightGBM's bagging and feature sampling.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``array([0, 1])``: the columns of :meth:`predict_proba`.
    booster_ : lightgbm.Booster
    levels_ : dict of str to list of str
        Categories of each categorical feature, fixed at fit.
    calibrator_ : calibrator
    thresholds_ : dict of str to float
        Lowest calibrated probability of each band.
    reference_ : dict
        Training distribution of every feature, and of the calibrated score on the calibration
        rows (rows the booster did not learn), for PSI drift checks.
    best_iteration_ : int
    unseen_counts_ : dict of str to int
        Unseen levels met by the last :meth:`encode` call, per column.

    Notes
    -----
    A scikit-learn estimator: the constructor only stores its settings,
    :meth:`get_params` / :meth:`set_params` read and change them, so
    ``sklearn.base.clone`` gives an unfitted copy; ``fit(X, y)`` takes the
    labels apart from the table, and :meth:`predict_proba` returns one column per
    class. It works as the last step of a ``Pipeline`` and inside
    ``cross_val_predict`` or ``cross_validate``. Mind time order there: train on
    the past only (``TimeSeriesSplit`` in ``cross_validate``; scikit-learn's
    ``cross_val_predict`` accepts only splitters whose test folds cover every row).
    There ``fit(X, y)`` has no later slices, so the calibrator and band thresholds
    are fitted on the training rows and a :class:`~riskmodel.RiskModelWarning` says
    so; pass ``valid=`` and ``calib=`` (or use ``calibration="none"`` and read only
    the ranking) where the probabilities or bands matter.

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> from riskmodel.core.features import build_features
    >>> feats = build_features(make_crossings(3_000, seed=1).crossings)
    >>> lab = feats[feats["overstayed"].notna()]
    >>> parts = time_split(lab, "entry_time", Splits())
    >>> m = RiskModel(features=["visa_type", "planned_over_max"], categorical=["visa_type"], num_boost_round=50)
    >>> p = m.fit(parts["train"], valid=parts["valid"], calib=parts["calib"]).predict_proba(parts["test"])
    >>> p.shape == (len(parts["test"]), 2) and bool(((p >= 0) & (p <= 1)).all())
    True
    """

    def __init__(
        self,
        *,
        features,
        categorical=(),
        target: str = "overstayed",
        params: dict | None = None,
        num_boost_round: int = 2000,
        early_stopping_rounds: int = 100,
        calibration: str = "isotonic",
        bands: dict[str, float] | None = None,
        reasons: dict[str, str] | None = None,
        seed: int = 0,
    ):
        # settings are stored as given (scikit-learn convention: clone() checks that they are
        # the very objects passed); they are read through the _resolved_* helpers
        self.features = features
        self.categorical = categorical
        self.target = target
        self.params = params
        self.num_boost_round = num_boost_round
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.bands = bands
        self.reasons = reasons
        self.seed = seed

    # ------------------------------------------------------------------ scikit-learn (get_params/set_params: SettingsMixin)

    def __sklearn_tags__(self):
        """Tags for scikit-learn: a binary classifier taking a table with missing values and text categories."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=False),  # the target may be a column of the table
            classifier_tags=ClassifierTags(multi_class=False),
            input_tags=InputTags(categorical=True, string=True, allow_nan=True),
        )

    def _resolved_params(self) -> dict:
        return dict(self.params or {})

    def _resolved_bands(self) -> dict[str, float]:
        return dict(self.bands if self.bands is not None else DEFAULT_BANDS)

    def _resolved_reasons(self) -> dict[str, str]:
        return dict(self.reasons or {})

    @classmethod
    def from_config(cls, config: ModelConfig) -> RiskModel:
        """A new model with the settings of a :class:`~riskmodel.core.risk.config.ModelConfig`.

        Every constructor parameter is read from the config field of the same name,
        so a new setting is not listed a second time here.
        """
        names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        # configs are frozen (tuples, read-only mappings); a model's settings are plain lists and dicts
        plain = {tuple: list, dict: dict}
        return cls(**{name: plain.get(type(v), lambda x: x)(v) for name in names for v in [getattr(config, name)]})

    # ------------------------------------------------------------------ encoding

    def _level_index(self, column: str) -> pd.Index:
        # held for the levels it was built from: a second fit (or a load) gives new levels_, and with them a new index;
        # kept across fits, the first fit's codes encoded the next fit's training rows
        held = self.__dict__.get("_index_cache")
        if held is None or held[0] is not self.levels_:
            held = self.__dict__["_index_cache"] = (self.levels_, {})
        cache = held[1]
        if column not in cache:
            cache[column] = pd.Index(self.levels_[column], dtype=object)
        return cache[column]

    def _check_columns(self, X: pd.DataFrame, what: str, extra=()) -> None:
        if not isinstance(X, pd.DataFrame):
            raise SchemaError(what, [SchemaProblem("<table>", f"expected a pandas DataFrame, got {type(X).__name__}", "pass a DataFrame")])
        missing = [c for c in list(self.features) + list(extra) if c not in X.columns]
        if missing:
            raise SchemaError(
                what,
                [SchemaProblem(c, "required column is missing", "add the column (see the model's `features`)") for c in missing],
            )
        problems = []
        for c in self.features:
            if c in self.categorical:
                continue
            s = X[c]
            if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
                problems.append(SchemaProblem(c, f"expected numbers or booleans, got dtype {s.dtype}", "store the column as a number"))
        if problems:
            raise SchemaError(what, problems)

    def _learn_levels(self, X: pd.DataFrame) -> dict[str, list[str]]:
        levels = {}
        for c in self.categorical:
            s = X[c]
            if isinstance(s.dtype, pd.CategoricalDtype):
                present = s.cat.remove_unused_categories().cat.categories
                values = [str(v) for v in present]
            else:
                values = [str(v) for v in pd.unique(s.dropna())]
            levels[c] = sorted(set(values))
        return levels

    def encode(self, X: pd.DataFrame, *, warn: bool = True) -> np.ndarray:
        """The float matrix LightGBM sees: categorical levels as codes, unseen levels as missing.

        Parameters
        ----------
        X : DataFrame
            Must hold every column of ``features`` (other columns are ignored).
        warn : bool, default=True
            Emit an :class:`~riskmodel.UnseenCategoryWarning` when unseen levels occur.

        Returns
        -------
        ndarray of shape (len(X), len(features)), float64

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        SchemaError
            If a feature column is missing or a numeric feature holds text.
        """
        if not hasattr(self, "levels_"):
            self._require_fitted()
        self._check_columns(X, "features")
        out = np.empty((len(X), len(self.features)), dtype=np.float64)
        unseen: dict[str, int] = {}
        for j, c in enumerate(self.features):
            s = X[c]
            if c in self.levels_:
                codes = _level_codes(s, self._level_index(c))
                col = codes.astype(np.float64)
                bad = codes < 0
                col[bad] = np.nan
                k = int((bad & s.notna().to_numpy()).sum())
                if k:
                    unseen[c] = k
                out[:, j] = col
            else:
                out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        self.unseen_counts_ = unseen
        if unseen and warn:
            warnings.warn(
                f"values not seen in training were scored as missing: {unseen} (column: rows). "
                "Retrain on recent data if they are common; silence with "
                "warnings.filterwarnings('ignore', category=riskmodel.UnseenCategoryWarning).",
                UnseenCategoryWarning,
                stacklevel=2,
            )
        return out

    # ------------------------------------------------------------------ fitting

    def _labels(self, X: pd.DataFrame, what: str, y=None) -> np.ndarray:
        """The 0/1 labels of ``X``'s rows: ``y`` where given, else the ``target`` column."""
        if y is None:
            if self.target not in X.columns:
                raise SchemaError(what, [SchemaProblem(self.target, "target column is missing", "add the label column")])
            labels, name = X[self.target], self.target
        else:
            labels, name = (y if isinstance(y, pd.Series) else pd.Series(np.asarray(y).ravel())), "y"
            if len(labels) != len(X):
                raise SchemaError(
                    what,
                    [SchemaProblem("y", f"expected one label per row of the table ({len(X)}), got {len(labels)}", "pass the labels of the same rows")],
                )
        if labels.isna().any():
            raise SchemaError(
                what,
                [SchemaProblem(name, "target is missing on some rows", "train only on labelled (mature) rows", n_rows=int(labels.isna().sum()))],
            )
        return labels.to_numpy(dtype=float)

    def fit(self, X: pd.DataFrame, y=None, *, valid: pd.DataFrame | None = None, calib: pd.DataFrame | None = None) -> RiskModel:
        """Learn the encoding, the booster, the calibrator, band thresholds and the reference distribution.

        Parameters
        ----------
        X : DataFrame
            Training rows with the features, and the ``target`` column unless ``y`` is given.
        y : array-like of shape (len(X),), optional
            Labels of ``X``'s rows (bool or 0/1), as scikit-learn passes them (``Pipeline``,
            ``cross_validate``). Without it they are read from ``X[target]``.
        valid : DataFrame, optional
            A later slice for early stopping, with the ``target`` column. Without it, all
            ``num_boost_round`` trees are grown.
        calib : DataFrame, optional
            A slice later still for calibration and band thresholds, with the ``target``
            column. Without it, ``valid`` is used, and without both the training rows; either
            fallback warns (see Warns). Never the training table itself.

        Returns
        -------
        self

        Raises
        ------
        SchemaError
            If a column is missing, the target has missing values, ``y`` has not one label
            per row, or the training rows hold a single class.
        ConfigError
            If ``calib`` holds only training rows: ``X`` itself, a copy of it or a slice of it (rows
            compared by their feature and target values, with their index labels unless it is a whole copy).
            If a feature is a stay's column known only once the stay ended
            (:data:`~riskmodel.core.schema.STAY_OUTCOME_COLUMNS`: the exit, the permit in force at exit, the label).

        Warns
        -----
        RiskModelWarning
            If the calibration rows hold a single class: the booster's probability is kept uncalibrated.
            If the ``valid`` rows hold a single class: no early stopping, all ``num_boost_round`` trees.
            If the calibrator is fitted on the early-stopping rows (no ``calib``, or ``calib`` is
            ``valid``, a copy or a slice of it), unless ``calibration="none"``. If neither ``valid`` nor ``calib`` is given
            (``fit(X, y)``, scikit-learn's path): the calibrator and band thresholds are fitted on the
            training rows, in-sample, even with ``calibration="none"``. If some rows of ``calib`` (not
            all) are rows of ``X`` or ``valid`` (the same index label and values), with their count.
        """
        import lightgbm as lgb

        train = X
        _check_known_at_entry(self.features, "features", ConfigError)  # the label's own days fitted to a PR-AUC of 1.0
        if calib is not None and self._rows_of(calib, train):
            raise ConfigError(
                f"`calib` is the training table, a copy or a slice of it ({len(calib)} of its rows): the calibrator and band "
                "thresholds would be fitted on the rows the booster learned (in-sample, overconfident); pass `calib=` a time "
                "slice later than `valid` (see time_split)."
            )
        self._check_columns(train, "train", extra=(self.target,) if y is None else ())
        y_train = self._labels(train, "train", y)
        if len(np.unique(y_train)) < 2:
            raise SchemaError("train", [SchemaProblem(self.target, "target has a single class", "train on rows with both outcomes")])
        features = list(self.features)
        self.levels_ = self._learn_levels(train)
        enc = self.encode(train, warn=False)
        cat_idx = [features.index(c) for c in self.categorical]
        params = {**DEFAULT_PARAMS, **self._resolved_params(), "seed": self.seed, "deterministic": True}
        dtrain = lgb.Dataset(enc, y_train, feature_name=features, categorical_feature=cat_idx, free_raw_data=True)
        callbacks = []
        valid_sets = []
        if valid is not None and len(valid):
            self._check_columns(valid, "valid", extra=(self.target,))
            y_valid = self._labels(valid, "valid")
            if len(np.unique(y_valid)) > 1:
                dvalid = lgb.Dataset(self.encode(valid, warn=False), y_valid, reference=dtrain)
                valid_sets = [dvalid]
                callbacks.append(lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False))
            else:  # stopping on one outcome keeps the trees that best predict it: the first, for "nobody overstays"
                warnings.warn(
                    f"the early-stopping slice `valid` ({len(valid)} rows) has a single class, so it cannot choose the "
                    f"number of trees: all {self.num_boost_round} are grown, as without `valid`; train on a longer period "
                    "or raise `splits.valid_fraction`. Silence with "
                    "warnings.filterwarnings('ignore', category=riskmodel.RiskModelWarning).",
                    RiskModelWarning,
                    stacklevel=2,
                )
        self.booster_ = lgb.train(params, dtrain, num_boost_round=self.num_boost_round, valid_sets=valid_sets, callbacks=callbacks)
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.current_iteration())
        p_cal = self._fit_calibration(*self._calibration_rows(train, y, valid, calib))
        self.classes_ = np.array([0, 1])
        # features as trained on; the score as on the calibration rows: in-sample scores are more spread than any new night's
        self.reference_ = training_reference(enc, self.features, self.levels_, p_cal)
        return self

    def _calibration_rows(self, train: pd.DataFrame, y, valid, calib) -> tuple[pd.DataFrame, Any]:
        """The rows (and labels) calibration and band thresholds are fitted on: ``calib``, else ``valid``, else ``train``.

        Warns when they also fitted or stopped the booster: a calibrator on ``valid`` (the rows that
        chose the number of trees), anything on ``train`` (in-sample margins: a calibrator is
        overconfident there, and band thresholds refer another share of new rows). Band thresholds
        alone (``calibration="none"``) on ``valid`` do not warn: the trees never learned those rows.
        """
        silence = "Silence with warnings.filterwarnings('ignore', category=riskmodel.RiskModelWarning)."
        has_calib, has_valid = calib is not None and len(calib) > 0, valid is not None and len(valid) > 0
        if has_calib and not (has_valid and self._rows_of(calib, valid)):
            for name, other in (("train", train), ("valid", valid)):
                shared = self._shared_rows(calib, other) if other is not None else 0
                if shared:  # a share of them only (all of them is refused or warned above): no threshold would be more than a guess
                    warnings.warn(
                        f"RiskModel.fit: {shared} of the {len(calib)} `calib` rows are rows of `{name}` (same index label and "
                        "values), so the calibrator and band thresholds are fitted partly on rows that "
                        f"{'the booster learned' if name == 'train' else 'chose the number of trees'}; drop them from `calib` "
                        "(see time_split). " + silence,
                        RiskModelWarning,
                        stacklevel=3,
                    )
            return calib, None
        if has_valid or has_calib:
            if self.calibration != "none":
                how = "`calib` is the early-stopping table `valid`" if has_calib else "no `calib` slice was given"
                warnings.warn(
                    f"RiskModel.fit: {how}, so the {self.calibration} calibrator is fitted on `valid`, the rows that chose "
                    "the number of trees by early stopping (calibration on data that chose the model); pass `calib=` a "
                    'time slice later than `valid` (see time_split), or calibration="none" if only the ranking is used. '
                    + silence,
                    RiskModelWarning,
                    stacklevel=3,
                )
            return (calib if has_calib else valid), None
        what = "the band thresholds are" if self.calibration == "none" else f"the {self.calibration} calibrator and the band thresholds are"
        warnings.warn(
            f"RiskModel.fit: neither `valid` nor `calib` was given (as in fit(X, y), a Pipeline or cross_validate), so {what} "
            "fitted on the training rows the booster learned: their in-sample scores are overconfident, so calibrated "
            "probabilities are off and a band meant to refer x% refers another share of new rows; pass `valid=` and "
            "`calib=` later time slices (see time_split), or use train_risk_model. " + silence,
            RiskModelWarning,
            stacklevel=3,
        )
        return train, y

    def _shared_rows(self, part: pd.DataFrame, whole: pd.DataFrame) -> int:
        """How many rows of ``part`` are rows of ``whole``: the same index label and the same feature and target values."""
        columns = [c for c in (*self.features, self.target) if c in part.columns and c in whole.columns]
        if not isinstance(part, pd.DataFrame) or not isinstance(whole, pd.DataFrame) or not columns:
            return 0
        same_label = part.index.isin(whole.index)
        if not same_label.any():  # later time slices of one table share no index label: nothing to hash
            return 0
        hashed = (pd.util.hash_pandas_object(f[columns], index=True).to_numpy() for f in (part[same_label], whole))
        return int(np.isin(*hashed).sum())

    def _rows_of(self, part: pd.DataFrame, whole: pd.DataFrame) -> bool:
        """Whether every row of ``part`` is a row of ``whole``: the same table, a copy of it (index kept or reset), or a slice
        keeping its index labels. Rows are compared by their feature and target values (and index label, but for a whole copy)."""
        if part is whole:
            return True
        columns = [c for c in (*self.features, self.target) if c in part.columns and c in whole.columns]
        if not len(part) or not columns or not isinstance(part, pd.DataFrame) or not isinstance(whole, pd.DataFrame):
            return False

        def rows(frame: pd.DataFrame, index: bool) -> np.ndarray:
            return pd.util.hash_pandas_object(frame[columns], index=index).to_numpy()

        if len(part) == len(whole) and np.array_equal(rows(part, False), rows(whole, False)):
            return True
        # later time slices of one table share no index label: nothing to hash (a second on a million rows)
        return bool(part.index.isin(whole.index).all()) and bool(np.isin(rows(part, True), rows(whole, True)).all())

    def _fit_calibration(self, cal_frame: pd.DataFrame, y) -> np.ndarray:
        """Fit the calibrator and the band thresholds on ``cal_frame`` (labels: ``y``, else its target column); its calibrated scores."""
        self._check_columns(cal_frame, "calib", extra=(self.target,) if y is None else ())
        y_cal = self._labels(cal_frame, "calib", y)
        kind = self.calibration
        if kind != "none" and len(np.unique(y_cal)) < 2:
            # a calibrator fitted on one class maps every row to the same probability: keep the booster's own
            warnings.warn(
                f"the calibration slice ({len(y_cal)} rows) has a single class, so the booster's own probability is "
                "used uncalibrated; train on a longer period or raise `splits.calib_fraction`. Silence with "
                "warnings.filterwarnings('ignore', category=riskmodel.RiskModelWarning).",
                RiskModelWarning,
                stacklevel=3,
            )
            kind = "none"
        margin = self.predict_margin(cal_frame)
        self.calibrator_ = make_calibrator(kind).fit(margin, y_cal)
        p_cal = self.calibrator_.transform(margin)
        self.thresholds_ = self._band_thresholds(p_cal)
        return p_cal

    def _band_thresholds(self, p: np.ndarray) -> dict[str, float]:
        out = {}
        for name, budget in sorted(self._resolved_bands().items(), key=lambda kv: kv[1]):
            out[name] = float(np.quantile(p, 1.0 - budget))
        return out

    # ------------------------------------------------------------------ prediction

    def _require_fitted(self) -> None:
        if not hasattr(self, "calibrator_"):
            raise NotFittedError("this RiskModel is not fitted yet; call fit(train, valid=..., calib=...) or RiskModel.load(path).")

    def predict_margin(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Raw, uncalibrated log-odds of the booster (a DataFrame, or an already encoded matrix)."""
        if not hasattr(self, "booster_"):
            self._require_fitted()
        enc = X if isinstance(X, np.ndarray) else self.encode(X)
        return self.booster_.predict(enc, raw_score=True, num_iteration=self.best_iteration_)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated class probabilities, one row per input row, in input order.

        Parameters
        ----------
        X : DataFrame or ndarray
            Rows with every column of ``features``, or a matrix from :meth:`encode`.

        Returns
        -------
        ndarray of shape (len(X), 2)
            Columns in :attr:`classes_` order: P(no overstay), P(overstay). The
            probability of the target is column 1: ``predict_proba(X)[:, 1]``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        SchemaError
            If a feature column is missing or has the wrong type.
        """
        self._require_fitted()
        p = self.calibrator_.transform(self.predict_margin(X))
        return np.column_stack((1.0 - p, p))

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The more likely class of each row (0 or 1), as scikit-learn expects of a classifier.

        Overstays are rare, so this is almost always 0; referrals should follow the risk
        bands (:meth:`band` of ``predict_proba(X)[:, 1]``), which are set as referral budgets.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        p = self.predict_proba(X)
        return self.classes_[np.argmax(p, axis=1)]

    def band(self, p: np.ndarray) -> np.ndarray:
        """Risk band of each calibrated probability: the tightest band whose threshold it reaches, else ``"low"``."""
        return np.array(self.band_names(), dtype=object)[self.band_codes(p)]

    def band_names(self) -> list[str]:
        """Band names by code: ``low`` (0), then the bands in ascending order of threshold."""
        self._require_fitted()
        return ["low", *sorted(self.thresholds_, key=self.thresholds_.get)]

    def band_codes(self, p: np.ndarray) -> np.ndarray:
        """Band code of each probability (index into :meth:`band_names`): how many thresholds it reaches."""
        self._require_fitted()
        p = np.asarray(p, dtype=float)
        thresholds = np.sort(np.fromiter(self.thresholds_.values(), dtype=float, count=len(self.thresholds_)))
        return np.where(np.isnan(p), 0, np.searchsorted(thresholds, p, side="right")).astype(np.int8)  # NaN: low, as before

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """LightGBM ``pred_contrib``: per-feature additive contributions to the margin, last column the bias."""
        self._require_fitted()
        enc = X if isinstance(X, np.ndarray) else self.encode(X)
        return np.asarray(self.booster_.predict(enc, pred_contrib=True, num_iteration=self.best_iteration_))

    def feature_importance(self) -> pd.Series:
        """Total gain per feature, largest first."""
        self._require_fitted()
        gain = self.booster_.feature_importance(importance_type="gain", iteration=self.best_iteration_)
        return pd.Series(gain, index=self.features, name="gain").sort_values(ascending=False)

    # ------------------------------------------------------------------ persistence

    def metadata(self) -> dict:
        """Everything but the booster, as JSON-ready values."""
        self._require_fitted()
        return {
            "format": _FORMAT,
            "features": list(self.features),
            "categorical": list(self.categorical),
            "target": self.target,
            "params": self._resolved_params(),
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "calibration": self.calibration,
            "bands": self._resolved_bands(),
            "reasons": self._resolved_reasons(),
            "seed": self.seed,
            "levels": self.levels_,
            "best_iteration": self.best_iteration_,
            "calibrator": self.calibrator_.to_dict(),
            "thresholds": self.thresholds_,
            "reference": self.reference_,
            # the monitoring model's train / early-stopping / calibration days (fit_monitor_model), when it has them
            **({"snapshot_days": {k: [str(pd.Timestamp(d).date()) for d in days] for k, days in self.snapshot_days_.items()}}
               if hasattr(self, "snapshot_days_") else {}),
            # the link warnings its training table was built despite (allow_unlinked=True), when it says
            **({"unlinked": list(self.unlinked_)} if getattr(self, "unlinked_", None) is not None else {}),
        }

    def save(self, path: str | Path) -> Path:
        """Write ``model.txt`` (LightGBM text) and ``meta.json`` into folder ``path``; return the folder."""
        self._require_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(path / "model.txt"), num_iteration=self.best_iteration_)
        (path / "meta.json").write_text(json.dumps(self.metadata(), indent=1, default=_json_default), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RiskModel:
        """Load a folder written by :meth:`save` (no unpickling).

        Raises
        ------
        ModelLoadError
            If the folder or one of its files is missing or unreadable.
        """
        path = Path(path)
        try:
            files = {name: (path / name).read_bytes() for name in MODEL_FILES if (path / name).is_file()}
        except OSError as exc:
            raise ModelLoadError(f"cannot read the RiskModel in `{path}`: {exc}") from None
        return cls.from_files(files, where=path)

    @classmethod
    def from_files(cls, files: dict[str, bytes], *, where: str | Path) -> RiskModel:
        """The model from the bytes of the files :meth:`save` wrote (:data:`MODEL_FILES`), never read again from disk.

        For a folder checked against its signed manifest, pass the bytes that were checked
        (``verify_manifest(folder, read=MODEL_FILES)``): a file rewritten after the check is not the one used.

        Parameters
        ----------
        files : dict of str to bytes
            ``meta.json`` and ``model.txt`` by name (others are ignored).
        where : str or Path
            The folder they came from, for messages.

        Raises
        ------
        ModelLoadError
            If a file is missing or is not what :meth:`save` writes.
        """
        import lightgbm as lgb

        where = Path(where)
        if any(name not in files for name in MODEL_FILES):
            raise ModelLoadError(f"`{where}` is not a saved RiskModel: expected files meta.json and model.txt in it.")
        meta_file, model_file = where / "meta.json", where / "model.txt"
        check_model_bytes(files["model.txt"], model_file)  # LightGBM aborts the process on some malformed files instead of raising
        try:
            meta = json.loads(files["meta.json"].decode("utf-8"))
            booster = lgb.Booster(model_str=files["model.txt"].decode("utf-8"))
        except (ValueError, lgb.basic.LightGBMError) as exc:  # UnicodeDecodeError is a ValueError
            raise ModelLoadError(f"could not read the RiskModel in `{where}`: {exc}") from None
        try:
            return _from_meta(cls, meta, booster)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # a hand-edited or foreign meta.json (a list, a field missing or of the wrong type) is not a model
            raise ModelLoadError(
                f"`{meta_file}` is not the metadata of a RiskModel ({type(exc).__name__}: {exc}); re-save or re-log the model."
            ) from None

def _from_meta(cls, meta: dict, booster) -> RiskModel:
    """The fitted model from its parsed ``meta.json`` and booster (a malformed field raises KeyError, TypeError, ...)."""
    m = cls(
        features=meta["features"],
        categorical=meta["categorical"],
        target=meta["target"],
        params=meta["params"],
        num_boost_round=meta["num_boost_round"],
        early_stopping_rounds=meta["early_stopping_rounds"],
        calibration=meta["calibration"],
        bands=meta["bands"],
        reasons=meta["reasons"],
        seed=meta["seed"],
    )
    m.classes_ = np.array([0, 1])
    m.levels_ = meta["levels"]
    m.booster_ = booster
    m.best_iteration_ = int(meta["best_iteration"])
    m.calibrator_ = calibrator_from_dict(meta["calibrator"])
    m.thresholds_ = _thresholds(meta["thresholds"], m._resolved_bands())
    m.reference_ = meta["reference"]
    if "snapshot_days" in meta:
        m.snapshot_days_ = {k: list(pd.DatetimeIndex(days)) for k, days in meta["snapshot_days"].items()}
    if isinstance(meta.get("unlinked"), list):
        m.unlinked_ = [str(line) for line in meta["unlinked"]]
    return m


def _thresholds(saved, bands: dict[str, float]) -> dict[str, float]:
    """Saved band thresholds, refused unless they are one probability per band, tighter bands at least as high."""
    fix = "the saved model is damaged, re-save or re-log it."
    if not isinstance(saved, dict) or set(saved) != set(bands):
        names = sorted(saved) if isinstance(saved, dict) else saved
        raise ConfigError(f"band `thresholds` must name the model's bands {sorted(bands)}, one each; got {names!r}: {fix}")
    bad = {k: v for k, v in saved.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1}
    if bad:  # NaN fails 0 <= v <= 1 too
        raise ConfigError(f"band `thresholds` must be probabilities in [0, 1]; got {bad!r}: {fix}")
    # the band with the smaller referral budget is the tighter one: its threshold cannot lie below a wider band's
    by_budget = sorted(bands, key=bands.get)
    for tight, wide in zip(by_budget, by_budget[1:]):
        if saved[tight] < saved[wide]:
            raise ConfigError(f"band `thresholds` out of order: `{tight}` (refers {bands[tight]:g}) at {saved[tight]:g} lies below "
                              f"`{wide}` (refers {bands[wide]:g}) at {saved[wide]:g}: {fix}")
    return {k: float(v) for k, v in saved.items()}


def _level_codes(s: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 for missing or unseen), comparing values as strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = pd.Index([str(v) for v in s.cat.categories], dtype=object)
        lookup = np.append(index.get_indexer(cats), -1)
        codes = s.cat.codes.to_numpy()
        return lookup[np.where(codes < 0, len(cats), codes)]
    values = s.astype(object).to_numpy()
    if not pd.api.types.is_string_dtype(s):
        missing = pd.isna(values)
        values = np.array([str(v) for v in values], dtype=object)
        values[missing] = None
    return index.get_indexer(values)


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
