"""Fairness audit with power: per-group rates with bootstrap intervals, against a written policy.

Audit attributes (nationality, region, sex, age band by default) are *never*
model features, nor are the columns they are read from (a config listing one is refused:
:class:`~riskmodel.core.risk.config.ModelConfig`); the audit measures what the model does
to each group anyway. Referral means "score in the top ``referral_budget`` of
the audited rows", the way a desk with a fixed capacity would use the score.
An attribute with many small groups (nationality) is audited over its
``top_groups`` largest groups, the rest pooled as ``"other"`` and named in the report's ``notes``
(each is never judged on its own).

Per group: ``support, positives, referral_rate, fpr, fnr, precision,
mean_predicted, observed_rate``, the plain ``referral_ratio`` and ``fpr_ratio``
(the group's rate over the rest's) and five comparisons, each with a bootstrap
interval (``_low``, ``_high``); each compares the group with everyone *outside*
it (against the whole population a group of half the rows could never be
referred more than twice as often):

* ``referral_excess``: the referral ratio over the group's overstay-rate ratio to the rest
  (1 when referrals follow the overstays: a riskier group may be referred more);
* ``fpr_excess``: the false-positive-rate ratio over the overstay-rate ratio;
* ``fnr_diff``: false-negative rate minus the rest's (overstayers missed);
* ``precision_ratio``: precision over the rest's (referred who did overstay);
* ``calibration_ratio``: the group's predicted odds over its observed odds, relative to the
  same for the rest (log-odds calibration intercepts, see :class:`_Calibration`): doubled
  odds for one group read 2 whatever its base rate, and a drift shared by all cancels.

A **breach** is a bound of the policy (:class:`~riskmodel.core.risk.config.FairnessConfig`)
exceeded *beyond the interval*: the whole interval lies outside the allowed
range, so noise alone does not fail a model and a real disparity is not waved
through on a point estimate. Bounds are read on the side that puts more of the
desk's burden on the group (see :data:`COMPARISONS`); an overstated calibration is not a
breach for a group the desk refers less often than its own overstays explain, beyond noise
(``referral_excess`` interval below 1): it carries less of the burden than its risk explains, and the
table still shows it. Less often than the rest (``referral_ratio`` below 1) is no such exemption: a
large low-risk group whose odds are doubled is still referred less often than the rest. Each comparison is judged on
the data it needs. A group with fewer than ``min_support`` rows is reported as ``too small``
and not judged at all. The referral and false-positive excesses need rows (and the
non-overstayers among them), not overstayers: a group with ``min_support`` rows is judged on
them however few its overstayers, so a large low-risk group the desk refers out of proportion
breaches (every one of its referrals a false positive). Its overstay-rate ratio, which they
divide by, is then read at the upper end of its exact Poisson interval (0 overstays allow up to
3.0 at 90%), so a zero or near-zero count that noise explains is no infinite excess; the
bootstrap cannot see that noise (a group without overstayers has none in every replicate).
A group that missed none of its overstayers has no miss to resample either: its ``fnr_diff`` upper end is
read with its miss rate at the exact (Clopper-Pearson) bound, ``1 - alpha**(1/n)`` for ``n`` overstayers.
The false-negative difference, precision and calibration need overstayers: with fewer than
``min_positives`` they are not judged (no interval), the group's status is ``partly judged``
(or ``breach``) and its ``not_judged`` text and the report's ``notes`` give its counts, so a
pass never hides what went unjudged. A group judged on calibration whose interval spans a factor of
the bound squared or more (2 for 1.41: a few overstays above ``min_positives``, or spread over few
travellers) could not show the bias the bound is set to catch more often than not: the notes name it too. An attribute with fewer than ``min_groups`` groups judged
on every comparison **fails** the audit: an audit that cannot see is not a pass.

The bootstrap resamples rows with replacement (multinomial counts, one draw per replicate
shared by every attribute and group, so a group and the population it is compared with
move together), or, given ``clusters`` (the traveller of each row), resamples travellers
and gives each traveller's count to all its rows: a traveller's stays have correlated
outcomes, and resampled one by one they would give intervals too narrow. The referral
threshold is the policy's, fixed on the audited rows, and is not re-estimated per replicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.risk.config import FairnessConfig
from riskmodel.core.risk.metrics import cluster_codes

__all__ = ["FairnessReport", "fairness_audit", "audit_groups", "COMPARISONS"]

#: Each comparison: (column, config field of its bound, side that burdens the group, form).
#: The audit protects a group from carrying more of the desk's burden than its risk explains, so a
#: breach counts on that side only: referred, or its non-overstayers referred, more often than the
#: rest beyond what its own overstay rate explains; its overstayers caught more often (FNR lower);
#: its referrals less often right; its risk overstated relative to the rest's.
#: A "ratio" bound b reads b above and 1/b below; a "diff" bound b reads +b above and -b below.
COMPARISONS = (
    ("referral_excess", "max_referral_excess", "above", "ratio"),
    ("fpr_excess", "max_fpr_excess", "above", "ratio"),
    ("fnr_diff", "max_fnr_diff", "below", "diff"),
    ("precision_ratio", "max_precision_ratio", "below", "ratio"),
    ("calibration_ratio", "max_calibration_ratio", "above", "ratio"),
)
#: The comparisons that need overstayers (``min_positives`` of them): a group with enough rows but fewer
#: overstayers is judged on the others (referral and false-positive excess, which need rows) and not on these.
NEEDS_POSITIVES = ("fnr_diff", "precision_ratio", "calibration_ratio")
#: Reported beside the comparisons (point estimates, no bound): the plain ratios to the rest.
PLAIN = ("referral_ratio", "fpr_ratio")
#: Score bins of the calibration intercepts in the bootstrap (each bin at its mean log-odds);
#: with no more distinct scores than this, every distinct score is its own bin and the fit is exact.
CALIBRATION_BINS = 512
#: Each group's own rates, reported with an interval (no bound: the comparisons judge): the desk's referrals, its false
#: positives, the overstayers it missed, its referrals that were right.
RATES = ("referral_rate", "fpr", "fnr", "precision")
#: Columns given a bootstrap interval: the group's rates, the comparisons, and the plain ratios (they bound the excesses
#: of a group with few overstayers, see :func:`_few_positives_floor`).
_BOOTSTRAPPED = (*RATES, *PLAIN, *(c[0] for c in COMPARISONS))

OTHER = "other"
#: The violation of an audit given no attribute (``model.audit`` empty): it cannot see, so it does not pass.
NO_ATTRIBUTE = "no audit attribute: the audit judged no group; name the attributes to audit (model.audit, e.g. nationality, region, sex, age_band)"
MISSING = "<missing>"


@dataclass
class FairnessReport:
    """Result of :func:`fairness_audit`.

    Attributes
    ----------
    table : DataFrame
        One row per (attribute, group): ``attribute, group, support, positives,
        referral_rate, fpr, fnr, precision`` (each with ``_low``, ``_high``: the policy's ``confidence``, two-sided,
        percentile bootstrap, an end the bootstrap pins at 0 or 1 read at its exact bound; none for a group with fewer
        than ``min_support`` rows), ``mean_predicted, observed_rate, calibration_gap``, ``referral_ratio, fpr_ratio``
        (each with ``_low``, ``_high``),
        then for each comparison of :data:`COMPARISONS` its value, ``_low`` and ``_high`` (none where it is not
        judged), then ``enough_rows`` (``min_support`` rows: judged on the referral and false-positive excess),
        ``enough_support`` (also ``min_positives`` overstayers: judged on every comparison), ``breaches`` (text),
        ``status`` (``"ok"``, ``"breach"``, ``"partly judged"``: enough rows, too few overstayers, no breach,
        or ``"too small"``: too few rows) and ``not_judged`` (what was not judged and the counts why, or a calibration
        interval too wide to see odds overstated ``max_calibration_ratio`` squared; empty when all was judged with that power).
    summary : dict of str to float
        Per attribute: ``{attribute}_auditable_groups`` (judged on every comparison),
        ``{attribute}_partly_judged_groups`` (enough rows, too few overstayers), ``{attribute}_breaches``
        and, over the groups judged on each, ``{attribute}_max_referral_ratio``,
        ``{attribute}_max_fpr_ratio``, ``{attribute}_max_referral_excess``,
        ``{attribute}_max_fpr_excess`` (groups with enough rows), ``{attribute}_max_fnr_diff``,
        ``{attribute}_max_precision_ratio``, ``{attribute}_max_calibration_ratio``
        (auditable groups; ratios folded above 1: a group at half the population's rate reads 2)
        and ``{attribute}_max_calibration_gap``.
    violations : list of str
        Each breach and each attribute that cannot be audited, in words. Empty when the audit passes.
    threshold : float
        Score at and above which a row is referred.
    notes : list of str
        Each group not judged on every comparison (too few rows or overstayers), with its counts, and each group judged
        whose calibration interval is too wide to show odds overstated ``max_calibration_ratio`` squared (doubled for
        1.41) beyond the bound, more often than not (too few overstays for their spread over travellers), and per
        attribute the groups pooled as ``"other"`` beyond ``top_groups`` (never judged on their own): a pass
        does not cover what these did not judge, so whatever reports the verdict shows them beside it.
    """

    table: pd.DataFrame
    summary: dict[str, float]
    violations: list[str] = field(default_factory=list)
    threshold: float = float("nan")
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations


def audit_groups(values: pd.Series, top: int | None = None) -> np.ndarray:
    """Group label of each row: the value as text, ``"<missing>"``, or ``"other"`` beyond the ``top`` largest groups.

    Ties in size are broken by the label, so the same data always gives the same groups.
    """
    g = pd.Series(values.astype(object).to_numpy()).fillna(MISSING).astype(str)
    if top is not None:
        counts = g.value_counts()
        order = sorted(counts.index, key=lambda k: (-counts[k], k))
        g = g.where(g.isin(order[:top]), OTHER)
    return g.to_numpy()


@dataclass
class _Cells:
    """Rows pooled into cells sharing every group label, the outcome and the referral.

    Every count of the audit is a sum over cells, so a bootstrap replicate costs two
    passes over the rows (the resample and its weight per cell) whatever the number
    of attributes and groups.
    """

    row: np.ndarray  # cell of each row
    group: list[np.ndarray]  # per attribute, the group code of each cell
    y: np.ndarray  # outcome of each cell
    r: np.ndarray  # referral of each cell

    @classmethod
    def build(cls, codes: list[np.ndarray], y: np.ndarray, r: np.ndarray) -> _Cells:
        key = np.zeros(len(y), np.int64)
        for c in [*codes, y.astype(np.int64), r.astype(np.int64)]:
            # compress after each column, so the key never overflows however many groups there are
            key = np.unique(key * (int(c.max(initial=0)) + 1) + c, return_inverse=True)[1].astype(np.int64)
        _, first = np.unique(key, return_index=True)
        return cls(row=key, group=[c[first] for c in codes], y=y[first], r=r[first])

    def weigh(self, w: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Total row weight and weighted sum of ``p`` per cell."""
        m = len(self.y)
        return np.bincount(self.row, weights=w, minlength=m), np.bincount(self.row, weights=w * p, minlength=m)


def _sums(group: np.ndarray, k: int, cells: _Cells, cw: np.ndarray, cp: np.ndarray) -> np.ndarray:
    """Weighted counts per group, shape (6, k + 1): the last column is the whole population.

    Rows: support, positives, referred, true positives, false positives, sum of predicted probabilities.
    """
    y, r = cells.y, cells.r
    parts = (cw, cw * y, cw * r, cw * y * r, cw * (1 - y) * r, cp)
    out = np.empty((len(parts), k + 1))
    for i, v in enumerate(parts):
        out[i, :k] = np.bincount(group, weights=v, minlength=k)
        out[i, k] = v.sum()
    return out


def _rates(s: np.ndarray) -> dict[str, np.ndarray]:
    """Rates per column of :func:`_sums` output (groups, then everyone) and each group's comparison with the rest.

    The comparison is with everyone *outside* the group: against the whole population a
    group holding half the rows could never be referred more than twice as often, however
    it is treated.
    """

    def rates_of(n, pos, ref, tp, fp, psum):
        return {
            "referral_rate": ref / n,
            "fpr": fp / (n - pos),
            "fnr": 1 - tp / pos,
            "precision": tp / ref,
            "mean_predicted": psum / n,
            "observed_rate": pos / n,
        }

    with np.errstate(invalid="ignore", divide="ignore"):
        own = rates_of(*s)
        rest = rates_of(*(s[:, -1:] - s))
        own["referral_ratio"] = own["referral_rate"] / rest["referral_rate"]
        own["fpr_ratio"] = own["fpr"] / rest["fpr"]
        base = own["observed_rate"] / rest["observed_rate"]
        own["referral_excess"] = own["referral_ratio"] / base
        own["fpr_excess"] = own["fpr_ratio"] / base
        own["fnr_diff"] = own["fnr"] - rest["fnr"]
        own["precision_ratio"] = own["precision"] / rest["precision"]
    return own


@dataclass
class _Calibration:
    """Scores binned per (group, outcome) of each attribute, for the groups' calibration intercepts.

    The calibration intercept of a set of rows is the ``a`` that makes ``logit(p) + a``
    calibrated on them (the maximum-likelihood fit of ``y ~ offset(logit p) + a``); a
    group's ``calibration_ratio`` is ``exp(a_rest - a_group)``: its predicted odds over its
    observed odds, relative to the same for everyone outside it. Doubling a group's odds
    doubles it exactly, whatever the group's risk; a drift shared by everyone cancels.
    """

    z: np.ndarray  # mean log-odds of each bin
    keys: list[np.ndarray]  # per attribute, the (group, outcome, bin) index of each row
    ks: list[int]
    start: list[tuple[np.ndarray, np.ndarray]] | None = None  # the full-data intercepts, where replicates start

    @classmethod
    def build(cls, p: np.ndarray, y: np.ndarray, codes: list[np.ndarray], ks: list[int]) -> _Calibration:
        z = np.log(np.clip(p, 1e-9, 1 - 1e-9) / (1 - np.clip(p, 1e-9, 1 - 1e-9)))
        values, inv = np.unique(z, return_inverse=True)
        if len(values) > CALIBRATION_BINS:
            edges = np.quantile(z, np.linspace(0, 1, CALIBRATION_BINS + 1)[1:-1])
            inv = np.searchsorted(edges, z, side="right")
        nb = int(inv.max(initial=0)) + 1
        # each bin at the log-odds of its mean probability, so a bin predicts the positives its rows do
        pc = np.clip(p, 1e-9, 1 - 1e-9)
        pbin = np.bincount(inv, weights=pc, minlength=nb) / np.maximum(np.bincount(inv, minlength=nb), 1)
        zbin = np.log(np.clip(pbin, 1e-9, 1 - 1e-9) / (1 - np.clip(pbin, 1e-9, 1 - 1e-9)))
        yy = y.astype(np.int64)
        return cls(z=zbin, keys=[(c * 2 + yy) * nb + inv for c in codes], ks=ks)

    def ratios(self, w: np.ndarray) -> list[np.ndarray]:
        """Per attribute, each group's calibration ratio under row weights ``w``.

        The first call (all weights 1) solves from 0 and keeps its intercepts; a bootstrap
        replicate starts from them, a few Newton steps from its own optimum.
        """
        nb = len(self.z)
        out, found = [], []
        for i, (key, k) in enumerate(zip(self.keys, self.ks, strict=True)):
            n = np.bincount(key, weights=w, minlength=k * 2 * nb).reshape(k, 2, nb)
            pos, tot = n[:, 1, :], n.sum(axis=1)
            g0, r0 = self.start[i] if self.start else (None, None)
            steps = 6 if self.start else 40
            a_group = _intercepts(pos, tot, self.z, g0, steps)
            a_rest = _intercepts(pos.sum(axis=0) - pos, tot.sum(axis=0) - tot, self.z, r0, steps)
            found.append((a_group, a_rest))
            with np.errstate(invalid="ignore", over="ignore"):
                out.append(np.exp(a_rest - a_group))
        if self.start is None:
            self.start = found
        return out


def _intercepts(pos: np.ndarray, tot: np.ndarray, z: np.ndarray, start: np.ndarray | None, steps: int) -> np.ndarray:
    """Per row of ``pos``/``tot`` (weighted positives and rows per score bin), the calibration intercept.

    Newton's method on the concave log-likelihood, steps capped at 1 in log-odds; NaN where a
    row has no positives or no negatives (the intercept is then infinite).
    """
    a = np.zeros(len(pos)) if start is None else np.nan_to_num(start)
    target = pos.sum(axis=1)
    for _ in range(steps):
        q = 1 / (1 + np.exp(-(z[None, :] + a[:, None])))
        grad = target - (tot * q).sum(axis=1)
        hess = (tot * q * (1 - q)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.clip(grad / hess, -1.0, 1.0)
        a = a + np.nan_to_num(step)
    a[(target <= 0) | (target >= tot.sum(axis=1))] = np.nan
    return a


def _intervals(cells: _Cells, calib: _Calibration, p: np.ndarray, config: FairnessConfig,
               codes: np.ndarray | None = None) -> list[dict[str, tuple]]:
    """Percentile bootstrap interval of each comparison, per group of each attribute.

    One resample of the rows (of the clusters, given their ``codes``: every row of a
    cluster drawn m times weighs m) per replicate serves every attribute: the groups and
    the population they are compared with move together, and the draw is paid once.
    """
    rng = np.random.default_rng(config.seed)
    ks = calib.ks
    units = len(p) if codes is None else int(codes.max(initial=-1)) + 1
    draws = [{name: np.empty((config.bootstrap, k)) for name in _BOOTSTRAPPED} for k in ks]
    for b in range(config.bootstrap):
        w = np.bincount(rng.integers(0, units, units), minlength=units).astype(float)
        if codes is not None:
            w = w[codes]
        cw, cp = cells.weigh(w, p)
        for group, k, d, cal in zip(cells.group, ks, draws, calib.ratios(w), strict=True):
            rates = _rates(_sums(group, k, cells, cw, cp))
            rates["calibration_ratio"] = cal
            for name in d:
                d[name][b] = rates[name][:k]
    alpha = (1 - config.confidence) / 2
    out = []
    for k, d in zip(ks, draws, strict=True):
        found = {}
        for name, v in d.items():
            # NaN (no referrals or no positives of a group in a replicate) carries no information;
            # "lower"/"higher" pick observed replicates, so an infinite ratio never interpolates to NaN
            lo, hi = np.full(k, np.nan), np.full(k, np.nan)
            seen = ~np.isnan(v).all(axis=0)
            if seen.any():
                lo[seen] = np.nanquantile(v[:, seen], alpha, axis=0, method="lower")
                hi[seen] = np.nanquantile(v[:, seen], 1 - alpha, axis=0, method="higher")
            found[name] = (lo, hi)
        out.append(found)
    return out


def _breaches(t: pd.DataFrame, config: FairnessConfig) -> list[list[str]]:
    """Per row of the group table, the comparisons whose whole interval lies beyond the policy's bound."""
    found: list[list[str]] = [[] for _ in range(len(t))]
    for name, bound_field, side, form in COMPARISONS:
        b = float(getattr(config, bound_field))
        lo, hi = t[f"{name}_low"].to_numpy(), t[f"{name}_high"].to_numpy()
        if side == "above":
            limit, text = b, (f"{b:g}" if form == "ratio" else f"+{b:g}")
            with np.errstate(invalid="ignore"):
                beyond = lo > limit
        else:
            limit, text = (1 / b, f"1/{b:g}") if form == "ratio" else (-b, f"-{b:g}")
            with np.errstate(invalid="ignore"):
                beyond = hi < limit
        if name == "calibration_ratio":
            # a group the desk refers less often than its own overstays explain, beyond noise, carries no more of
            # its burden than its risk explains: its overstated risk is an accuracy finding (reported), not a breach.
            # Less often than the rest is not that: a large low-risk group with doubled odds is still referred less
            # often than the rest, yet half again as often as its overstays explain
            with np.errstate(invalid="ignore"):
                beyond &= ~(t["referral_excess_high"].to_numpy() < 1)
        for i in np.flatnonzero(beyond):
            found[i].append(f"{bound_field} breached: {name} {t[name].iat[i]:.3g} ({config.confidence:.0%} interval {lo[i]:.3g} to "
                            f"{hi[i]:.3g}) {side} {text}")
    return found


def _group_table(attr: str, groups: np.ndarray, group: np.ndarray, cells: _Cells, cw, cp, calibration: np.ndarray,
                 config: FairnessConfig) -> pd.DataFrame:
    """Point estimates per group of one attribute (intervals and status are added by :func:`_judge`)."""
    k = len(groups)
    sums = _sums(group, k, cells, cw, cp)
    rates = _rates(sums)
    rates["calibration_ratio"] = calibration
    t = pd.DataFrame({"attribute": attr, "group": groups, "support": sums[0, :k].astype(int), "positives": sums[1, :k].astype(int)})
    for col in ("referral_rate", "fpr", "fnr", "precision", "mean_predicted", "observed_rate"):
        t[col] = rates[col][:k]
    t["calibration_gap"] = (t["mean_predicted"] - t["observed_rate"]).abs()
    for name in PLAIN:
        t[name] = rates[name][:k]
    for name, *_ in COMPARISONS:
        t[name] = rates[name][:k]
    # the referral and false-positive excess need rows; the FNR, precision and calibration need overstayers too
    t["enough_rows"] = t["support"] >= config.min_support
    t["enough_support"] = t["enough_rows"] & (t["positives"] >= config.min_positives)
    return t


def _few_positives_floor(t: pd.DataFrame, config: FairnessConfig) -> np.ndarray:
    """Per group, its overstay-rate ratio to the rest with its overstays at the upper end of their exact Poisson interval.

    A group's excesses divide by its overstay-rate ratio; with few overstayers the bootstrap cannot see how
    far noise moves that count (a group with none has none in every replicate: an infinite excess, whatever
    the rows), so for such a group a plain ratio's lower end over this ratio bounds the excess's lower end.
    At ``confidence`` 0.9 a group with 0 overstays may have up to 3.0 (``-ln 0.05``), one with 10 up to 17.
    The groups of an attribute hold every row, so the rest of a group is the table's total less the group.
    """
    from scipy import stats

    pos, n = t["positives"].to_numpy(float), t["support"].to_numpy(float)
    high = stats.chi2.ppf(1 - (1 - config.confidence) / 2, 2 * (pos + 1)) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return (high / n) / ((pos.sum() - pos) / (n.sum() - n))


def _no_miss_ceiling(t: pd.DataFrame, judged: np.ndarray, config: FairnessConfig) -> None:
    """Raise the upper end of ``fnr_diff`` for a judged group that missed none of its overstayers to what its exact bound allows.

    Every bootstrap replicate of such a group misses none either, so its interval holds only the rest's noise. A miss
    rate of 0 in ``n`` overstayers allows up to ``1 - alpha**(1/n)`` (Clopper-Pearson, ``alpha`` the policy's one-sided
    level): the difference is read at that less the rest's miss rate (the groups of an attribute hold every row).
    """
    pos, fnr = t["positives"].to_numpy(float), t["fnr"].to_numpy(float)
    none_missed = judged & (fnr == 0) & (pos > 0)
    if not none_missed.any():
        return
    alpha = 0.5 - config.confidence / 2  # the one-sided level of the two-sided interval
    misses = np.nan_to_num(fnr * pos)
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = (misses.sum() - misses) / (pos.sum() - pos)
        ceiling = 1 - alpha ** (1 / pos) - rest
    t["fnr_diff_high"] = np.where(none_missed, np.fmax(t["fnr_diff_high"].to_numpy(float), ceiling), t["fnr_diff_high"].to_numpy(float))


def _exact_ends(t: pd.DataFrame, config: FairnessConfig) -> None:
    """Widen a group's rate interval that the bootstrap pins at 0 or 1 to the exact (Clopper-Pearson) one-sided bound.

    A rate of 0 (or 1) out of ``m`` is 0 (1) in every replicate, so its percentile interval has no width; ``k = 0`` of
    ``m`` allows up to ``1 - alpha**(1/m)``, ``k = m`` down to ``alpha**(1/m)``, ``alpha`` the policy's one-sided level.
    """
    alpha = 0.5 - config.confidence / 2
    n, pos = t["support"].to_numpy(float), t["positives"].to_numpy(float)
    referred = np.rint(t["referral_rate"].to_numpy(float) * n)
    for name, m in (("referral_rate", n), ("fpr", n - pos), ("fnr", pos), ("precision", referred)):
        rate, lo, hi = (t[c].to_numpy(float) for c in (name, f"{name}_low", f"{name}_high"))
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = ~np.isnan(lo) & (m > 0)
            t[f"{name}_high"] = np.where(shown & (rate == 0), np.fmax(hi, 1 - alpha ** (1 / m)), hi)
            t[f"{name}_low"] = np.where(shown & (rate == 1), np.fmin(lo, alpha ** (1 / m)), lo)


def _not_judged(t: pd.DataFrame, config: FairnessConfig) -> list[str]:
    """Per group, what the audit did not judge and the count why (empty when every comparison was judged)."""
    out = []
    for n, pos, rows, full in zip(t["support"], t["positives"], t["enough_rows"], t["enough_support"], strict=True):
        if not rows:
            out.append(f"no comparison judged: {n} rows (need {config.min_support})")
        elif not full:
            out.append(f"{', '.join(NEEDS_POSITIVES)} not judged: {pos} overstays (need {config.min_positives}); "
                       "judged on referral and false-positive excess")
        else:
            out.append("")
    return out


def _judge(t: pd.DataFrame, intervals: dict[str, tuple], config: FairnessConfig) -> pd.DataFrame:
    """Add each comparison's interval where it is judged, the breaches, the status and what was not judged."""
    rows, full = t["enough_rows"].to_numpy(), t["enough_support"].to_numpy()
    nan = np.full(len(t), np.nan)
    for name in _BOOTSTRAPPED:
        lo, hi = intervals.get(name, (nan, nan))
        # a comparison not judged for a group (too few rows, or overstayers for those that need them) gets no
        # interval: it must not look judged
        judged = full if name in NEEDS_POSITIVES else rows
        t.insert(t.columns.get_loc(name) + 1, f"{name}_low", np.where(judged, lo, np.nan))
        t.insert(t.columns.get_loc(name) + 2, f"{name}_high", np.where(judged, hi, np.nan))
    few = rows & ~full
    if few.any():
        floor = _few_positives_floor(t, config)
        for name, ratio in (("referral_excess", "referral_ratio"), ("fpr_excess", "fpr_ratio")):
            with np.errstate(invalid="ignore", divide="ignore"):
                capped = np.fmin(t[f"{name}_low"].to_numpy(), t[f"{ratio}_low"].to_numpy() / floor)
            t[f"{name}_low"] = np.where(few, capped, t[f"{name}_low"].to_numpy())
    _no_miss_ceiling(t, full, config)
    _exact_ends(t, config)
    found = _breaches(t, config)
    t["breaches"] = ["; ".join(f) for f in found]
    # an array even for a table of no group (an audit of no rows): an empty list is no condition for np.select
    breached = np.array([bool(f) for f in found], dtype=bool)
    t["status"] = np.select([~rows, breached, ~full], ["too small", "breach", "partly judged"], "ok")
    t["not_judged"] = _not_judged(t, config)
    for i, text in _too_wide(t, config).items():  # judged, but blind to the bias the bound is set to catch: said where the group is
        t.iat[i, t.columns.get_loc("not_judged")] = text
    return t


def _fold(values: pd.Series) -> float:
    """Largest departure of a ratio from 1 in either direction (0.5 and 2 both read 2)."""
    v = values.replace(0, np.nan).dropna()
    if values.eq(0).any():
        return float("inf")
    if not len(v):
        return 1.0
    return float(np.maximum(v, 1 / v).max())


def _summarise(table: pd.DataFrame, attributes, config: FairnessConfig) -> tuple[dict[str, float], list[str], list[str]]:
    """Per attribute the summary figures, the violations (breaches, too few groups judged) and the notes (groups not fully judged)."""
    summary: dict[str, float] = {}
    violations: list[str] = []
    notes: list[str] = []
    for attr in attributes:
        t = table[table["attribute"] == attr]
        ok = t[t["enough_support"]]
        summary[f"{attr}_auditable_groups"] = float(len(ok))
        summary[f"{attr}_partly_judged_groups"] = float((t["enough_rows"] & ~t["enough_support"]).sum())
        summary[f"{attr}_breaches"] = float((t["status"] == "breach").sum())
        for name, form in [*((n, "ratio") for n in PLAIN), *((c[0], c[3]) for c in COMPARISONS)]:
            # each over the groups judged on it
            col = (ok if name in NEEDS_POSITIVES else t[t["enough_rows"]])[name]
            summary[f"{attr}_max_{name}"] = _fold(col) if form == "ratio" else (float(col.abs().max()) if len(col) else 0.0)
        summary[f"{attr}_max_calibration_gap"] = float(ok["calibration_gap"].max()) if len(ok) else 0.0
        if len(ok) < config.min_groups:
            small = t.loc[~t["enough_support"], "group"].tolist()
            violations.append(
                f"{attr}: only {len(ok)} group(s) large enough to audit (need {config.min_groups}; a group needs "
                f"{config.min_support} rows and {config.min_positives} positives to be judged on every comparison; not: "
                f"{', '.join(small[:8]) or 'none'}); "
                "audit on more rows (a longer period) before relying on this model"
            )
        for row in t[t["status"] == "breach"].itertuples(index=False):
            violations += [f"{attr}: {b} by group {row.group}" for b in row.breaches.split("; ")]
        # the groups not judged on every comparison, and those judged on an interval too wide to see the bound's margin
        notes += [f"{attr}: group {row.group}: {row.not_judged}" for row in t[t["not_judged"] != ""].itertuples(index=False)]
    return summary, violations, notes


def _too_wide(t: pd.DataFrame, config: FairnessConfig) -> dict[int, str]:
    """Groups judged on calibration, not in breach, whose interval is too wide to show the bias the bound is set to catch.

    The bound ``b`` sits halfway (in log-odds) between a calibrated group and odds overstated ``b**2`` times (doubled odds
    for 1.41). An interval spanning a factor of ``b**2`` or more has a lower end at or below ``b`` for a group at ``b**2``
    whenever the estimate falls at or below its midpoint: the audit sees that bias less often than not. A pass does not
    cover such a group (a few overstayers above ``min_positives``, or a traveller's many stays), so it is named.
    """
    b = float(config.max_calibration_ratio)
    lo, hi = t["calibration_ratio_low"].to_numpy(float), t["calibration_ratio_high"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        wide = t["enough_support"].to_numpy() & (t["status"] != "breach").to_numpy() & ~np.isnan(lo + hi) & ~(hi / lo < b * b)
    return {i: f"calibration_ratio interval {lo[i]:.3g} to {hi[i]:.3g} spans a factor of {hi[i] / lo[i]:.3g}, at least {b * b:.3g} "
               f"(max_calibration_ratio squared): odds overstated {b * b:.3g} times would be seen less often than not "
               f"({int(t['positives'].iat[i])} overstays); judge it on more rows"
            for i in np.flatnonzero(wide)}


def _pooled(values: pd.Series, attr: str, top: int | None, shown: int = 10) -> str:
    """The note naming the groups pooled as ``"other"`` beyond the ``top`` largest (empty when none): each is never judged
    on its own, so a pass does not cover it (a nationality's doubled odds are diluted in the pool)."""
    if top is None:
        return ""
    counts = pd.Series(audit_groups(values)).value_counts()
    order = sorted(counts.index, key=lambda k: (-counts[k], k))[top:]  # audit_groups' order: size, then the label
    if not order:
        return ""
    listed = ", ".join(f"{g} ({counts[g]:,} rows)" for g in order[:shown]) + (f", and {len(order) - shown} more" if len(order) > shown else "")
    return (f"{attr}: {len(order)} group{'s' if len(order) != 1 else ''} pooled as {OTHER} (beyond the {top} largest), not judged "
            f"one by one: {listed}")


def _refuse_invalid_scores(y: np.ndarray, p: np.ndarray) -> None:
    """Refuse scores that are no probabilities and outcomes that are not 0/1 (counts only: rows are never named here)."""
    problems = []
    bad_p = int((~((p >= 0) & (p <= 1))).sum())  # NaN fails both comparisons
    if bad_p:
        problems.append(SchemaProblem("p", f"{bad_p} scores are not probabilities in [0, 1] (missing, infinite or out of range)",
                                      "audit the model's calibrated probabilities, one for every row; drop the rows it did not score"))
    bad_y = int((~np.isin(y, (0.0, 1.0))).sum())
    if bad_y:
        problems.append(SchemaProblem("y", f"{bad_y} outcomes are not 0 or 1 (missing or another value)",
                                      "audit matured rows only, their label as 0/1 (or False/True)"))
    if problems:
        raise SchemaError("audit", problems)


def fairness_audit(
    frame: pd.DataFrame,
    y: np.ndarray,
    p: np.ndarray,
    attributes,
    config: FairnessConfig | None = None,
    *,
    clusters=None,
) -> FairnessReport:
    """Audit a score per group of each attribute, with bootstrap intervals, against the policy's bounds.

    Parameters
    ----------
    frame : DataFrame
        Rows scored, holding the ``attributes`` columns (same order as ``y`` and ``p``).
    y : array-like
        Observed outcomes (0/1).
    p : array-like
        Calibrated probabilities.
    attributes : sequence of str
        Audit columns, e.g. ``("nationality", "region", "sex", "age_band")``.
    config : FairnessConfig, optional
        Referral budget, support minimums, bounds, bootstrap. Default: :class:`FairnessConfig()`.
    clusters : array-like, optional
        One label per row (e.g. ``traveller_id``): the bootstrap resamples these (travellers,
        not stays), each drawn traveller's rows all counted as often as it is drawn.
        Default: the row. The labels are used for the draw only, never reported.

    Returns
    -------
    FairnessReport
        Passes when no group breaches a bound beyond its interval (each comparison judged where the group
        has the rows, or overstayers, it needs), every attribute has at least ``min_groups`` groups judged
        on every comparison, and at least one attribute is audited (an audit of nothing fails). Its
        ``notes`` name each group not judged on every comparison, and each judged on an interval too wide to see
        odds overstated ``max_calibration_ratio`` squared.

    Raises
    ------
    SchemaError
        If an audit column is missing, the lengths differ (``clusters`` included), a score is not
        a probability in [0, 1] (missing, infinite: the top scores are the referrals, so such rows
        would be referred in place of everyone's real scores) or an outcome is not 0 or 1.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskmodel.core.risk.config import FairnessConfig
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"sex": rng.choice(["F", "M"], 4000)})
    >>> p = rng.uniform(0.01, 0.2, 4000)
    >>> rep = fairness_audit(df, rng.random(4000) < p, p, ["sex"], FairnessConfig(min_support=100, min_positives=20))
    >>> rep.passed, sorted(rep.table["status"])
    (True, ['ok', 'ok'])
    """
    cfg = config or FairnessConfig()
    missing = [a for a in attributes if a not in frame.columns]
    if missing:
        raise SchemaError(
            "audit",
            [SchemaProblem(a, "audit attribute column is missing", "add it (see riskmodel.core.features.AUDIT_COLUMNS)") for a in missing],
        )
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    n_clusters = len(frame) if clusters is None else len(clusters)
    if not len(y) == len(p) == len(frame) == n_clusters:
        also = "" if clusters is None else f", clusters {n_clusters}"
        raise SchemaError("audit", [SchemaProblem("<table>", f"lengths differ: frame {len(frame)}, y {len(y)}, p {len(p)}{also}",
                                                  "pass aligned rows")])
    _refuse_invalid_scores(y, p)
    k = max(int(round(cfg.referral_budget * len(p))), 1)
    threshold = float(np.sort(p)[-k]) if len(p) else float("nan")
    referred = (p >= threshold).astype(float)
    attributes = list(attributes)
    split = [np.unique(audit_groups(frame[a], cfg.top_groups.get(a)), return_inverse=True) for a in attributes]
    cells = _Cells.build([c for _, c in split], y, referred)
    calib = _Calibration.build(p, y, [c for _, c in split], [len(g) for g, _ in split])
    cw, cp = cells.weigh(np.ones(len(y)), p)
    tables = [
        _group_table(a, g, cg, cells, cw, cp, cal, cfg)
        for a, (g, _), cg, cal in zip(attributes, split, cells.group, calib.ratios(np.ones(len(y))), strict=True)
    ]
    intervals = [{} for _ in tables]
    if cfg.bootstrap and any(t["enough_rows"].any() for t in tables):
        intervals = _intervals(cells, calib, p, cfg, cluster_codes(clusters, len(p)))
    tables = [_judge(t, iv, cfg) for t, iv in zip(tables, intervals, strict=True)]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    summary, violations, notes = _summarise(table, attributes, cfg)
    notes += [n for a in attributes if (n := _pooled(frame[a], a, cfg.top_groups.get(a)))]
    if not attributes:
        # an audit of no attribute sees nothing: like an attribute too small to judge, it is no pass
        violations.append(NO_ATTRIBUTE)
    return FairnessReport(table=table, summary=summary, violations=violations, threshold=threshold, notes=notes)
