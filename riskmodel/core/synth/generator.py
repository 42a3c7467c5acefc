"""Synthetic border crossings with known ground-truth overstay risk.

How a dataset is made (all vectorised; one short loop over trip rank):

1. **Who travels where.** The nationality-by-port mix is fitted by iterative
   proportional fitting to BPS 2017-2019 shares of both margins, starting from
   affinities (Timor-Leste over land, Singapore on the Batam ferries,
   Australians in Bali, Malaysians at the Kalimantan land crossings, ...):
   :mod:`riskmodel.core.synth.mix`.
2. **Kinds of traveller.** Each traveller is one archetype (commuter, tourist,
   long-stay, business, worker, family visitor, student) with its own trip rate,
   stay length, visa regime, purpose, sponsor, ticket and accommodation habits
   (:mod:`riskmodel.core.synth.trips`).
   Traveller counts per cell are set so that *entries* (not people) match BPS.
3. **When.** Entry days are drawn from the daily intensity of the traveller's
   market at the port (see :mod:`riskmodel.core.synth.seasonality`).
4. **What happens.** Trips are walked in order per traveller: overlapping trips
   are dropped, the true overstay probability is computed from what is known at
   entry and the traveller's history, the outcome is drawn, extensions are
   granted, and long overstays bring deportation and a one-year entry ban.

The visible part of the risk (:func:`true_logit`) is a documented function of
entry-time facts; on top of it come a hidden part (a latent per traveller and
noise per stay), exits at land ports that go unrecorded and a drift of the base
rate (:mod:`riskmodel.core.synth.hidden`), so the best model is known: the
observable oracle in ``truth``. Nationality has a small effect of
its own (:data:`NATIONALITY_EFFECT`): what a fairness audit should detect, not
what a model should learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from riskmodel.core.exceptions import ConfigError
from riskmodel.core.schema import ACCOMMODATIONS, DIRECTIONS, DOCUMENT_TYPES, PURPOSES, SEXES, SPONSORS, VISA_TYPES
import riskmodel.core.synth.seasonality as seas
from riskmodel.core.reference import MARKET_PROFILE, NATIONALITIES, PORTS
from riskmodel.core.synth.hidden import HiddenDraws, HiddenRisk
from riskmodel.core.synth.mix import ARCHETYPES, archetype_mix, joint_mix
from riskmodel.core.synth.trips import BASE_PERMIT, EXTENSION_ROOM, granted_days, trip_attributes

__all__ = ["Dataset", "EntryFacts", "TravelHistory", "make_crossings", "true_logit", "NATIONALITY_EFFECT", "ARCHETYPES", "HIDDEN_RISK", "NO_HIDDEN_RISK"]

#: Trips a year (before the at-least-one-trip rule) for each archetype.
TRIP_RATE = {"commuter": 14.0, "tourist": 0.35, "long_stay": 0.5, "business": 4.0, "worker": 1.2, "family": 1.0, "student": 0.8}
#: Small documented nationality effects on the log-odds of overstaying.
NATIONALITY_EFFECT = {"IND": 0.25, "BGD": 0.35, "RUS": 0.25, "UKR": 0.2, "PHL": 0.2, "CHN": 0.1, "JPN": -0.3, "SGP": -0.2, "AUS": -0.1}
INTERCEPT = -5.4

_V = {"visa_exempt": 0.0, "voa": 0.4, "c1_visit": 1.3, "d1_multiple": -0.4, "itas": 0.4, "itap": -2.5}
_P = {"tourism": 0.0, "business": -0.7, "family": 0.5, "work": 0.3, "study": 0.1, "transit": 0.0, "other": 0.6}
_S = {"none": 0.2, "company": -0.6, "family": 0.3, "school": -0.4, "government": -1.5}
_A = {"hotel": -0.3, "rental": 0.2, "friends_family": 0.4, "employer": -0.3, "none_declared": 1.0}


@dataclass
class Dataset:
    """A synthetic dataset.

    Attributes
    ----------
    crossings : DataFrame
        The crossings log (:data:`riskmodel.core.schema.CROSSINGS`), in time order.
    stays : DataFrame
        One row per entry (:data:`riskmodel.core.schema.STAYS`), labelled as known
        at ``as_of``.
    truth : DataFrame
        Kept apart from the features: ``stay_id, p_overstay`` (the true
        probability of overstaying, hidden risk included), ``will_overstay``
        (the drawn outcome, known even where the label is not yet mature),
        ``archetype``; then ``p_full`` (probability of the *recorded* label
        given everything, the latent included: the full oracle),
        ``p_observable`` (the observable oracle: the same from what is recorded
        at entry and the traveller's earlier recorded outcomes, latent
        integrated out), ``recorded_overstay`` (what the log will show),
        ``exit_unrecorded`` and ``latent`` (see :mod:`riskmodel.core.synth.hidden`).
    as_of : Timestamp
        End of the data.
    params : dict
        The arguments the dataset was made with.
    """

    crossings: pd.DataFrame
    stays: pd.DataFrame
    truth: pd.DataFrame
    as_of: pd.Timestamp
    params: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Counts and rates per visa type: stays, in country at ``as_of``, label rate, true rate."""
        df = self.stays[["stay_id", "visa_type", "exit_time", "overstayed"]].merge(self.truth[["stay_id", "p_overstay"]], on="stay_id")
        g = df.groupby("visa_type", observed=True)
        out = pd.DataFrame(
            {
                "stays": g.size(),
                "in_country": g["exit_time"].apply(lambda s: int(s.isna().sum())),
                "overstay_rate": g["overstayed"].mean().astype(float),
                "true_rate": g["p_overstay"].mean(),
            }
        )
        out.loc["all"] = [len(df), int(df["exit_time"].isna().sum()), float(df["overstayed"].astype(float).mean()), df["p_overstay"].mean()]
        return out


