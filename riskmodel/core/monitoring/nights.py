"""Night against night: tonight's in-country population against the last good night's, on the model's drift bins.

The nightly run counts tonight's population in the bins of the model's training reference
(:class:`~riskmodel.core.monitoring.drift.DriftCounter`: deciles of each numeric input, each level of a categorical
one, the score). Against the training *entries* those counts read "major shift" on most columns of every normal
night (long stays are over-represented in the country; the travel-history counts grow with the log): no verdict on a
feed. Against the population of the night before they move little (on the synthetic log of 12,000 travellers, about
800 in the country: PSI at most 0.017 on any column over the 60 nights of November-December 2023), while a broken
export moves them by whole units (a category all missing, a unit changed) or empties a level (a port's rows gone).

The nightly counts in :func:`night_bins`: the model's bins, each numeric column with one more edge far above its
training range, so that a unit changed is seen (the model's top bin is open, and already heavy in the country).
:func:`night_profile` is what a night keeps beside its output (bin counts and row counts, no identifier): tonight's
counts, and per column the *baseline* the next night compares with and the *moves* of the earlier green nights.
:func:`compare_nights` judges tonight against the previous night's profile, column by column:

- ``psi``: PSI of tonight's counts against the baseline's (half a count in every bin, as
  :func:`~riskmodel.core.monitoring.drift.compare_like_with_like`); amber from ``max(0.25, noise at 1e-3, twice the
  largest move of the column on the earlier green nights kept)``, and some bin beyond sampling noise; red from
  ``max(1.0, noise at 1e-7, four times that move)``, or a level expected 10 times or more (given tonight's rows)
  absent (``vanished``). The noise lines are those of two independent samples (chi-square), wider than the noise of
  two populations most of whose people are the same: normal nights are not amber by chance.
- ``rows``: tonight's row count against the baseline's, as ``|log(tonight / baseline)|``; amber from
  ``max(log 1.25, 3.3 / sqrt(baseline rows), twice the largest earlier move)``, red from
  ``max(log 2, 5.3 / sqrt(baseline rows), four times it)`` (the noise terms: the 1e-3 and 1e-7 two-sided normal tails
  of a Poisson count).

The lines are set by the earlier nights only, never by the night judged: a column's move enters the kept moves
(:data:`NIGHT_MOVES` of them) only when it read green. The baseline of a column advances to tonight's counts unless
tonight read red there: a feed that stays broken reads red every night, not once, and the first night after its fix
is compared with the last good night. A real change (a new port, a new rule) therefore reads red every night until a
person accepts a night as the new baseline (``accept``: who, why, when; kept with the profile and in the run's summary):
that night is judged and reported as it is, and every column's baseline becomes its counts. A first night (no previous profile), a previous profile of another model (other
bins) or of another scope is ``not judged``, saying why: no verdict, and no green either.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.core.monitoring.drift import (
    _VANISHED_EXPECTED, PSI_MAJOR, PSI_RED, _beyond_noise, _noise_psi, night_summary, night_verdict, psi,
)
from riskmodel.core.monitoring.feed import _NOISE_AMBER, _NOISE_RED

__all__ = ["night_bins", "night_profile", "compare_nights", "accept_tonight", "nights_summary", "NIGHT_MOVES", "NIGHT_COMPARISON", "FAR"]

#: Earlier green nights whose moves are kept per column (four weeks).
NIGHT_MOVES = 28
#: The ``comparison`` of :func:`compare_nights`' rows.
NIGHT_COMPARISON = "in-country vs the last good night"
#: How far a population's row count may move in a night before it is amber / red, whatever the earlier nights did.
_ROWS_AMBER, _ROWS_RED = math.log(1.25), math.log(2.0)
#: Two-sided normal quantiles of the amber / red tails (1e-3, 1e-7): a Poisson count's noise on the log scale.
_Z_AMBER, _Z_RED = 3.29, 5.33


#: A numeric column's night bins add one edge this many times its top inner edge's magnitude (at least 1): a unit
#: changed (metres for kilometres, days x 1000) moves the rows into a bin that normal nights leave almost empty. In
#: the model's bins alone the top bin already holds a third of an in-country population's planned stays (long stays
#: stay), and stays x 1000 read PSI 1.0, amber, not red.
FAR = 10.0


def night_bins(reference: dict[str, Any]) -> dict[str, Any]:
    """The bins a night is counted in: the model's drift bins (:func:`~riskmodel.core.monitoring.drift.profile_from_reference`),
    each numeric column with one more edge, :data:`FAR` times its top edge's magnitude (at least 1), above it.

    Returns
    -------
    dict
        A profile for :class:`~riskmodel.core.monitoring.drift.DriftCounter` (``fractions`` as given, unused here).
    """
    out = {}
    for col, spec in reference.items():
        if spec["kind"] == "numeric":
            edges = [float(e) for e in spec["edges"]]
            top = edges[-1] if edges else 0.0
            spec = {**spec, "edges": [*edges, FAR * max(abs(top), 1.0)]}  # above ``top`` whatever its sign
        out[col] = spec
    return out


def night_profile(counts: dict[str, list[int]], *, as_of: str, scope: str, model_sha256: str) -> dict[str, Any]:
    """Tonight's profile before it is compared: bin counts per column in the model's drift bins, no identifier.

    Parameters
    ----------
    counts : dict of str to list of int
        Per column, tonight's count in each bin of the model's reference (``DriftCounter.counts``).
    as_of, scope, model_sha256 : str
        The night, the population (``in_country`` or ``all``) and the model whose bins these are.

    Returns
    -------
    dict
        ``as_of, scope, model_sha256, rows, counts`` (no ``baseline`` or ``moves`` yet: :func:`compare_nights`
        adds them).
    """
    counts = {c: [int(v) for v in n] for c, n in counts.items()}
    rows = int(sum(next(iter(counts.values()), [])))
    return {"as_of": str(as_of), "scope": scope, "model_sha256": model_sha256, "rows": rows, "counts": counts}


def _first(tonight: dict[str, Any], why: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every column ``not judged`` (``why``), and tonight's counts the baseline of the next night."""
    rows = [{"comparison": NIGHT_COMPARISON, "column": c, "measure": m, "value": float("nan"), "amber_at": float("nan"),
             "red_at": float("nan"), "baseline_as_of": "", "vanished": "", "verdict": "not judged", "detail": why}
            for c, m in [("rows", "log ratio"), *((c, "psi") for c in tonight["counts"])]]
    keep = {**tonight, "baseline": {c: {"as_of": tonight["as_of"], "counts": n} for c, n in tonight["counts"].items()},
            "rows_baseline": {"as_of": tonight["as_of"], "rows": tonight["rows"]},
            "moves": {c: [] for c in [*tonight["counts"], "rows"]}}
    return pd.DataFrame(rows), keep


