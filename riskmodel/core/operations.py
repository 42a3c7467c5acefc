"""What a duty manager staffs by: referrals expected from *arriving* travellers, and officers.

Referrals come from the people who arrive, so their expected share is estimated
from recently scored **entries** (never from tonight's in-country population,
where long stays are over-represented): per port, the referral rate of each
nationality (shrunk towards the port's rate when a nationality has few entries,
and the port's towards every port's when the port has few) weighted by that
port's nationality mix in the same month of the recent window, so the season's
mix carries into the share. The share's sampling uncertainty (Wilson's binomial
score interval on the port's recent entries: never zero wide) and the arrival forecast's 80% range
are both carried into the range of expected referrals, together with the
chance variation of one day's count (Poisson): the three are combined by a
seeded simulation and the range is the 10% and 90% quantiles of the result
(stacking three 10% ends would give a range that holds about 96%, not 80%).
Ranges over several rows (all ports, a week) come from :func:`arrival_range` and
:func:`referral_range`, which combine the rows before taking quantiles: adding the rows'
own 80% ends holds 80% only if every day and port misses by the same amount. How
much they miss together is measured on the forecaster's backtest errors
(:func:`error_correlation`: the correlation of two days' errors at one port, and of
two ports' on one day) and carried into the simulation (:class:`ErrorCorrelation`).

Staffing: officer-hours = arrivals / travellers per officer-hour + referrals x
handling minutes / 60; officers = those hours over a shift, rounded up, at the
upper end of the 80% range (a manager staffs for a busy day, not an average one).
Throughput and handling minutes per port live in ``configs/operations.yaml``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from riskmodel.core.exceptions import ConfigError, SchemaError, SchemaProblem

__all__ = ["ErrorCorrelation", "OperationsConfig", "REFER_BANDS", "WORKLOAD_COLUMNS", "arrival_range", "check_port_names",
           "error_correlation", "expected_workload", "referral_range", "referral_shares"]

REFER_BANDS = ("elevated", "high")
#: Columns of :func:`expected_workload`, in order.
WORKLOAD_COLUMNS = (
    "port", "ds", "expected_arrivals", "arrivals_lo_80", "arrivals_hi_80", "referral_share",
    "referral_share_lo_80", "referral_share_hi_80", "expected_referrals", "referrals_lo_80",
    "referrals_hi_80", "officer_hours", "officers",
)
_Z80 = float(stats.norm.ppf(0.9))
#: Simulated days per workload row (the quantiles of 4,000 draws are within about half a percent of coverage).
_DRAWS = 4000


@dataclass(frozen=True)
class OperationsConfig:
    """Throughput and referral handling at the ports (``configs/operations.yaml``).

    Attributes
    ----------
    travellers_per_officer_hour : float, default=60.0
        Primary-inspection throughput of one officer for ports not listed in ``throughput``.
    referral_minutes : float, default=20.0
        Minutes of a secondary interview per referral for ports not listed in ``handling_minutes``.
    shift_hours : float, default=8.0
        Hours of one officer's shift (officers = officer-hours / shift, rounded up).
    throughput : dict of str to float
        Travellers per officer-hour by port name, as the forecasts' port series write it
        (``riskmodel.core.reference.PORTS``: "Bandara Int Lombok", without BPS's point); a name of no
        port is refused by :func:`expected_workload`.
    handling_minutes : dict of str to float
        Referral handling minutes by port name.
    """

    travellers_per_officer_hour: float = 60.0
    referral_minutes: float = 20.0
    shift_hours: float = 8.0
    throughput: dict[str, float] = field(default_factory=dict)
    handling_minutes: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        values = {"travellers_per_officer_hour": self.travellers_per_officer_hour, "referral_minutes": self.referral_minutes,
                  "shift_hours": self.shift_hours,
                  **{f"throughput[{k}]": v for k, v in self.throughput.items()},
                  **{f"handling_minutes[{k}]": v for k, v in self.handling_minutes.items()}}
        bad = {k: v for k, v in values.items() if not (isinstance(v, int | float) and math.isfinite(v) and v > 0)}
        if bad:
            raise ConfigError(
                f"operations config: {sorted(bad)} must be finite numbers > 0; got {bad}. "
                "Fix: give travellers per officer-hour, minutes per referral and shift hours as positive numbers."
            )

    def port_throughput(self, port: str) -> float:
        """Travellers per officer-hour at ``port``."""
        return float(self.throughput.get(port, self.travellers_per_officer_hour))

    def port_minutes(self, port: str) -> float:
        """Referral handling minutes at ``port``."""
        return float(self.handling_minutes.get(port, self.referral_minutes))


def referral_shares(
    entries: pd.DataFrame,
    *,
    window_days: int = 365,
    refer_bands: Sequence[str] = REFER_BANDS,
    port_column: str = "entry_port",
    nationality_column: str = "nationality",
    time_column: str = "entry_time",
    shrinkage: float = 20.0,
) -> pd.DataFrame:
    """Expected referral share of each port's arrivals, per month of the year.

    Parameters
    ----------
    entries : DataFrame
        ``score()`` output of recent entries with ``risk_band`` and the port, nationality and
        entry-time columns passed through.
    window_days : int, default=365
        Entries within this many days of the latest entry are used (a full year: every season).
    refer_bands : sequence of str, default=("elevated", "high")
    port_column, nationality_column, time_column : str
    shrinkage : float, default=20.0
        Pseudo-entries pulling a nationality's rate at a port towards the port's rate, and a port's
        rate towards every port's.

    Returns
    -------
    DataFrame
        ``port, month, referral_share, referral_share_lo_80, referral_share_hi_80, entries``:
        one row per port seen and month 1..12 (a month without entries at a port uses the
        port's whole-window mix), plus port ``"*"`` (every port) for ports never seen.
    """
    t = pd.to_datetime(entries[time_column])
    recent = entries[t > t.max() - pd.Timedelta(days=window_days)]
    frame = pd.DataFrame({
        "port": recent[port_column].astype(object).astype(str).to_numpy(),
        "nat": recent[nationality_column].astype(object).astype(str).to_numpy(),
        "month": pd.to_datetime(recent[time_column]).dt.month.to_numpy(),
        "referred": recent["risk_band"].astype(object).isin(list(refer_bands)).to_numpy(dtype=float),
    })
    every = float(frame["referred"].mean()) if len(frame) else 0.0
    rows = [_port_shares(frame, "*", shrinkage)]
    rows += [_port_shares(part, port, shrinkage, every) for port, part in frame.groupby("port", sort=True)]
    return pd.concat(rows, ignore_index=True)


def _port_shares(part: pd.DataFrame, port: str, shrinkage: float, every: float | None = None) -> pd.DataFrame:
    """One port's referral share per month: its nationality mix that month x each nationality's rate.

    The port's rate is pulled towards every port's (``every``) by ``shrinkage`` pseudo-entries, as a
    nationality's is towards its port's: 3 of a new port's 3 entries referred is no share of 1.0.
    """
    n = len(part)
    port_rate = float(part["referred"].mean()) if n else 0.0
    if every is not None:
        port_rate = (float(part["referred"].sum()) + shrinkage * every) / (n + shrinkage) if n + shrinkage > 0 else every
    by_nat = part.groupby("nat")["referred"].agg(["sum", "count"])
    rate = (by_nat["sum"] + shrinkage * port_rate) / (by_nat["count"] + shrinkage)
    whole_mix = by_nat["count"] / max(n, 1)
    shares = []
    for month in range(1, 13):
        m = part.loc[part["month"] == month, "nat"].value_counts()
        # too few entries in that month for a mix of its own: the year's mix
        mix = (m / m.sum()).reindex(rate.index, fill_value=0.0) if m.sum() >= 30 else whole_mix
        shares.append(float((mix * rate).sum()))
    share = np.asarray(shares)
    lo, hi = _wilson_80(share, n)
    return pd.DataFrame({
        "port": port, "month": np.arange(1, 13), "referral_share": share,
        "referral_share_lo_80": lo, "referral_share_hi_80": hi, "entries": n,
    })


def _wilson_80(share: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's 80% score interval of a share seen on ``n`` entries.

    The Wald interval ``share +- z * sqrt(share * (1 - share) / n)`` is zero wide at a share of 0 or 1
    whatever ``n``: 0 of a new port's 12 entries referred read as "no referral, certainly". Wilson's
    reaches ``z**2 / (n + z**2)`` there and agrees with Wald's on many entries.
    """
    n = max(n, 1)
    z2 = _Z80**2
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z80 / (1 + z2 / n) * np.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def expected_workload(
    forecasts: pd.DataFrame,
    shares: pd.DataFrame,
    config: OperationsConfig | None = None,
    *,
    id_prefix: str = "port/",
) -> pd.DataFrame:
    """Expected arrivals, referrals and officers per port and day over the whole forecast horizon.

    Parameters
    ----------
    forecasts : DataFrame
        Daily forecasts ``unique_id, ds, y_hat`` with ``y_lo_80, y_hi_80`` (the point forecast is
        used for both ends when they are absent); port series are named ``<id_prefix><port>``.
    shares : DataFrame
        :func:`referral_shares` output.
    config : OperationsConfig, optional
        Throughput and handling minutes; default ``OperationsConfig()``.
    id_prefix : str, default="port/"

    Returns
    -------
    DataFrame
        :data:`WORKLOAD_COLUMNS`, sorted by port and day. People are expected values (floats);
        ``referrals_lo_80``/``referrals_hi_80`` are whole numbers, the 10% and 90% quantiles (the
        smallest counts with at least that share of draws at or below them) of a seeded simulation
        of the day's referrals: arrivals whose 10% and 90% quantiles are the forecast's 80% ends
        (normal on the ``log1p`` scale on each side of the point forecast), the share normal with
        its binomial standard error, then a Poisson count; see :func:`referral_range` for ranges
        over several rows.
        ``officer_hours`` is at the expected values; ``officers`` covers the upper end of the range
        in shifts of ``config.shift_hours``.

    Raises
    ------
    SchemaError
        If a port row's ``y_hat``, ``y_lo_80`` or ``y_hi_80`` is missing.
    ConfigError
        If ``config`` sets a throughput or handling time for a port that is neither a forecast port
        nor one of BPS's ports (:data:`riskmodel.core.reference.PORTS`): it would be ignored.
    """
    config = config or OperationsConfig()
    fc = forecasts[forecasts["unique_id"].astype(str).str.startswith(id_prefix)]
    if fc.empty:
        return pd.DataFrame(columns=list(WORKLOAD_COLUMNS))
    _check_forecast_values(fc)
    _check_days(fc)
    y = fc["y_hat"].to_numpy(dtype=float).clip(0)
    out = pd.DataFrame({
        "port": fc["unique_id"].astype(str).str[len(id_prefix):].to_numpy(),
        "ds": pd.to_datetime(fc["ds"]).to_numpy(),
        "expected_arrivals": y,
        "arrivals_lo_80": fc["y_lo_80"].to_numpy(dtype=float).clip(0) if "y_lo_80" in fc.columns else y,
        "arrivals_hi_80": fc["y_hi_80"].to_numpy(dtype=float).clip(0) if "y_hi_80" in fc.columns else y,
    })
    check_port_names(config, set(out["port"]))
    keyed = shares.set_index(["port", "month"])
    known = set(shares["port"])
    key = pd.MultiIndex.from_arrays([out["port"].where(out["port"].isin(known), "*"), out["ds"].dt.month])
    for col in ("referral_share", "referral_share_lo_80", "referral_share_hi_80"):
        out[col] = keyed[col].reindex(key).to_numpy(dtype=float)
    out["expected_referrals"] = out["expected_arrivals"] * out["referral_share"]
    out = out.sort_values(["port", "ds"]).reset_index(drop=True)
    out["referrals_lo_80"], out["referrals_hi_80"] = _row_ranges(out)
    throughput = out["port"].map(config.port_throughput)
    minutes = out["port"].map(config.port_minutes)
    out["officer_hours"] = out["expected_arrivals"] / throughput + out["expected_referrals"] * minutes / 60.0
    busy = out["arrivals_hi_80"] / throughput + out["referrals_hi_80"] * minutes / 60.0
    out["officers"] = np.ceil(busy / config.shift_hours).astype(int)
    return out[list(WORKLOAD_COLUMNS)].sort_values(["port", "ds"]).reset_index(drop=True)


def _check_forecast_values(fc: pd.DataFrame) -> None:
    """SchemaError naming each missing point forecast or 80% bound with its rows (they reached the Poisson draw)."""
    problems = []
    for col in ("y_hat", "y_lo_80", "y_hi_80"):
        if col not in fc.columns:
            continue
        missing = pd.to_numeric(fc[col], errors="coerce").isna().to_numpy()
        if missing.any():
            rows = fc.loc[missing, ["unique_id", "ds"]].head(5)
            shown = tuple(f"{u} {pd.Timestamp(d):%Y-%m-%d}" for u, d in rows.itertuples(index=False))
            problems.append(SchemaProblem(col, "missing or not a number", "pass forecast() output with a point forecast and both "
                                          "80% bounds on every port row, or leave the bound columns out to plan on the point "
                                          "forecast alone", shown, int(missing.sum())))
    if problems:
        raise SchemaError("forecasts", problems)


def _check_days(fc: pd.DataFrame) -> None:
    """SchemaError when the port forecasts are not daily: no two of their dates one day apart (a monthly or weekly
    forecast would be staffed as if each period's arrivals came in one day), or a port's day given twice (staffed
    twice). Judged over every port's dates together: a small port forecast only on the days it has arrivals is daily."""
    ds = pd.to_datetime(fc["ds"]).to_numpy()
    uid = fc["unique_id"].astype(str).to_numpy()
    problems = []
    steps = np.diff(np.unique(ds))
    if len(steps) and steps.min() != np.timedelta64(1, "D"):
        first = np.argsort(ds, kind="stable")[:5]
        problems.append(SchemaProblem(
            "ds", f"port forecast dates not days: no two one day apart (the smallest step is {pd.Timedelta(steps.min())}; a "
                  "monthly or weekly forecast)", "pass daily forecasts (a forecaster fitted on daily series, freq D)",
            tuple(f"{uid[i]} {pd.Timestamp(ds[i]):%Y-%m-%d}" for i in first), len(ds)))
    twice = pd.DataFrame({"uid": uid, "ds": ds}).duplicated().to_numpy()
    if twice.any():
        at = np.flatnonzero(twice)
        problems.append(SchemaProblem("ds", "a port's day given twice (it would be staffed twice)", "pass one row per port and day",
                                      tuple(f"{uid[i]} {pd.Timestamp(ds[i]):%Y-%m-%d}" for i in at[:5]), len(at)))
    if problems:
        raise SchemaError("forecasts", problems)


def check_port_names(config: OperationsConfig, ports: set[str] = frozenset()) -> None:
    """ConfigError naming the config's ports that are neither a forecast port (``ports``) nor a BPS port of the reference table.

    Such a setting matches no row and was ignored: the port was planned at the default throughput, silently. The
    main job calls it before any step with no ``ports`` (its synthetic data's ports are the reference table's).
    """
    from riskmodel.core.reference import PORTS

    known = ports | set(PORTS["port"])
    unknown = sorted({*config.throughput, *config.handling_minutes} - known)
    if unknown:
        raise ConfigError(
            f"operations config: `throughput`/`handling_minutes` name {unknown}, no port of the forecasts nor of BPS's "
            f"table: the setting would be ignored and the default used. Fix: spell the port as the forecasts do "
            f"({sorted(ports or known)})."
        )


def _rates(rows: pd.DataFrame, z_arrivals: np.ndarray, z_share: np.ndarray) -> np.ndarray:
    """Expected referrals (Poisson means) of ``rows`` at standard-normal draws (rows x draws).

    Arrivals: the forecast's 80% ends are the 10% and 90% quantiles of a normal on the ``log1p``
    scale, with a spread of its own on each side of the point forecast (as the forecaster builds
    them). Share: normal with the binomial standard error its 80% ends were built from (the end
    that was not clipped at 0 or 1; of Wilson's interval, the wider side), clipped to [0, 1].
    """
    def col(name):
        return rows[name].to_numpy(dtype=float)[:, None]

    centre = np.log1p(col("expected_arrivals"))
    up = (np.log1p(col("arrivals_hi_80")) - centre) / _Z80
    down = (centre - np.log1p(col("arrivals_lo_80"))) / _Z80
    arrivals = np.expm1(centre + z_arrivals * np.where(z_arrivals > 0, up, down)).clip(0)
    share = col("referral_share")
    se = np.maximum(col("referral_share_hi_80") - share, share - col("referral_share_lo_80")) / _Z80
    return arrivals * np.clip(share + se * z_share, 0.0, 1.0)


def _quantiles(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """10% and 90% quantiles along the last axis, as counts that were drawn."""
    return (np.quantile(draws, 0.1, axis=-1, method="inverted_cdf").astype(int),
            np.quantile(draws, 0.9, axis=-1, method="inverted_cdf").astype(int))


def _row_ranges(out: pd.DataFrame, seed: int = 0, chunk: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Each row's 80% referral range, its three sources drawn independently (seeded: reruns agree)."""
    rng = np.random.default_rng(seed)
    lo, hi = np.zeros(len(out), dtype=int), np.zeros(len(out), dtype=int)
    for start in range(0, len(out), chunk):
        rows = out.iloc[start:start + chunk]
        shape = (len(rows), _DRAWS)
        counts = rng.poisson(_rates(rows, rng.standard_normal(shape), rng.standard_normal(shape)))
        lo[start:start + len(rows)], hi[start:start + len(rows)] = _quantiles(counts)
    return lo, hi


def referral_range(workload: pd.DataFrame, *, draws: int = 20_000, seed: int = 0,
                   correlation: ErrorCorrelation | None = None) -> tuple[int, int]:
    """80% range of the referrals of several workload rows together (all ports, a week).

    The rows are combined before the quantiles are taken (adding the rows' own 80% ends gives a
    range that holds far more than 80%). Dependence: the arrival forecasts' errors are correlated
    as ``correlation`` says (measured on the backtest, :func:`error_correlation`); without it they
    move together, one draw for every row (the widest assumption); rows of the same port and month
    share one draw of that port's referral share (it is one estimate); the counts are Poisson,
    independent given those.

    Parameters
    ----------
    workload : DataFrame
        Rows of :func:`expected_workload` output (``workload.csv``).
    draws : int, default=20000
        Simulated outcomes.
    seed : int, default=0
        Seed of the simulation: the same rows give the same range.
    correlation : ErrorCorrelation, optional
        How the rows' arrival errors move together; default: all as one.

    Returns
    -------
    tuple of int
        ``(low, high)``: the 10% and 90% quantiles of the simulated total, ``(0, 0)`` without rows.
    """
    if workload.empty:
        return 0, 0
    rng = np.random.default_rng(seed)
    month = pd.to_datetime(workload["ds"]).dt.month.astype(str)
    codes, uniques = pd.factorize(workload["port"].astype(str) + "\t" + month)
    if correlation is None:
        z_arrivals = rng.standard_normal((1, draws))
    else:
        z_arrivals = np.vstack([z for _, z in _correlated_normals(workload, correlation, draws, rng)])
    z_share = rng.standard_normal((len(uniques), draws))[codes]
    # a sum of independent Poisson counts is Poisson with the summed mean
    total = rng.poisson(_rates(workload, z_arrivals, z_share).sum(axis=0))
    lo, hi = _quantiles(total)
    return int(lo), int(hi)


@dataclass(frozen=True)
class ErrorCorrelation:
    """How the arrival forecasts' errors move together (:func:`error_correlation` measures it on the backtest).

    Attributes
    ----------
    days : dict of int to float
        Block length in days -> correlation of the errors of two days within such a block at one port
        (their average pairwise correlation: what sets the spread of the block's sum), over every port.
    ports : float
        Correlation of the errors of two ports on the same day.
    by_port : dict of str to dict of int to float
        The days' correlation of each port measured on its own errors (a large port's misses are its level,
        shared by its days; a small one's are chance counts); a port not listed uses ``days``.
    """

    days: dict[int, float]
    ports: float
    by_port: dict[str, dict[int, float]] = field(default_factory=dict)

    def __post_init__(self):
        values = {**{f"days[{k}]": v for k, v in self.days.items()}, "ports": self.ports,
                  **{f"by_port[{p}][{k}]": v for p, d in self.by_port.items() for k, v in d.items()}}
        bad = {k: v for k, v in values.items() if not (isinstance(v, int | float) and 0.0 <= v <= 1.0)}
        if bad or not self.days:
            raise ConfigError(f"ErrorCorrelation: correlations must be numbers in [0, 1] and `days` must name at least one "
                              f"block; got {bad or 'no block'}. Fix: pass error_correlation(...) output.")

    def within(self, n_days: int, port: str | None = None) -> float:
        """The days' correlation for a block of ``n_days`` (at ``port``): the shortest measured block that holds them
        (else the longest)."""
        days = self.by_port.get(port) or self.days
        longer = sorted(k for k in days if k >= n_days)
        return float(days[longer[0]] if longer else days[max(days)])


def error_correlation(cv: pd.DataFrame, *, blocks: Sequence[int] = (7,), column: str = "chosen",
                      id_prefix: str = "port/") -> ErrorCorrelation:
    """Correlation of the port forecasts' errors between days and between ports, from the backtest.

    The errors are the forecaster's own (``log1p(y) - log1p(forecast)``, divided by the series' log scale), on
    the selection windows only (a ``holdout`` row scores the intervals and calibrates nothing) and the port
    series only. Each step's errors are scaled to unit root mean square (later steps miss by more), not
    centred: a bias that every day and port share adds up in a sum as any shared error does; then the
    correlation of a set of errors that share something is its average pairwise product: two days of one
    port, window and block of ``blocks`` days (over every port, and each port on its own: ``by_port``), and
    two ports of one window and day. The average pairwise
    correlation is what sets the spread of a sum, so a block's measured figure is the one its sums use.

    Parameters
    ----------
    cv : DataFrame
        The forecaster's ``cv_``: ``unique_id, cutoff, step, y``, the forecast ``column``, and ``log_scale``
        and ``holdout`` when it has them.
    blocks : sequence of int, default=(7,)
        Block lengths in days to measure the days' correlation over (7 for a week; the horizon for its sum).
    column : str, default="chosen"
    id_prefix : str, default="port/"

    Returns
    -------
    ErrorCorrelation
        Each figure clipped to [0, 1]; 1.0 (errors moving as one: the widest range) where nothing shares it.
    """
    cv = cv[cv["unique_id"].astype(str).str.startswith(id_prefix)]
    if "holdout" in cv.columns:
        cv = cv[~cv["holdout"].astype(bool)]
    err = np.log1p(cv["y"].to_numpy(dtype=float)) - np.log1p(np.clip(cv[column].to_numpy(dtype=float), 0, None))
    scale = cv["log_scale"].to_numpy(dtype=float) if "log_scale" in cv.columns else 1.0
    frame = pd.DataFrame({"uid": cv["unique_id"].astype(str).to_numpy(), "cutoff": cv["cutoff"].to_numpy(),
                          "step": cv["step"].to_numpy(dtype=int), "u": err / scale})
    frame = frame[np.isfinite(frame["u"])]
    # not centred: a bias every day and port shares (forecasts too low all window) adds up in a sum like any shared
    # error, so it counts as correlation; each step scaled to unit root mean square (later steps miss by more)
    frame["z"] = frame["u"] / np.sqrt((frame["u"] ** 2).groupby(frame["step"]).transform("mean"))
    frame = frame[np.isfinite(frame["z"])]
    days = {int(n): _pairwise(frame, ["uid", "cutoff", (frame["step"] - 1) // int(n)]) for n in blocks}
    by_port = {}
    for uid, own in frame.groupby("uid", sort=True):
        own = own.assign(z=own["z"] / np.sqrt((own["z"] ** 2).mean()))  # its own scale: a correlation is scale-free
        by_port[uid[len(id_prefix):]] = {int(n): _pairwise(own, ["cutoff", (own["step"] - 1) // int(n)]) for n in blocks}
    return ErrorCorrelation(days=days, ports=_pairwise(frame, ["cutoff", "step"]), by_port=by_port)


def _pairwise(frame: pd.DataFrame, keys: list) -> float:
    """Average product of two different errors of the same group, clipped to [0, 1]; 1.0 without such pairs."""
    g = frame.assign(sq=frame["z"] ** 2).groupby(keys)
    s, sq, n = g["z"].sum(), g["sq"].sum(), g["z"].count()
    pairs = float((n * (n - 1)).sum())
    return float(np.clip(((s**2 - sq).sum()) / pairs, 0.0, 1.0)) if pairs > 0 else 1.0


def _correlated_normals(rows: pd.DataFrame, corr: ErrorCorrelation, draws: int, rng: np.random.Generator,
                        chunk: int = 250) -> Iterator[tuple[slice, np.ndarray]]:
    """Standard normals (rows x draws, ``chunk`` rows at a time) with ``corr``'s correlations: one draw shared by every
    row, one per port, one per day and one per row, weighted so two days of a port correlate at its
    ``corr.within(days, port)`` and two ports of a day at about ``corr.ports`` (exactly when their days' correlations agree)."""
    ds = pd.to_datetime(rows["ds"])
    n_days, rp = int((ds.max() - ds.min()).days) + 1, corr.ports
    port, names = pd.factorize(rows["port"].astype(str))
    day, _ = pd.factorize(ds)
    rd = np.array([corr.within(n_days, name) for name in names])[port][:, None]
    w = [np.sqrt(rd * rp), np.sqrt(rd * (1 - rp)), np.sqrt(rp * (1 - rd)), np.sqrt((1 - rd) * (1 - rp))]
    common, per_port, per_day = (rng.standard_normal((k, draws)) for k in (1, port.max() + 1, day.max() + 1))
    for start in range(0, len(rows), chunk):
        at = slice(start, min(start + chunk, len(rows)))
        yield at, (w[0][at] * common + w[1][at] * per_port[port[at]] + w[2][at] * per_day[day[at]]
                   + w[3][at] * rng.standard_normal((at.stop - at.start, draws)))


def arrival_range(workload: pd.DataFrame, correlation: ErrorCorrelation, *, draws: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """80% range of the arrivals of several workload rows together (all ports, a week, the horizon).

    Each row's arrivals are the forecast's: their 10% and 90% quantiles are the row's 80% ends (normal on the
    ``log1p`` scale on each side of the point forecast); the rows' errors are correlated as ``correlation``
    says, and the total is simulated before its quantiles are taken. Adding the rows' own ends instead is the
    range at a correlation of 1 (every day and port missing by the same amount): wider than 80% otherwise.

    Parameters
    ----------
    workload : DataFrame
        Rows of :func:`expected_workload` output (``workload.csv``).
    correlation : ErrorCorrelation
        :func:`error_correlation` of the forecaster's backtest.
    draws : int, default=20000
    seed : int, default=0
        The same rows give the same range.

    Returns
    -------
    tuple of float
        ``(low, high)``: the 10% and 90% quantiles of the simulated total, ``(0.0, 0.0)`` without rows.
    """
    if workload.empty:
        return 0.0, 0.0
    ds = pd.to_datetime(workload["ds"])
    n_days = int((ds.max() - ds.min()).days) + 1
    ports = set(workload["port"].astype(str))
    if (correlation.ports == 1.0 or len(ports) == 1) and all(correlation.within(n_days, p) == 1.0 for p in ports):
        # every row misses as one: the total moves with one draw, and its quantiles are the rows' ends added, exactly
        return float(workload["arrivals_lo_80"].sum()), float(workload["arrivals_hi_80"].sum())
    rows = workload.assign(referral_share=1.0, referral_share_lo_80=1.0, referral_share_hi_80=1.0)
    total = np.zeros(draws)
    for at, z in _correlated_normals(rows, correlation, draws, np.random.default_rng(seed)):
        total += _rates(rows.iloc[at], z, np.zeros((1, draws))).sum(axis=0)  # a share of 1 for certain: the rows' arrivals
    return float(np.quantile(total, 0.1)), float(np.quantile(total, 0.9))