@dataclass(frozen=True)
class EntryFacts:
    """What the border knows about each trip at entry: one array element per trip.

    Attributes
    ----------
    visa_type, purpose, sponsor, accommodation, nationality : ndarray of str
        Codes as in :mod:`riskmodel.core.schema`.
    has_return_ticket : ndarray of bool
    planned_stay_days, group_size, age : ndarray of number
    """

    visa_type: np.ndarray
    purpose: np.ndarray
    sponsor: np.ndarray
    has_return_ticket: np.ndarray
    accommodation: np.ndarray
    planned_stay_days: np.ndarray
    group_size: np.ndarray
    age: np.ndarray
    nationality: np.ndarray


@dataclass(frozen=True)
class TravelHistory:
    """The traveller's record before each trip: one array element per trip.

    Attributes
    ----------
    prior_visits, prior_overstays : ndarray of int
        Earlier entries, and how many of them ended in an overstay.
    days_since_last_exit : ndarray of number
        Days since the previous exit (large where there is none).
    """

    prior_visits: np.ndarray
    prior_overstays: np.ndarray
    days_since_last_exit: np.ndarray


def true_logit(entry: EntryFacts, history: TravelHistory) -> np.ndarray:
    """Log-odds of overstaying given what is known at entry.

    Non-linear in the planned-to-permitted ratio (a steep rise once the declared
    stay exceeds what the visa and its extensions allow), with interactions
    between the return ticket and the visa regime, and between a missing
    extension room and a long planned stay. Prior overstays raise the risk,
    prior compliant visits lower it, and a quick re-entry on a 30-day regime (a
    "visa run") raises it.

    Parameters
    ----------
    entry : EntryFacts
        What is known at entry, one element per trip.
    history : TravelHistory
        The traveller's earlier trips, aligned with ``entry``.

    Returns
    -------
    ndarray of float
        The log-odds, one per trip.
    """
    visa_type, planned_stay_days, age, group_size = entry.visa_type, entry.planned_stay_days, entry.age, entry.group_size
    prior_visits, prior_overstays = history.prior_visits, history.prior_overstays
    base = np.vectorize(BASE_PERMIT.get, otypes=[float])(visa_type)
    room = np.vectorize(EXTENSION_ROOM.get, otypes=[float])(visa_type)
    ratio = planned_stay_days / (base + room)
    short_regime = np.isin(visa_type, ("visa_exempt", "voa"))
    logit = (
        INTERCEPT
        + np.vectorize(_V.get, otypes=[float])(visa_type)
        + np.vectorize(_P.get, otypes=[float])(entry.purpose)
        + np.vectorize(_S.get, otypes=[float])(entry.sponsor)
        + np.vectorize(_A.get, otypes=[float])(entry.accommodation)
        + (~entry.has_return_ticket) * (0.8 + 0.7 * short_regime)
        + 3.2 / (1.0 + np.exp(-7.0 * (ratio - 1.0)))
        + 0.8 * ((room == 0) & (planned_stay_days > base))
        + 1.5 * np.minimum(prior_overstays, 3) ** 0.6
        - 0.35 * np.log1p(np.minimum(prior_visits, 50))
        + 0.6 * (short_regime & (prior_visits > 0) & (history.days_since_last_exit < 7))
        + np.select([age < 18, age <= 25, age >= 60], [-1.0, 0.35, 0.25], 0.0)
        + np.select([group_size <= 1, group_size >= 4], [0.25, -0.3], 0.0)
        + np.vectorize(lambda n: NATIONALITY_EFFECT.get(n, 0.0), otypes=[float])(entry.nationality)
    )
    return logit