def _why_not_comparable(tonight: dict[str, Any], previous: dict[str, Any] | None, no_previous: str | None) -> str | None:
    if previous is None:
        return no_previous or ("first night: no previous night's profile to compare with (pass the previous night's output, "
                "`--previous`); the next night is judged against this one")
    if previous.get("model_sha256") != tonight["model_sha256"]:
        return ("the previous night was scored by another model (other drift bins): not comparable; the next night is "
                "judged against this one")
    if previous.get("scope") != tonight["scope"]:
        return (f"the previous night's profile is of scope {previous.get('scope')!r}, tonight's {tonight['scope']!r}: not "
                "comparable; pass a previous output of the same scope")
    if str(previous.get("as_of")) >= tonight["as_of"]:
        return (f"the previous profile is as of {previous.get('as_of')}, not before tonight ({tonight['as_of']}): pass the "
                "output of an earlier night")
    if set(previous.get("baseline", {})) != set(tonight["counts"]):
        return "the previous night's profile holds other columns: not comparable; the next night is judged against this one"
    return None


def _lines(moves: list[float], floor_amber: float, floor_red: float, noise_amber: float, noise_red: float) -> tuple[float, float]:
    usual = max(moves, default=0.0)
    return max(floor_amber, noise_amber, 2.0 * usual), max(floor_red, noise_red, 4.0 * usual)


def _check_accept(accept: dict[str, Any]) -> dict[str, str]:
    """``accept`` with its ``by``, ``why`` and ``time`` as text; ValueError naming what is missing."""
    missing = [k for k in ("by", "why", "time") if not str(accept.get(k) or "").strip()]
    if missing:
        raise ValueError(f"`accept` must say who accepts tonight as the baseline, why and when; {', '.join(f'`{k}`' for k in missing)} "
                         "missing or blank. Fix: give by (the person or role), why (the real change) and time.")
    return {k: str(accept[k]).strip() for k in ("by", "why", "time")}


