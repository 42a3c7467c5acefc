"""Frozen config objects of the risk model, loaded from ``configs/risk.yaml``.

The sections mirror the steps: ``model`` (what to learn from which columns: the
trainer is generic over any tabular table), ``data`` (where the immigration
stays come from and when labels are mature), ``fairness`` (audit bounds),
``gate`` (promotion rules), ``tracking`` (experiment and registered name; the
server comes from ``MLFLOW_TRACKING_URI``) and ``tuning``.

Examples
--------
>>> from riskmodel.core.config import load_config
>>> cfg = load_config("configs/risk.yaml", RiskConfig)  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import difflib
import functools
import importlib.util
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from riskmodel.core.config import TrackingConfig, check_iso_dates, to_dict, unknown_key_error
from riskmodel.core.schema import STAY_OUTCOME_COLUMNS

__all__ = [
    "Splits",
    "ModelConfig",
    "DataConfig",
    "FairnessConfig",
    "GateConfig",
    "TrackingConfig",
    "TuningConfig",
    "RiskConfig",
    "lightgbm_parameter_names",
    "lightgbm_aliases",
    "BAND_NAMES",
    "audit_policy_changes",
]


@dataclass(frozen=True)
class Splits:
    """Time-ordered slices, as fractions of the rows sorted by time (oldest first).

    Training gets what is left: ``1 - valid - calib - test``. Order: train,
    valid (early stopping), calib (calibration and band thresholds), test (holdout).
    """

    valid_fraction: float = 0.1
    calib_fraction: float = 0.15
    test_fraction: float = 0.2

    def __post_init__(self):
        parts = (self.valid_fraction, self.calib_fraction, self.test_fraction)
        if not all(p > 0 for p in parts) or not sum(parts) < 0.9:  # written so that NaN, whose comparisons are all False, fails
            raise ValueError(
                f"split fractions must each be > 0 and sum below 0.9 (training needs the rest); got {parts}."
            )


@dataclass(frozen=True)
class ModelConfig:
    """What the trainer learns, from which columns of any tabular table.

    ``params`` are LightGBM parameters; each key must be a LightGBM parameter name
    or alias (see :func:`lightgbm_parameter_names`), so a typo is an error. No feature may be an
    ``audit`` attribute: the audit judges the model by them, so they are never its inputs. Nor may one be a
    protected attribute (:data:`PROTECTED`: nationality, sex, age) or the column it is read from or stands for
    (``region``, ``birth_year``, ``age_band``), audited or not, unless ``audit_override`` names the attribute with
    the reason (the data owner's decision, recorded with the run's config and on the model card):
    ``{nationality: "approved by ..., ticket ..."}``.
    """

    target: str
    time_column: str
    features: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    audit: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    num_boost_round: int = 2000
    early_stopping_rounds: int = 100
    calibration: Literal["isotonic", "sigmoid", "none"] = "isotonic"
    budgets: tuple[float, ...] = (0.01, 0.02, 0.05)
    bands: dict[str, float] = field(default_factory=lambda: {"high": 0.01, "elevated": 0.05})
    baseline_group: str | None = None
    reasons: dict[str, Any] = field(default_factory=dict)
    splits: Splits = field(default_factory=Splits)
    seed: int = 0
    #: protected attribute (:data:`PROTECTED`) -> the recorded reason it may be a model input, or go unaudited
    audit_override: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if not self.features:
            raise ValueError("`features` must name at least one column.")
        # LightGBM reads early stopping of 0 rounds (or fewer) as none: every tree grown, with no word
        for key, what in (("num_boost_round", "the most trees grown"), ("early_stopping_rounds", "rounds without gain before stopping")):
            if not getattr(self, key) >= 1:
                raise ValueError(f"`model.{key}` must be an int >= 1 ({what}); got {getattr(self, key)}. Early stopping cannot be "
                                 "switched off here: set early_stopping_rounds as large as num_boost_round to grow every tree.")
        stray = sorted(set(self.categorical) - set(self.features))
        if stray:
            raise ValueError(f"`categorical` columns {stray} are not in `features`; add them there or remove them.")
        _check_known_at_entry(self.features)
        if self.target in self.features or self.time_column in self.features:
            raise ValueError("`features` must not contain the target or the time column.")
        _check_audit_override(self.audit_override)
        _check_audit_not_input(self.features, self.audit, self.audit_override)
        if any(not 0 < b < 1 for b in self.budgets):
            raise ValueError(f"`budgets` must be fractions between 0 and 1; got {list(self.budgets)}.")
        if any(not 0 < b < 1 for b in self.bands.values()):
            raise ValueError(f"`bands` must map band names to referral fractions between 0 and 1; got {self.bands}.")
        _check_band_names(self.bands)
        # LightGBM only logs a warning for a name it does not know, so a typo would train with the default
        unknown = sorted(set(self.params) - lightgbm_parameter_names(), key=str)
        if unknown:
            raise unknown_key_error("params", unknown, lightgbm_parameter_names())
        _check_owned_params(self.params)
        _check_reasons(self.reasons)


def _check_known_at_entry(features, name: str = "model.features", error: type[ValueError] = ValueError) -> None:
    """Refuse a feature among the stays' columns known only once the stay ended (:data:`STAY_OUTCOME_COLUMNS`), raising
    ``error`` naming ``name`` (also :meth:`RiskModel.fit <riskmodel.core.risk.model.RiskModel.fit>`'s check).

    The shipped config with ``overstay_days`` added trained to a held-out PR-AUC of 1.0 (the label's own days) and with
    ``exit_port`` (missing while the traveller is in the country) to 0.29, each registered without a word; at the border
    neither is known, so the figures were of a model that cannot be run.
    """
    leaked = [c for c in features if c in STAY_OUTCOME_COLUMNS]
    if leaked:
        raise error(f"`{name}` names {', '.join(f'`{c}`' for c in leaked)}: known only once the stay ended (the "
                         "exit, the permit in force at exit, the label), never at entry, so the model would learn the outcome "
                         "it is to predict and its held-out figures would lie; remove it from `model.features` (the history "
                         "features, e.g. prior_overstays, carry earlier stays' outcomes as known at entry).")


#: The attributes every risk config audits and no model reads (DESIGN: the UK streaming tool, the EU AI Act), with the
#: columns that are them, are read from them or stand for them (:func:`riskmodel.core.features._add_audit_columns`: region
#: from nationality, age and age band from the year of birth); the keys are what ``model.audit_override`` names.
PROTECTED = {
    "nationality": ("nationality", "region"),
    "sex": ("sex",),
    "age": ("age", "age_band", "birth_year"),
}
#: The audit attributes that audit each protected attribute (a year of birth is read into an age band, not audited).
PROTECTED_AUDITED_BY = {"nationality": ("nationality", "region"), "sex": ("sex",), "age": ("age", "age_band")}


def _check_audit_override(override: dict[str, str]) -> None:
    """An override names a protected attribute and a reason a reviewer can read: anything else records nothing."""
    stray = sorted((k for k in override if k not in PROTECTED), key=str)
    if stray:
        raise ValueError(f"`model.audit_override` names {stray}, not a protected attribute; it may name {list(PROTECTED)} (with "
                         "the reason each may be a model input or go unaudited); remove the others.")
    empty = sorted(k for k, v in override.items() if not isinstance(v, str) or not v.strip())
    if empty:
        raise ValueError(f"`model.audit_override.{empty[0]}` gives no reason: write who approved it, when and why "
                         "(it is recorded with the run and shown on the model card), or remove the override.")


def _check_audit_not_input(features: tuple[str, ...], audit: tuple[str, ...], override: dict[str, str] | None = None) -> None:
    """Refuse a feature that is an audited attribute, or the column it is derived from (a derived age, the nationality of a
    region), and a feature that is, or is read from or stands for, a protected attribute, audited or not, unless
    ``override`` names that protected attribute."""
    override = override or {}
    protected = {c: p for p, cols in PROTECTED.items() for c in cols if p not in override}
    allowed = {c for p in override for c in PROTECTED.get(p, ())}
    bad = [f for f in features if (f in audit and f not in allowed) or f in protected]
    if bad:
        def why(f):
            return f"`{f}`" + (f" (protected attribute `{protected[f]}`, or what it is read from or stands for)" if f in protected else "")

        named = "; ".join(why(f) for f in bad)
        raise ValueError(f"`features` holds {named}: an audit attribute of `audit`, or a protected attribute (audited or not) or what one is "
                         "read from: an audit attribute is what the fairness audit judges the "
                         "model by, never its input (the model card says so; the EU AI Act counts migration risk scoring as "
                         "high-risk, and a nationality-streaming tool was withdrawn over it): remove them from `features`"
                         + (", or, where the data owner has approved it, name the protected attribute and the reason in "
                            "`model.audit_override` (recorded with the run and on its model card)." if any(f in protected for f in bad) else "."))


def unaudited_protected(model: ModelConfig) -> list[str]:
    """The protected attributes (:data:`PROTECTED`) ``model.audit`` does not audit and ``model.audit_override`` does not name."""
    return [p for p, by in PROTECTED_AUDITED_BY.items() if not set(by) & set(model.audit) and p not in model.audit_override]


#: The bands score(), the report, operations' referrals (REFER_BANDS) and ``reasons_min_band`` read
#: (:data:`riskmodel.core.scoring.BAND_ORDER` without ``low``), tightest first.
BAND_NAMES = ("high", "elevated")


def _check_band_names(bands: dict[str, float]) -> None:
    """Bands of the names every reader of scores knows, ``high`` the tighter: another name was counted by none of them."""
    stray = sorted(set(bands) - set(BAND_NAMES), key=str)
    if stray:
        raise ValueError(f"`bands` names {stray}, which no reader of the scores knows: score(), the duty report, the referral "
                         f"counts and reasons_min_band read the bands {BAND_NAMES[0]!r} and {BAND_NAMES[1]!r} (and 'low' for "
                         "the rest), so those stays would be counted as neither; name the bands 'high' and 'elevated'.")
    if len(bands) == 2 and not bands["high"] < bands["elevated"]:
        raise ValueError(f"`bands.high` ({bands['high']:g}) must refer fewer than `bands.elevated` ({bands['elevated']:g}): "
                         "'high' is the tighter band (the top 1% by default, elevated the next up to 5%); swap the two values.")


#: LightGBM parameters the model sets from its own settings (RiskModel.fit): in ``params``, each (or an alias of it)
#: was dropped or overrode the setting without a word, and was logged as if used.
OWNED_PARAMS = {"seed": "model.seed", "num_iterations": "model.num_boost_round",
                "early_stopping_round": "model.early_stopping_rounds", "deterministic": "always true, for repeatable fits"}


def _check_owned_params(params: dict[str, Any]) -> None:
    aliases = lightgbm_aliases()
    for primary, owner in OWNED_PARAMS.items():
        for name in (primary, *aliases.get(primary, ())):
            if name in params:
                raise ValueError(f"`params.{name}` is LightGBM's `{primary}`, which the model sets itself ({owner}): in `params` it "
                                 f"would be dropped or override that setting without a word; remove it"
                                 + ("." if " " in owner else f" and set `{owner}`."))


@functools.cache
def lightgbm_parameter_names() -> frozenset[str]:
    """Every parameter name and alias the installed LightGBM knows (see :func:`lightgbm_aliases`).

    Returns
    -------
    frozenset of str
    """
    aliases = lightgbm_aliases()
    return frozenset(aliases) | frozenset(a for names in aliases.values() for a in names)


@functools.cache
def lightgbm_aliases() -> dict[str, tuple[str, ...]]:
    """Each parameter the installed LightGBM knows, with its aliases.

    Read from LightGBM's public C API (``LGBM_DumpParamAliases``, which lists each
    parameter with its aliases) in the library file the ``lightgbm`` package ships,
    so the list follows the installed version.

    Returns
    -------
    dict of str to tuple of str
    """
    spec = importlib.util.find_spec("lightgbm")
    folder = Path(spec.origin).parent if spec is not None and spec.origin else None
    found = sorted(folder.glob("lib/lib_lightgbm.*")) + sorted(folder.glob("lib_lightgbm.*")) if folder else []
    if not found:
        raise ImportError("the LightGBM library file was not found; reinstall lightgbm (`pip install lightgbm`).")
    lib = ctypes.CDLL(str(found[0]))
    size = 1 << 20
    for _ in range(2):  # the second round with the size LightGBM asked for
        needed = ctypes.c_int64(0)
        buffer = ctypes.create_string_buffer(size)
        if lib.LGBM_DumpParamAliases(ctypes.c_int64(size), ctypes.byref(needed), buffer) != 0:
            raise ImportError("LightGBM could not list its parameters (LGBM_DumpParamAliases failed).")
        if needed.value <= size:
            break
        size = needed.value
    return {k: tuple(v) for k, v in json.loads(buffer.value.decode("utf-8")).items()}


_REASON_KEYS = {"features", "text", "missing", "words"}


def _check_reasons(reasons: dict[str, Any]) -> None:
    """Reason groups (see :mod:`riskmodel.core.risk.reasons`): known keys, each feature in one group."""
    owner: dict[str, str] = {}
    for name, spec in reasons.items():
        if isinstance(spec, str):
            continue  # the one-feature template form
        if not isinstance(spec, dict) or not isinstance(spec.get("text"), str) or not spec.get("features"):
            raise ValueError(f"`reasons.{name}` must be a template or a mapping with `features` (a list) and `text`; got {spec!r}.")
        unknown = sorted(set(spec) - _REASON_KEYS)
        if unknown:
            raise ValueError(f"`reasons.{name}` has unknown key(s) {unknown}; allowed: {sorted(_REASON_KEYS)}.")
        for f in spec["features"]:
            # a group may name features this model leaves out (a catalogue of texts): those are skipped
            if f in owner:
                raise ValueError(f"feature {f!r} is in reason groups {owner[f]!r} and {name!r}; put it in one.")
            owner[f] = name


@dataclass(frozen=True)
class DataConfig:
    """Where the stays come from: a crossings file, or the synthetic generator."""

    crossings_path: str | None = None
    n_travellers: int = 20_000
    start: str = "2017-01-01"
    end: str = "2023-12-31"
    seed: int = 0
    cutoff: str | None = None
    grace_days: int = 30

    def __post_init__(self):
        check_iso_dates("data", start=self.start, end=self.end, cutoff=self.cutoff)
        # a label is mature grace_days after the longest stay the visa allows: below 0, stays still allowed to run count as settled
        if self.grace_days < 0:
            raise ValueError(f"`data.grace_days` must be an int >= 0 (days to wait after the longest permitted stay before a label "
                             f"counts as settled); got {self.grace_days}. Use 0 for no extra wait.")


#: The shipped policy's pooling (``fairness.top_groups``): the 10 largest nationalities judged on their own, the rest as "other".
DEFAULT_TOP_GROUPS = {"nationality": 10}


@dataclass(frozen=True)
class FairnessConfig:
    """Audit policy: which groups, how large to judge, and the bounds each group's comparison with the rest must keep.

    A ratio bound ``b`` reads ``b`` above and ``1/b`` below, ``max_fnr_diff`` reads
    ``+/-`` the difference, each on the side that burdens the group (see
    :data:`riskmodel.core.risk.fairness.COMPARISONS`). Every bound must be able to decide:
    a ratio bound is finite and above 1 (a ratio of rates is unbounded, so any finite bound can
    be breached, however large), ``max_fnr_diff`` lies in (0, 1) (a difference of two rates
    lies in [-1, 1], so 1 or more can never be breached); anything else is refused. A bound is breached only when the whole bootstrap interval
    (``confidence``, ``bootstrap`` replicates) lies beyond it. A group with fewer than
    ``min_support`` rows is not judged; one with the rows but fewer than ``min_positives``
    positives is judged on the referral and false-positive excess (they need rows) and not on
    the FNR difference, precision or calibration (they need positives); an attribute with
    fewer than ``min_groups`` groups of ``min_support`` rows and ``min_positives``
    positives fails. ``top_groups`` keeps the largest groups of an attribute and
    pools the rest as ``"other"``. See :mod:`riskmodel.core.risk.fairness`.
    """

    # The defaults are the shipped policy (``configs/risk.yaml``'s ``fairness:``, the data owner's; a test holds every field
    # to it): train_risk_model and fairness_audit without a policy audit as the pipeline and the gate do. They were once
    # looser (ratio bounds of 10, 20 overstays, 95%), and a Python caller read "passed" from bounds no one had written.
    referral_budget: float = 0.05
    min_support: int = 500
    min_positives: int = 30
    min_groups: int = 2
    top_groups: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TOP_GROUPS))
    max_referral_excess: float = 4.0
    max_fpr_excess: float = 4.0
    max_fnr_diff: float = 0.3
    max_precision_ratio: float = 1.5
    max_calibration_ratio: float = 1.41
    bootstrap: int = 200
    confidence: float = 0.90
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.referral_budget < 1:
            raise ValueError(f"`fairness.referral_budget` must be a fraction between 0 and 1; got {self.referral_budget}.")
        ratios = {k: getattr(self, k) for k in ("max_referral_excess", "max_fpr_excess", "max_precision_ratio", "max_calibration_ratio")}
        if any(not 1 < v < math.inf for v in ratios.values()):  # no interval lies wholly beyond inf: never breached
            raise ValueError(f"fairness ratio bounds must be finite numbers > 1 (a group's rate may reach b times the rest's); got {ratios}.")
        # a difference of two rates lies in [-1, 1] and a breach needs the interval's upper end below -b: NaN or a bound
        # of 1 or more can never be breached (the FNR rule off without a word), 0 or below nearly always is
        if not 0 < self.max_fnr_diff < 1:
            raise ValueError(f"`fairness.max_fnr_diff` must be a difference of rates in (0, 1); got {self.max_fnr_diff}. A bound "
                             "of 1 or more can never be breached (a difference of two rates lies in [-1, 1]), so the FNR rule "
                             "would be off: write a difference of rates (0.1 for 10 points); 0.99 still catches a group whose "
                             "overstayers, some 300 or more, are all caught while the rest's are all missed.")
        # 0 let a group of a few rows, or one without an overstayer, count towards min_groups: its interval spans nearly
        # everything and never breaches, so an audit of such groups passed with no power to see anything
        for key in ("min_support", "min_positives"):
            v = getattr(self, key)
            if not v >= 1 or v != int(v):  # NaN fails both comparisons
                raise ValueError(f"`fairness.{key}` must be a whole number >= 1; got {v}. A group below it is reported as too "
                                 "small instead of judged; 0 lets groups no interval can judge count as audited (default "
                                 f"{500 if key == 'min_support' else 30}).")
        # a negative count sliced groups off the end (-3: all but the 3 smallest), 0 pooled everyone into "other"
        few = {k: v for k, v in self.top_groups.items() if v < 1}
        if few:
            k = next(iter(few))
            raise ValueError(f"`fairness.top_groups.{k}` must be an int >= 1 (how many of the largest groups to keep); got {few[k]}. "
                             "Remove the attribute from `top_groups` to judge all its groups.")
        # a breach needs the whole interval beyond its bound: with no bootstrap there is no interval,
        # so no group could ever breach and the audit could fail only for too few groups
        if not 0 < self.confidence < 1 or self.bootstrap < 50 or self.min_groups < 1:
            raise ValueError(
                "`fairness.confidence` must be between 0 and 1, `bootstrap` >= 50 (a breach is read on the bootstrap "
                f"interval; without one no group can breach) and `min_groups` >= 1; got {self.confidence}, {self.bootstrap}, {self.min_groups}."
            )
        # under one replicate beyond each end, the interval is the replicates' range whatever level the report claims
        if self.bootstrap * (1 - self.confidence) / 2 < 1:
            need = math.ceil(2 / (1 - self.confidence) - 1e-9)
            raise ValueError(f"`fairness.confidence` {self.confidence} with `bootstrap` {self.bootstrap} leaves under one replicate "
                             f"beyond each end of the interval, which is then the replicates' range; use at least {need} replicates "
                             "for that confidence, or a lower confidence.")


@dataclass(frozen=True)
class GateConfig:
    """Promotion rules: tolerated loss per metric against the champion, absolute floors, fairness, the paired comparison.

    Each rule names a metric of :func:`~riskmodel.core.risk.metrics.classification_metrics`:
    ``roc_auc``, ``pr_auc`` and ``precision/recall/lift_at_<budget>pct`` (higher is better),
    ``brier``, ``log_loss``, ``ece`` and ``ece_quantile`` (lower is better), each champion rule in the
    section of its direction. Bounds are finite and able to decide: a ``minimum`` above 0, and on a
    metric of [0, 1] a ``minimum`` of at most 1, a ``maximum`` in [0, 1) and a tolerance below 1.
    Anything else is refused when the config is read (a misspelt metric was skipped without a word).
    """

    higher_is_better: dict[str, float] = field(default_factory=lambda: {"roc_auc": 0.005, "pr_auc": 0.01})
    lower_is_better: dict[str, float] = field(default_factory=lambda: {"ece": 0.005, "brier": 0.001})
    minimum: dict[str, float] = field(default_factory=dict)
    maximum: dict[str, float] = field(default_factory=dict)
    require_fairness: bool = True
    #: the risk pipeline's promotion (:func:`~riskmodel.core.risk.gate.evaluate_window_gate`): the
    #: metric champion, challenger and logistic baseline are compared on, paired on one window
    paired_metric: str = "pr_auc"
    paired_bootstrap: int = 400
    #: stays of each class (overstays, other stays) the window needs for the paired comparison to judge: with
    #: fewer, every paired interval is noise and a challenger no better than its champion would pass
    paired_min_per_class: int = 30

    def __post_init__(self):
        if self.paired_metric not in ("pr_auc", "roc_auc"):
            raise ValueError(f"`gate.paired_metric` must be 'pr_auc' or 'roc_auc'; got {self.paired_metric!r}.")
        if self.paired_bootstrap < 50:
            raise ValueError(f"`gate.paired_bootstrap` must be an int >= 50 (an interval needs replicates); got {self.paired_bootstrap}.")
        if isinstance(self.paired_min_per_class, bool) or not isinstance(self.paired_min_per_class, int) or self.paired_min_per_class < 1:
            raise ValueError("`gate.paired_min_per_class` must be an int >= 1 (the overstays and other stays a window needs for the "
                             f"paired comparison to judge); got {self.paired_min_per_class!r}.")
        for rules in ("higher_is_better", "lower_is_better", "minimum", "maximum"):
            bad = {k: v for k, v in getattr(self, rules).items() if not _finite_number(v)}
            if bad:  # an infinite tolerance or bound passes every challenger: the rule is off without a word
                raise ValueError(f"`gate.{rules}` must map metrics to finite numbers; got {bad}. To drop a rule, remove "
                                 "its metric from the section instead of giving it an unbounded value.")
        _check_gate_metrics(self)


def _finite_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: Metrics of :func:`~riskmodel.core.risk.metrics.classification_metrics` a gate rule may name, by the
#: direction that is better; the per-budget ones (``recall_at_5pct``, ...) are matched by :data:`_AT_BUDGET`.
_HIGHER_IS_BETTER = ("roc_auc", "pr_auc")
_LOWER_IS_BETTER = ("brier", "log_loss", "ece", "ece_quantile")
_AT_BUDGET = re.compile(r"(precision|recall|lift)_at_\d+(_\d+)?pct")
#: Metrics that lie in [0, 1] (log_loss and lift are unbounded above).
_UNIT = ("roc_auc", "pr_auc", "brier", "ece", "ece_quantile")


def _direction(metric: str) -> str | None:
    if metric in _HIGHER_IS_BETTER or _AT_BUDGET.fullmatch(metric):
        return "higher_is_better"
    return "lower_is_better" if metric in _LOWER_IS_BETTER else None


def _check_gate_metrics(gate: GateConfig) -> None:
    """Every rule names a metric the gate reads, in the section of its direction, with a bound that can decide.

    A misspelt metric in a champion rule was skipped (the champion never logged it), one of the other
    direction turned the rule round, and a bound a metric of [0, 1] can never cross decided nothing.
    """
    known = [*_HIGHER_IS_BETTER, *_LOWER_IS_BETTER, "precision_at_5pct", "recall_at_5pct", "lift_at_5pct"]
    for rules in ("higher_is_better", "lower_is_better", "minimum", "maximum"):
        names = list(getattr(gate, rules))
        unknown = [m for m in names if _direction(m) is None]
        if unknown:
            hints = " ".join(f"`{m}`: did you mean `{n[0]}`?" for m in unknown if (n := difflib.get_close_matches(str(m), known, n=1)))
            raise ValueError(f"`gate.{rules}` names metric(s) {unknown} the gate does not know; it reads {known[:6]} and "
                             f"precision/recall/lift_at_<budget>pct (e.g. recall_at_5pct). {hints} Check the spelling.".replace("  ", " "))
        wrong = [m for m in names if rules in ("higher_is_better", "lower_is_better") and _direction(m) != rules]
        if wrong:
            raise ValueError(f"`gate.{rules}` names {wrong}, whose better direction is the other one: the rule would "
                             f"refuse improvements and pass losses; move them to `gate.{_direction(wrong[0])}`.")
        for m, v in getattr(gate, rules).items():
            _check_gate_bound(rules, m, v)


def unit_metric(metric: str) -> bool:
    """Whether a gate metric lies in [0, 1] (every one lies at or above 0; log_loss and lift are unbounded above)."""
    return metric in _UNIT or metric.startswith(("precision_at_", "recall_at_"))


def _check_gate_bound(rules: str, metric: str, v: float) -> None:
    """A bound that cannot fail switches its rule off; one above 1 on a 0-1 metric is most likely a percentage."""
    unit = unit_metric(metric)
    never_fail = (
        (rules == "minimum" and v <= 0)
        or (unit and rules == "maximum" and v >= 1)
        or (unit and rules in ("higher_is_better", "lower_is_better") and v >= 1)
    )
    where = f"`gate.{rules}.{metric}`"
    if never_fail:
        raise ValueError(f"{where} is {v:g}, a bound {metric} can never fail (it lies in {'[0, 1]' if unit else '[0, inf)'}): the rule "
                         "would pass every model. Write a fraction (5% is 0.05), or remove the metric to drop the rule.")
    if unit and rules == "minimum" and v > 1:
        raise ValueError(f"{where} is {v:g}, above 1, which {metric} never reaches: no model could pass. It is a fraction "
                         f"of 1: write {v / 100:g} for {v:g}%.")
    if unit and rules == "maximum" and v < 0:
        raise ValueError(f"{where} is {v:g}, below 0, which {metric} never reaches: no model could pass; write a fraction in [0, 1).")


def _check_gate_budgets(gate: GateConfig, budgets: tuple[float, ...]) -> None:
    """A gate's budget metric must be at a budget training logs (``model.budgets``), or it reads None at every promotion."""
    logged = {f"{b * 100:g}".replace(".", "_") for b in budgets}
    for rules in ("higher_is_better", "lower_is_better", "minimum", "maximum"):
        off = [m for m in getattr(gate, rules) if _AT_BUDGET.fullmatch(m) and m.split("_at_")[1][:-3] not in logged]
        if off:
            want = float(off[0].split("_at_")[1][:-3].replace("_", ".")) / 100
            raise ValueError(f"`gate.{rules}` names {off}, at a referral budget training does not log: `model.budgets` is "
                             f"{list(budgets)}; add {want:g} to `model.budgets`, or name a metric at one of those budgets.")


@dataclass(frozen=True)
class TuningConfig:
    """Optional time-budgeted search on time-ordered folds (:func:`~riskmodel.core.risk.tuning.tune`).

    ``n_trials`` and ``folds`` are ints >= 1 and ``timeout_seconds`` a number > 0: fewer trials or no
    time ran no trial at all, and tuning stopped with no result naming no setting. The search space
    is fixed in code and the folds are cut from the rows before ``model.splits.test_fraction``, so
    no setting here can reach the holdout of the log it was tuned on. ``searched_through`` is written
    by the search (``riskmodel train risk --tune``): the entry time of the last stay its folds read. A
    config tuned on a later log than it is trained on (a backfill, a shorter log) would have chosen its
    parameters on the gate window, so ``promote`` refuses a window starting on or before it. None: the
    parameters were not chosen by the search.
    """

    n_trials: int = 20
    timeout_seconds: int = 600
    folds: int = 3
    searched_through: str | None = None

    def __post_init__(self):
        check_tuning(self.n_trials, self.timeout_seconds, self.folds, error=ValueError)
        if self.searched_through is not None and not isinstance(self.searched_through, str):
            raise ValueError("`tuning.searched_through` must be the text of a time (written by `riskmodel train risk --tune`) or "
                             f"null; got {self.searched_through!r}.")


def check_tuning(n_trials, timeout_seconds, folds, *, error: type[Exception]) -> None:
    """Refuse tuning settings that run no trial or no fold, naming the setting and the fix.

    Written so that NaN, whose comparisons are all False, fails every check.
    """
    def whole(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if not (whole(n_trials) and n_trials >= 1):
        raise error(f"`tuning.n_trials` must be an int >= 1 (trials to run: with none, tuning stops with no result); got "
                    f"{n_trials!r}. Use e.g. 20.")
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int | float) or not timeout_seconds > 0:
        raise error(f"`tuning.timeout_seconds` must be a number of seconds > 0 (the search's wall-clock budget: with none, "
                    f"no trial starts); got {timeout_seconds!r}. Use e.g. 600.")
    if not (whole(folds) and folds >= 1):
        raise error(f"`tuning.folds` must be an int >= 1 (validation blocks cut from the rows before the test slice); "
                    f"got {folds!r}. Use e.g. 3.")


@dataclass(frozen=True)
class RiskConfig:
    """The whole ``configs/risk.yaml``."""

    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    tracking: TrackingConfig = field(default_factory=lambda: TrackingConfig("overstay-risk", "overstay-risk"))
    tuning: TuningConfig = field(default_factory=TuningConfig)

    def __post_init__(self):
        _check_gate_budgets(self.gate, self.model.budgets)
        # the gate checks nationality, sex and age (DESIGN): a config that stops auditing one was read without a word (an
        # audit of nothing fails on its own: no group judged, no pass, so every promotion is refused and says why)
        gone = unaudited_protected(self.model) if self.model.audit else []
        if gone:
            how = {"nationality": "nationality or region", "sex": "sex", "age": "age_band"}
            raise ValueError(f"`model.audit` {list(self.model.audit)} does not audit the protected attribute(s) "
                             f"{', '.join(f'`{p}`' for p in gone)}: every risk model is audited by nationality, sex and age and "
                             f"the gate checks them. Add {', '.join(how[p] for p in gone)} to `model.audit`, or, where the data "
                             "owner has decided otherwise, name each with the reason in `model.audit_override` (recorded with "
                             "the run and on its model card).")
        # a misspelt attribute in top_groups was ignored: that attribute went unpooled without a word
        # the default's pooling of nationality pools nothing where nationality is not audited: no typo to name
        stray = sorted((k for k in set(self.fairness.top_groups) - set(self.model.audit)
                        if DEFAULT_TOP_GROUPS.get(k) != self.fairness.top_groups[k]), key=str)
        if stray:
            hints = " ".join(f"`{k}`: did you mean `{n[0]}`?" for k in stray if (n := difflib.get_close_matches(str(k), self.model.audit, n=1)))
            raise ValueError(f"`fairness.top_groups` names {stray}, not among the audit attributes `model.audit` "
                             f"{list(self.model.audit)}. {hints} Fix the spelling, or add the attribute to `model.audit`.".rstrip())


def audit_policy_changes(trained: dict | None, cfg: RiskConfig) -> list[str]:
    """What of the audit policy ``cfg`` changes from the config a version was trained under (its run's ``config/risk.json``).

    The fairness section, the audit attributes and their recorded overrides (``model.audit_override``), the target and the
    grace before a label counts: the gate judges fairness with them, so each must be the one the version's training audit
    used, for a promotion (the challenger) and a rollback (the version put back) alike. Without a logged config the check
    cannot be made, which is no pass.
    """
    if not isinstance(trained, dict):
        return ["the version's training run logged no config/risk.json, so its policy cannot be compared"]
    now, missing = to_dict(cfg), object()
    keys = [("fairness", k) for k in now["fairness"]] + [("model", "audit"), ("model", "audit_override"), ("model", "target"),
                                                         ("data", "grace_days")]
    changes = []
    for section, key in keys:
        # a run logged before model.audit_override existed had none: the shipped config's empty override is no change
        then = (trained.get(section) or {}).get(key, {} if key == "audit_override" else missing)
        if then != now[section][key]:
            changes.append(f"{section}.{key} {'(not logged)' if then is missing else repr(then)} -> {now[section][key]!r}")
    return changes