# ----------------------------------------------------------------------------- the generator


#: The hidden-risk defaults of :func:`make_crossings` (issue 14 part 1), spelt out for callers that
#: name them (``make_crossings(..., **HIDDEN_RISK)``). Read-only.
HIDDEN_RISK = MappingProxyType({"hidden_sd": 1.0, "unrecorded_exit_share": 0.002, "drift_per_year": 0.08})
#: ``make_crossings(..., **NO_HIDDEN_RISK)``: the data of the generator before hidden risk, bit for
#: bit (every risk visible in the records; an upper bound no real model meets). Read-only.
NO_HIDDEN_RISK = MappingProxyType({"hidden_sd": 0.0, "unrecorded_exit_share": 0.0, "drift_per_year": 0.0})


def _day(name: str, value) -> pd.Timestamp:
    """A naive day from ``value``, or a ConfigError naming the argument."""
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        day = pd.NaT
    if pd.isna(day) or day.tzinfo is not None:
        raise ConfigError(f"`{name}` must be a local date such as '2017-01-01'; got {value!r}.")
    return day.normalize()


def make_crossings(
    n_travellers: int = 20_000,
    start: str | pd.Timestamp = "2017-01-01",
    end: str | pd.Timestamp = "2023-12-31",
    *,
    seed: int = 0,
    covid: bool = True,
    hidden_sd: float = 1.0,
    unrecorded_exit_share: float = 0.002,
    drift_per_year: float = 0.08,
) -> Dataset:
    """Make a synthetic crossings log, its stays, and each stay's true overstay risk.

    By default part of the risk is hidden, as in real records (total SD 1 on the logit, 0.2% of
    land exits unrecorded, +0.08 log-odds a year: :data:`HIDDEN_RISK`); ``**NO_HIDDEN_RISK``
    (all three at 0) gives the data of the generator without hidden risk, bit for bit.

    Parameters
    ----------
    n_travellers : int, default=20_000
        People in the log. Frequent travellers (Batam ferry commuters,
        Timor-Leste land crossers, business travellers) make many trips, so
        stays outnumber travellers about four to one over seven years.
    start, end : str or Timestamp, default="2017-01-01", "2023-12-31"
        First and last day of the log.
    seed : int, default=0
        Same seed, same data.
    covid : bool, default=True
        Apply the COVID collapse (April 2020 to early 2022) and recovery seen
        in the BPS totals.
    hidden_sd : float, default=1.0
        Standard deviation of the hidden part of the log-odds: a persistent
        latent per traveller (64% of the variance) plus each stay's own noise
        (:mod:`riskmodel.core.synth.hidden`).
    unrecorded_exit_share : float, default=0.002
        Share of exits at land ports that leave no record (the stay then looks
        like an overstay; ``truth["exit_unrecorded"]`` says which). Per exit, so
        it compounds for frequent crossers: at 2% a quarter of the Timor-Leste
        land commuters a year would look like overstayers, an artefact larger
        than any bias the fairness audit is there to find.
    drift_per_year : float, default=0.08
        Drift of the log-odds per year, centred on 2020-01-01.

    Returns
    -------
    Dataset
        ``crossings``, ``stays`` (labelled as known at ``end``) and ``truth``.

    Raises
    ------
    ConfigError
        If ``n_travellers`` is not a positive int, ``start`` or ``end`` is not a
        local date, or ``end`` is not after ``start``.

    Examples
    --------
    >>> data = make_crossings(2_000, "2019-01-01", "2019-12-31", seed=7)
    >>> sorted(data.truth.columns)
    ['archetype', 'exit_unrecorded', 'latent', 'p_full', 'p_observable', 'p_overstay', 'recorded_overstay', 'stay_id', 'will_overstay']
    >>> bool(data.truth["p_overstay"].between(0, 1).all())
    True
    """
    if isinstance(n_travellers, bool) or not isinstance(n_travellers, int | np.integer) or n_travellers < 1:
        raise ConfigError(f"`n_travellers` must be an int >= 1; got {n_travellers!r}.")
    start_ts, end_ts = _day("start", start), _day("end", end)
    if end_ts <= start_ts:
        raise ConfigError(f"`end` must be after `start`; got start={start_ts.date()}, end={end_ts.date()}.")
    for name, value, top in (("hidden_sd", hidden_sd, 5.0), ("unrecorded_exit_share", unrecorded_exit_share, 1.0)):
        if not 0 <= value <= top:
            raise ConfigError(f"`{name}` must be a number in [0, {top:g}]; got {value!r}.")
    settings = HiddenRisk(float(hidden_sd), float(unrecorded_exit_share), float(drift_per_year))
    rng = np.random.default_rng(seed)
    days = seas.daily_index(start_ts, end_ts)
    glob = seas.global_curve(days, covid=covid)
    # trips per traveller scale with the span and with the traffic level relative to 2019
    level = glob.mean() / seas.global_curve(pd.date_range("2019-01-01", "2019-12-31"), covid=False).mean()
    joint = joint_mix()
    people = _draw_travellers(rng, n_travellers, start_ts, joint, years=len(days) / 365.25, level=level)
    trips = _draw_trips(rng, people, joint, days, glob)
    hidden = _hidden_draws(settings, seed, people, trips, joint, start_ts) if settings.active else None
    outcome = _walk_trips(rng, people, trips, pd.date_range(start_ts, end_ts + pd.Timedelta(days=3 * 365), freq="D"), hidden)
    params = {"n_travellers": int(n_travellers), "start": str(start_ts.date()), "end": str(end_ts.date()), "seed": seed, "covid": covid,
              "hidden_sd": settings.sd, "unrecorded_exit_share": settings.unrecorded_exit_share, "drift_per_year": settings.drift_per_year}
    return _assemble(rng, people, trips, outcome, (start_ts, end_ts), params)