def compare_nights(
    tonight: dict[str, Any], previous: dict[str, Any] | None, reference: dict[str, Any], *, no_previous: str | None = None,
    accept: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Judge tonight's in-country population against the last good night's, column by column.

    Parameters
    ----------
    tonight : dict
        :func:`night_profile` of tonight.
    previous : dict or None
        What the previous night kept (the second value this function returned then), or None on a first night.
    reference : dict
        The model's drift bins (:func:`~riskmodel.core.monitoring.drift.profile_from_reference`): the kinds and
        level names of the columns.
    no_previous : str, optional
        Why there is no ``previous`` (e.g. the previous night's summary could not be read), said instead of "first night".
    accept : dict, optional
        ``{"by", "why", "time"}``: a person accepts tonight as the new baseline (a real change that reads red). Tonight is
        judged as without it (the checks unchanged but for the acceptance said in the detail of each row not green);
        every column's baseline and the row count's become tonight's, and ``keep["accepted"]`` records it (with
        ``as_of`` and the ``verdict`` accepted). No move of the night enters the kept moves that would not without it.

    Returns
    -------
    checks : DataFrame
        One row for ``rows`` then one per column: ``comparison, column, measure ("log ratio" or "psi"), value,
        amber_at, red_at, baseline_as_of, vanished, verdict (green, amber, red, not judged), detail`` (empty on a
        green row; else what moved, against which night, and the fix).
    keep : dict
        Tonight's profile with the ``baseline``, ``rows_baseline`` and ``moves`` the next night is judged with, and
        ``accepted`` when ``accept`` was given.

    Raises
    ------
    ValueError
        If ``accept`` lacks ``by``, ``why`` or ``time``.
    """
    accepted = None if accept is None else _check_accept(accept)
    why = _why_not_comparable(tonight, previous, no_previous)
    if why is not None:
        checks, keep = _first(tonight, why)
        return (checks, keep) if accepted is None else (checks, {**keep, "accepted": {**accepted, "as_of": tonight["as_of"],
                                                                                         "verdict": "not judged"}})
    moves = {c: list(v) for c, v in previous["moves"].items()}
    baseline = dict(previous["baseline"])
    out = []
    # the population's size: a log whose export lost rows of every kind keeps its mix
    base = previous["rows_baseline"]
    n_t, n_b = tonight["rows"], int(base["rows"])
    value = abs(math.log((n_t + 0.5) / (n_b + 0.5)))
    amber, red = _lines(moves.get("rows", []), _ROWS_AMBER, _ROWS_RED, _Z_AMBER / math.sqrt(max(n_b, 1)),
                        _Z_RED / math.sqrt(max(n_b, 1)))
    verdict = "red" if value >= red else "amber" if value >= amber else "green"
    detail = "" if verdict == "green" else (
        f"{n_t:,} in the population tonight against {n_b:,} on {base['as_of']} ({verdict} beyond a factor of "
        f"{math.exp(red if verdict == 'red' else amber):.2f} either way): check that tonight's crossings log is whole (every "
        "port's and day's files) before the scores are used")
    out.append({"comparison": NIGHT_COMPARISON, "column": "rows", "measure": "log ratio", "value": value, "amber_at": amber,
                "red_at": red, "baseline_as_of": base["as_of"], "vanished": "", "verdict": verdict, "detail": detail})
    rows_baseline = base if verdict == "red" else {"as_of": tonight["as_of"], "rows": n_t}
    if verdict == "green":
        moves["rows"] = [*moves.get("rows", []), value][-NIGHT_MOVES:]
    for col, counts in tonight["counts"].items():
        cur = np.asarray(counts, dtype=float)
        ref = np.asarray(baseline[col]["counts"], dtype=float)
        n_cur, n_ref = cur.sum(), ref.sum()
        fractions = ref / max(n_ref, 1)
        value = psi((ref + 0.5) / (n_ref + 0.5 * len(ref)), cur + 0.5) if n_cur and n_ref else float("nan")
        n_bins = int(((ref > 0) | (cur > 0)).sum())
        amber, red = _lines(moves.get(col, []), PSI_MAJOR, PSI_RED, _noise_psi(n_bins, int(n_cur), int(n_ref), _NOISE_AMBER),
                            _noise_psi(n_bins, int(n_cur), int(n_ref), _NOISE_RED))
        vanished = []
        spec = reference.get(col, {})
        if spec.get("kind") == "categorical" and n_ref:
            level_f = fractions[:-1]
            expected = n_cur * level_f / np.clip(1.0 - level_f, 1e-9, None)
            vanished = [f"{lvl} (about {e:.0f} expected)" for lvl, e, c in zip(spec["levels"], expected, cur[:-1], strict=True)
                        if e >= _VANISHED_EXPECTED and c == 0]
        finite = np.isfinite(value)
        verdict = ("red" if (finite and value >= red) or vanished or (n_ref and not n_cur)
                   else "amber" if finite and value >= amber and _beyond_noise(ref, cur, _NOISE_AMBER) else "green")
        since = baseline[col]["as_of"]
        detail = "" if verdict == "green" else _detail(col, verdict, value, amber, red, since, vanished, cur, ref, spec)
        out.append({"comparison": NIGHT_COMPARISON, "column": col, "measure": "psi", "value": value, "amber_at": amber,
                    "red_at": red, "baseline_as_of": since, "vanished": ", ".join(vanished), "verdict": verdict,
                    "detail": detail})
        if verdict != "red":
            baseline[col] = {"as_of": tonight["as_of"], "counts": [int(v) for v in counts]}
        if verdict == "green" and finite:
            moves[col] = [*moves.get(col, []), float(value)][-NIGHT_MOVES:]
    checks = pd.DataFrame(out)
    keep = {**tonight, "baseline": baseline, "rows_baseline": rows_baseline, "moves": moves}
    return (checks, keep) if accepted is None else accept_tonight(checks, keep, accepted)


def accept_tonight(checks: pd.DataFrame, keep: dict[str, Any], accept: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A person's decision: the night :func:`compare_nights` judged (``checks``, ``keep``) becomes the baseline of every
    column and of the row count, whatever it read; each row not green says so in its detail, and ``keep["accepted"]``
    records ``by, why, time`` (``accept``), ``as_of`` and the ``verdict`` accepted. The moves kept are unchanged.

    Raises
    ------
    ValueError
        If ``accept`` lacks ``by``, ``why`` or ``time``.
    """
    accepted = _check_accept(accept)
    verdict, _ = nights_summary(checks)
    note = (f"; accepted as the new baseline by {accepted['by']} ({accepted['time']}): {accepted['why']}; the next night "
            "is judged against this one.")
    checks = checks.assign(detail=[(d or "") + note if v != "green" else d
                                   for d, v in zip(checks["detail"], checks["verdict"], strict=True)])
    keep = {**keep, "baseline": {c: {"as_of": keep["as_of"], "counts": [int(v) for v in n]} for c, n in keep["counts"].items()},
            "rows_baseline": {"as_of": keep["as_of"], "rows": keep["rows"]},
            "accepted": {**accepted, "as_of": keep["as_of"], "verdict": verdict}}
    return checks, keep


def _detail(col, verdict, value, amber, red, since, vanished, cur, ref, spec) -> str:
    """What moved in ``col`` against the night ``since``, and the fix."""
    shares = lambda n: n / max(n.sum(), 1)  # noqa: E731
    what = []
    if vanished:
        what.append(f"no row tonight of {', '.join(vanished)}: its rows are missing from the log")
    last = "unseen or missing" if spec.get("kind") == "categorical" else "missing"
    if shares(cur)[-1] - shares(ref)[-1] >= 0.1:
        what.append(f"{last}: {shares(cur)[-1]:.0%} of rows tonight against {shares(ref)[-1]:.0%}")
    if spec.get("kind") == "numeric" and len(cur) > 2 and shares(cur)[-2] - shares(ref)[-2] >= 0.1:
        what.append(f"above {spec['edges'][-1]:g}: {shares(cur)[-2]:.0%} of rows tonight against {shares(ref)[-2]:.0%} "
                    "(another unit?)")
    line = red if verdict == "red" else amber
    return (f"`{col}`: PSI {value:.2f} against the night of {since} ({verdict} from {line:.2f})"
            + (f"; {'; '.join(what)}" if what else "")
            + f". Fix: check tonight's export of `{col}` (a column emptied, levels renamed, another unit, a port's or "
            "day's files missing) against the earlier night's and rerun with the corrected log; a real change (a new "
            "port, a new rule) reads red until a person accepts a night as the baseline (`--accept-baseline WHY "
            "--accepted-by WHO`)")


def nights_summary(checks: pd.DataFrame) -> tuple[str, str]:
    """The verdict of :func:`compare_nights`' checks (``green``, ``amber``, ``red`` or ``not judged`` when no row was
    judged) and one line for a run's log: the red and amber rows with their detail
    (:func:`~riskmodel.core.monitoring.drift.night_summary`), or why nothing was judged."""
    judged = checks[checks["verdict"] != "not judged"]
    if judged.empty:
        return "not judged", f"not judged: {checks['detail'].iloc[0]}" if len(checks) else "not judged: no column"
    return night_verdict(judged), night_summary(judged)