@dataclass(frozen=True)
class _Travellers:
    """Per-traveller draws (index: traveller number)."""

    nat_i: np.ndarray  # row in NATIONALITIES
    port_i: np.ndarray  # usual port, row in PORTS
    arch_i: np.ndarray  # index into ARCHETYPES
    n_trips: np.ndarray
    birth_year: np.ndarray
    sex: np.ndarray
    doc_type: np.ndarray
    doc_num: np.ndarray

    @property
    def nat(self) -> np.ndarray:
        return NATIONALITIES["nationality"].to_numpy()[self.nat_i]

    @property
    def arch(self) -> np.ndarray:
        return np.asarray(ARCHETYPES, dtype=object)[self.arch_i]


@dataclass(frozen=True)
class _Trips:
    """Per-trip draws, sorted by traveller then entry day."""

    trav: np.ndarray  # traveller number
    port_i: np.ndarray
    exit_port_i: np.ndarray
    entry_day: np.ndarray  # days since the start
    attrs: dict  # see trip_attributes
    age: np.ndarray


@dataclass(frozen=True)
class _Outcome:
    """What happened on each trip (trips dropped for overlapping an earlier one have ``keep`` False)."""

    keep: np.ndarray
    p_true: np.ndarray
    overstay: np.ndarray
    exit_day: np.ndarray
    final_days: np.ndarray
    recorded: np.ndarray  # the label the log shows: overstay, or an exit that went unrecorded
    p_full: np.ndarray  # probability of the recorded label given everything (latent included)
    p_observable: np.ndarray  # the observable oracle
    unrecorded: np.ndarray
    latent: np.ndarray  # the traveller's latent of each trip


def _draw_travellers(
    rng: np.random.Generator, n_travellers: int, start_ts: pd.Timestamp, joint: np.ndarray, *, years: float, level: float
) -> _Travellers:
    """Steps 1-2: travellers per nationality x port cell, so that *entries* match the BPS mix; their attributes."""
    nats = NATIONALITIES["nationality"].to_numpy()
    ports = PORTS["port"].to_numpy()
    ptypes = PORTS["port_type"].to_numpy()
    rates = np.array([TRIP_RATE[a] for a in ARCHETYPES])
    expected_trips = 1.0 + np.maximum(rates * years * level - 1.0, 0.0)
    mixes = np.array([[archetype_mix(n, t) for t in ptypes] for n in nats])  # nat x port x arch
    trips_per_traveller = mixes @ expected_trips
    weight = (joint / trips_per_traveller).ravel()
    cell = rng.choice(weight.size, size=n_travellers, p=weight / weight.sum())
    t_nat_i, t_port_i = np.divmod(cell, len(ports))
    t_arch_i = (rng.random(n_travellers)[:, None] > np.cumsum(mixes[t_nat_i, t_port_i], axis=1)).sum(axis=1)
    t_arch_i = np.minimum(t_arch_i, len(ARCHETYPES) - 1)
    t_arch = np.asarray(ARCHETYPES, dtype=object)[t_arch_i]
    n_trips = 1 + rng.poisson(np.maximum(rates[t_arch_i] * years * level - 1.0, 0.0))

    age0 = np.select(
        [t_arch == "student", t_arch == "business", t_arch == "worker", t_arch == "long_stay"],
        [rng.normal(22, 3, n_travellers), rng.normal(42, 9, n_travellers), rng.normal(38, 9, n_travellers),
         np.where(rng.random(n_travellers) < 0.6, rng.normal(29, 5, n_travellers), rng.normal(62, 6, n_travellers))],
        rng.normal(38, 15, n_travellers),
    )
    age0 = np.clip(np.round(age0), 0, 90)
    birth_year = (start_ts.year - age0).astype(np.int32)
    male_p = np.select([t_arch == "worker", t_arch == "business"], [0.8, 0.7], 0.5)
    u = rng.random(n_travellers)
    sex = np.where(u < 0.001, "X", np.where(u < male_p, "M", "F")).astype(object)
    doc_type = np.where(
        (t_arch == "commuter") & np.isin(ptypes[t_port_i], ("land",)) & (rng.random(n_travellers) < 0.7), "border_pass", "passport"
    ).astype(object)
    doc_type[(doc_type == "passport") & (rng.random(n_travellers) < 0.01)] = "travel_document"
    doc_num = rng.permutation(np.arange(10_000_000, 10_000_000 + n_travellers))
    return _Travellers(t_nat_i, t_port_i, t_arch_i, n_trips, birth_year, sex, doc_type, doc_num)


def _draw_trips(rng: np.random.Generator, people: _Travellers, joint: np.ndarray, days: pd.DatetimeIndex, glob: np.ndarray) -> _Trips:
    """Step 3: each trip's traveller, ports, entry day (from the market-at-port intensity) and attributes."""
    ports = PORTS["port"].to_numpy()
    ptypes = PORTS["port_type"].to_numpy()
    n_days = len(days)
    t_nat_i, t_port_i, t_arch, t_nat = people.nat_i, people.port_i, people.arch, people.nat
    trav = np.repeat(np.arange(len(t_nat_i)), people.n_trips)
    n = len(trav)
    switch = rng.random(n) < np.where(t_arch[trav] == "commuter", 0.05, 0.12)
    port_cdf = np.cumsum(joint / joint.sum(axis=1, keepdims=True), axis=1)
    other_port = (rng.random(n)[:, None] > port_cdf[t_nat_i[trav]]).sum(axis=1)
    trip_port_i = np.where(switch, np.minimum(other_port, len(ports) - 1), t_port_i[trav])
    entry_day = np.empty(n, dtype=np.int64)
    profile = np.array([MARKET_PROFILE[x] for x in t_nat[trav]], dtype=object)
    combo = pd.Series(pd.factorize(pd.MultiIndex.from_arrays([profile, trip_port_i]))[0])
    market_cache: dict[str, np.ndarray] = {}
    for code, idx in combo.groupby(combo.to_numpy()).indices.items():
        prof = profile[idx[0]]
        pi = trip_port_i[idx[0]]
        if prof not in market_cache:
            market_cache[prof] = seas.market_curve(prof, days)
        curve = glob * market_cache[prof] * seas.port_weekly(ports[pi], ptypes[pi], days) * seas.closures(ports[pi], days)
        cdf = np.cumsum(curve)
        entry_day[idx] = np.searchsorted(cdf, rng.random(len(idx)) * cdf[-1], side="right")
    entry_day = np.minimum(entry_day, n_days - 1)
    order = np.lexsort((entry_day, trav))
    trav, trip_port_i, entry_day = trav[order], trip_port_i[order], entry_day[order]
    entry_dates = days[entry_day]

    attrs = trip_attributes(rng, t_arch[trav], t_nat[trav], entry_dates, ptypes[trip_port_i])
    age = entry_dates.year.to_numpy() - people.birth_year[trav]

    # exit port: mostly the port of entry, never Ngurah Rai on Nyepi (handled in _walk_trips)
    exit_port_i = np.where(rng.random(n) < 0.85, trip_port_i, (rng.random(n)[:, None] > port_cdf[t_nat_i[trav]]).sum(axis=1))
    exit_port_i = np.minimum(exit_port_i, len(ports) - 1)
    return _Trips(trav, trip_port_i, exit_port_i, entry_day, attrs, age)


def _hidden_draws(settings: HiddenRisk, seed: int, people: _Travellers, trips: _Trips, joint: np.ndarray, start_ts: pd.Timestamp) -> HiddenDraws:
    """The hidden draws, from a stream apart so that the visible draws stay as they were."""
    land = (PORTS["port_type"].to_numpy() == "land").astype(float)
    land_of_nat = (joint / joint.sum(axis=1, keepdims=True)) @ land
    # the exit port is the entry port 85% of the time, else drawn from the nationality's port mix
    land_exit = 0.85 * land[trips.port_i] + 0.15 * land_of_nat[people.nat_i[trips.trav]]
    years = ((start_ts - pd.Timestamp("2020-01-01")).days + trips.entry_day) / 365.25
    rng = np.random.default_rng([int(seed), 14])
    return HiddenDraws(settings, rng, len(people.nat_i), settings.drift_per_year * years, land_exit, land[trips.exit_port_i] > 0)


def _walk_trips(
    rng: np.random.Generator, people: _Travellers, trips: _Trips, nyepi_span: pd.DatetimeIndex, hidden: HiddenDraws | None = None
) -> _Outcome:
    """Step 4: walk the trips of every traveller in order, drawing outcomes from the true risk.

    ``nyepi_span`` covers every day an exit may fall on (Ngurah Rai is closed on Nyepi);
    ``hidden`` adds the hidden risk (None: none, as before issue 14).
    """
    trav, entry_day, attrs = trips.trav, trips.entry_day, trips.attrs
    n, n_travellers = len(trav), len(people.nat_i)
    t_nat = people.nat
    nyepi = seas.nyepi_days(nyepi_span)
    ngurah_rai = int(np.flatnonzero(PORTS["port"].to_numpy() == "Ngurah Rai")[0])
    rank = np.arange(n) - np.searchsorted(trav, trav, side="left")
    u_over = rng.random(n)
    u_ext = rng.random(n)
    over_days = np.where(
        rng.random(n) < 0.7, rng.geometric(0.2, n), np.where(rng.random(n) < 0.67, rng.integers(15, 61, n), rng.integers(61, 400, n))
    )
    never_leave = rng.random(n) < 0.25
    desired = attrs["desired"]
    final_days = granted_days(attrs, u_ext)

    keep = np.zeros(n, dtype=bool)
    p_true = np.zeros(n)
    overstay = np.zeros(n, dtype=bool)
    exit_day = np.zeros(n, dtype=np.int64)
    extra = {k: np.zeros(n) for k in ("p_full", "p_observable")}
    recorded = np.zeros(n, dtype=bool)
    state_last_exit = np.full(n_travellers, -10**9, dtype=np.int64)
    state_visits = np.zeros(n_travellers, dtype=np.int32)
    state_over = np.zeros(n_travellers, dtype=np.int32)
    state_ban = np.full(n_travellers, -10**9, dtype=np.int64)
    far = 10**9
    by_rank = pd.Series(rank).groupby(rank).indices
    for r in range(int(rank.max()) + 1 if n else 0):
        idx = by_rank[r]
        t = trav[idx]
        ok = (entry_day[idx] > state_last_exit[t]) & (entry_day[idx] >= state_ban[t])
        idx, t = idx[ok], t[ok]
        if not len(idx):
            continue
        keep[idx] = True
        pv, po = state_visits[t], state_over[t]
        since = np.where(pv > 0, entry_day[idx] - state_last_exit[t], 10**6)
        logit = true_logit(_entry_facts(attrs, idx, trips.age[idx], t_nat[t]), TravelHistory(pv, po, since))
        if hidden is None:
            p = 1.0 / (1.0 + np.exp(-logit))
            over = u_over[idx] < p
            rec, p_full, p_obs = over, p, p
        else:
            p, over, rec, p_full, p_obs = hidden.step(t, idx, logit, u_over[idx])
        extra["p_full"][idx], extra["p_observable"][idx], recorded[idx] = p_full, p_obs, rec
        # N permitted days end on entry day + N - 1: leaving on that day is on time
        stay_len = np.where(over, final_days[idx] - 1 + over_days[idx], np.minimum(desired[idx], final_days[idx] - 1))
        ex = entry_day[idx] + stay_len.astype(np.int64)
        # Ngurah Rai is closed on Nyepi: leave the day before (or after, when already overstaying)
        on_nyepi = (trips.exit_port_i[idx] == ngurah_rai) & nyepi[np.minimum(ex, len(nyepi) - 1)]
        ex = np.where(on_nyepi, np.where(over, ex + 1, ex - 1), ex)
        stuck = over & never_leave[idx] & (over_days[idx] > 60)
        ex = np.where(stuck, far, ex)
        p_true[idx], overstay[idx], exit_day[idx] = p, over, ex
        state_last_exit[t] = ex
        state_visits[t] = pv + 1
        # the record, not the truth, is what the traveller's history holds from now on
        state_over[t] = po + rec
        deported = over & (over_days[idx] > 60)
        state_ban[t] = np.where(deported, np.minimum(ex, far - 1) + 365, state_ban[t])
        if hidden is not None:
            # the log contract refuses a second entry with no exit in between: after an
            # unrecorded exit the traveller does not come back within the log
            state_ban[t] = np.where(hidden.unrecorded[idx], far, state_ban[t])
    unrec = hidden.unrecorded if hidden is not None else np.zeros(n, dtype=bool)
    latent = hidden.latent[trav] if hidden is not None else np.zeros(n)
    return _Outcome(keep, p_true, overstay, exit_day, final_days, recorded, extra["p_full"], extra["p_observable"], unrec, latent)


def _entry_facts(attrs: dict, idx: np.ndarray, age: np.ndarray, nationality: np.ndarray) -> EntryFacts:
    """The :class:`EntryFacts` of trips ``idx``."""
    return EntryFacts(
        visa_type=attrs["visa_type"][idx], purpose=attrs["purpose"][idx], sponsor=attrs["sponsor"][idx],
        has_return_ticket=attrs["has_return_ticket"][idx], accommodation=attrs["accommodation"][idx],
        planned_stay_days=attrs["planned_stay_days"][idx].astype(float), group_size=attrs["group_size"][idx],
        age=age, nationality=nationality,
    )


def _hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day: most crossings between 06:00 and 23:00."""
    return (rng.beta(2.2, 1.8, n) * 17 * 3600 + 6 * 3600).astype(np.int64)


def _assemble(rng: np.random.Generator, people: _Travellers, trips: _Trips, outcome: _Outcome, span: tuple, params: dict) -> Dataset:
    """The crossings log, stays and truth of the kept trips; ``span`` is ``(start, end)`` of the log."""
    crossings, stay_ids = _crossings_log(rng, people, trips, outcome, span)
    sel = np.flatnonzero(outcome.keep)
    tr = trips.trav[sel]
    end_ts = span[1]

    from riskmodel.core.stays import _stays_through

    stays = _stays_through(crossings, end_ts + pd.Timedelta(hours=23, minutes=59, seconds=59))
    truth = pd.DataFrame(
        {"stay_id": stay_ids, "p_overstay": outcome.p_true[sel], "will_overstay": outcome.overstay[sel], "archetype": people.arch[tr],
         "p_full": outcome.p_full[sel], "p_observable": outcome.p_observable[sel], "recorded_overstay": outcome.recorded[sel],
         "exit_unrecorded": outcome.unrecorded[sel], "latent": outcome.latent[sel]}
    )
    truth["stay_id"] = truth["stay_id"].astype(crossings["crossing_id"].dtype)
    truth = truth.set_index("stay_id").loc[stays["stay_id"]].reset_index()
    return Dataset(crossings=crossings, stays=stays, truth=truth, as_of=end_ts, params=params)


def _crossings_log(rng: np.random.Generator, people: _Travellers, trips: _Trips, outcome: _Outcome, span: tuple) -> tuple:
    """The crossings log in time order, and the stay id (entry crossing id) of each kept trip."""
    start_ts, end_ts = span
    sel = np.flatnonzero(outcome.keep)
    trav, trip_port_i, exit_port_i, entry_day, attrs = trips.trav, trips.port_i, trips.exit_port_i, trips.entry_day, trips.attrs
    exit_day, final_days = outcome.exit_day, outcome.final_days
    t_nat, sex, birth_year, doc_type = people.nat, people.sex, people.birth_year, people.doc_type
    ports = PORTS["port"].to_numpy()
    n = len(sel)
    day0 = np.datetime64(start_ts.date(), "s")
    entry_ts = day0 + (entry_day[sel] * 86400 + _hours(rng, n)).astype("timedelta64[s]")
    exit_ts = day0 + (np.minimum(exit_day[sel], 10**6) * 86400 + _hours(rng, n)).astype("timedelta64[s]")
    # a same-day exit must come after the entry
    exit_ts = np.maximum(exit_ts, entry_ts + np.timedelta64(60, "s"))
    end_limit = np.datetime64((end_ts + pd.Timedelta(days=1)).date(), "s")
    exited = (exit_ts < end_limit) & ~outcome.unrecorded[sel]
    permit_end = day0 + ((entry_day[sel] + attrs["base_days"][sel] - 1).astype(np.int64) * 86400).astype("timedelta64[s]")
    final_end = day0 + ((entry_day[sel] + final_days[sel] - 1).astype(np.int64) * 86400).astype("timedelta64[s]")
    tr = trav[sel]
    traveller_id = np.char.mod("T%08d", tr)
    document_id = np.char.mod("D%08d", people.doc_num[tr])

    def cat(values, categories):
        return pd.Categorical(values, categories=list(categories))

    entry = pd.DataFrame(
        {
            "traveller_id": traveller_id,
            "direction": "entry",
            "timestamp": entry_ts,
            "port": ports[trip_port_i[sel]],
            "nationality": t_nat[tr],
            "sex": sex[tr],
            "birth_year": birth_year[tr],
            "document_type": doc_type[tr],
            "document_id": document_id,
            "visa_type": attrs["visa_type"][sel],
            "permit_end": permit_end,
            "purpose": attrs["purpose"][sel],
            "sponsor": attrs["sponsor"][sel],
            "has_return_ticket": attrs["has_return_ticket"][sel],
            "accommodation": attrs["accommodation"][sel],
            "group_size": attrs["group_size"][sel],
            "planned_stay_days": attrs["planned_stay_days"][sel],
            "_stay": np.arange(n),
        }
    )
    ex = np.flatnonzero(exited)
    exit_ = pd.DataFrame(
        {
            "traveller_id": traveller_id[ex],
            "direction": "exit",
            "timestamp": exit_ts[ex],
            "port": ports[exit_port_i[sel][ex]],
            "nationality": t_nat[tr][ex],
            "sex": sex[tr][ex],
            "birth_year": birth_year[tr][ex],
            "document_type": doc_type[tr][ex],
            "document_id": document_id[ex],
            "permit_end": final_end[ex],
            "_stay": -1 - ex,
        }
    )
    log = pd.concat([entry, exit_], ignore_index=True)
    log = log.sort_values(["timestamp", "_stay"], kind="stable").reset_index(drop=True)
    log.insert(0, "crossing_id", np.char.mod("C%09d", np.arange(len(log))))
    for col, cats in (("direction", DIRECTIONS), ("sex", SEXES), ("document_type", DOCUMENT_TYPES), ("visa_type", VISA_TYPES),
                      ("purpose", PURPOSES), ("sponsor", SPONSORS), ("accommodation", ACCOMMODATIONS)):
        log[col] = cat(log[col].to_numpy(), cats)
    log["timestamp"] = log["timestamp"].astype("datetime64[us]")
    log["permit_end"] = log["permit_end"].astype("datetime64[us]")
    log["birth_year"] = log["birth_year"].astype("int32")
    log["group_size"] = pd.array(log["group_size"], dtype="Int32")
    log["planned_stay_days"] = pd.array(log["planned_stay_days"], dtype="Int32")
    log["has_return_ticket"] = pd.array(log["has_return_ticket"], dtype="boolean")
    for col in ("crossing_id", "traveller_id", "port", "nationality", "document_id"):
        log[col] = log[col].astype("str") if pd.__version__ >= "3" else log[col].astype(object)

    stay_of_entry = log["_stay"].to_numpy()
    is_entry = stay_of_entry >= 0
    stay_ids = np.empty(n, dtype=object)
    stay_ids[stay_of_entry[is_entry]] = log["crossing_id"].to_numpy()[is_entry]
    return log.drop(columns="_stay"), stay_ids
