"""Stays and point-in-time history features on Spark: the pandas path's contracts and values, scaled out.

:func:`build_stays_spark` and :func:`add_history_features_spark` are the Spark forms of
:func:`riskmodel.core.stays.build_stays` and :func:`riskmodel.core.features.add_history_features`:
same columns, same values (``tests/test_spark_features.py`` compares every column on a few
thousand travellers). Nothing is collected to one process: every traveller's history is
read with window functions partitioned by ``traveller_id``, and the "exits strictly before
this entry" features with an as-of join written as one stream of entry and exit events (each
stay exploded into its entry and its exit) ordered by time (exits after entries at the same
instant, so an exit at the entry's second does not count), with running sums read at each entry.
:func:`build_features_spark`, whose stays pair each entry with the traveller's next crossing,
needs no event stream: running sums over the stays in entry order, read at the last stay that
entered at an earlier second (less its exit when that falls at the entry's second), in the sort
the other windows share (one sort per traveller partition).

Times: the contract's timestamps are local port time without a zone. Spark holds them as
``TIMESTAMP_NTZ`` (Parquet written by pandas) or ``TIMESTAMP`` in the session zone (a
``createDataFrame`` from pandas); :func:`_seconds` turns either into seconds since 1970 *of
the local wall clock*, the numbers the pandas path computes with, so day boundaries are the
port's calendar days whatever ``spark.sql.session.timeZone`` is.

Ties: two crossings of one traveller at the same second are ordered by ``crossing_id`` (the
pandas path keeps log order there); real logs have none, the synthetic generator none.

This module imports ``pyspark`` and belongs to the Spark integration.
"""

from __future__ import annotations

from riskmodel.core.features import AGE_BANDS, EXTENSION_ROOM_DAYS
from riskmodel.core.reference import NATIONALITIES, PORTS
from riskmodel.core.schema import STAYS

__all__ = ["build_stays_spark", "add_history_features_spark", "build_features_spark", "label_mature_spark"]

_DAY = 86_400
#: Every traveller window is partitioned by this hash of ``traveller_id`` first (then by the id itself, so
#: a hash collision never joins two travellers): Spark sorts on the first key's 8-byte prefix, which
#: for ids sharing a long prefix ("K0003-T0...") ties on nearly every comparison and falls back to
#: comparing whole rows; a hash's prefix tells almost every two travellers apart.
_TKEY = "_tkey"
_TRIP_COLUMNS = ("nationality", "sex", "birth_year", "document_type", "visa_type", "permit_end", "purpose",
                 "sponsor", "has_return_ticket", "accommodation", "group_size", "planned_stay_days")


def _seconds(col):
    """Seconds since 1970 of the local wall-clock time in ``col`` (TIMESTAMP or TIMESTAMP_NTZ)."""
    from pyspark.sql import functions as F

    # the wall clock's own fields: a TIMESTAMP is read in the session zone (its local time), a TIMESTAMP_NTZ as it is.
    # Casting an NTZ value to TIMESTAMP and back through the zone moved a time in a daylight-saving gap of the session's
    # zone (02:30 where 02:00-02:59 does not exist) by an hour
    days = F.datediff(F.to_date(col), F.lit("1970-01-01").cast("date")).cast("long")
    return days * _DAY + F.hour(col) * 3600 + F.minute(col) * 60 + F.second(col)


def _day(seconds_col):
    from pyspark.sql import functions as F

    return F.floor(seconds_col / F.lit(_DAY))


def _as_of_seconds(crossings, as_of, *, within_log: bool = True):
    """``as_of`` (or the log's last crossing) as wall-clock seconds, validated like the pandas path.

    ``within_log``: refuse a day after the log's last crossing, as :func:`riskmodel.core.stays.build_stays` does (one
    aggregation on the cluster). Off only where ``crossings`` is a part of a log whose end was judged on the whole
    (a nightly bucket: its travellers' crossings may stop days before the log's).
    """
    import pandas as pd
    from pyspark.sql import functions as F

    last = crossings.agg(F.max(_seconds(F.col("timestamp")))).first()[0] if as_of is None or within_log else None
    if last is not None:
        _check_not_after_the_run(crossings, last)
    if as_of is None:
        return last  # None for an empty log
    from riskmodel.core.stays import _as_of, within_log_error

    ts = _as_of(as_of)
    seconds = int(ts.value // 1_000_000_000)
    if last is not None and seconds // _DAY > last // _DAY:
        raise within_log_error(ts, pd.Timestamp(int(last), unit="s"), "as_of")
    return seconds


def _check_not_after_the_run(crossings, last: int) -> None:
    """Refuse crossings after the time of the run, as :func:`riskmodel.core.stays.check_not_after_the_run` (``last``: the
    log's last crossing in wall-clock seconds, already on the driver): a mistyped year read as the log's end."""
    from pyspark.sql import functions as F

    from riskmodel.core.stays import after_the_run_error, run_time_limit

    limit = run_time_limit()
    limit_s = int(limit.value // 1_000_000_000)
    if last <= limit_s:
        return
    late = crossings.where(_seconds(F.col("timestamp")) > F.lit(limit_s))
    ids = tuple(str(r[0]) for r in late.orderBy("timestamp", "crossing_id").select("crossing_id").limit(5).collect())
    import pandas as pd

    raise after_the_run_error(late.count(), limit, pd.Timestamp(int(last), unit="s"), ids)


def build_stays_spark(crossings, *, as_of=None, validate: bool = True):
    """Pair every entry with its exit and label it as known at ``as_of``, on Spark.

    Parameters
    ----------
    crossings : pyspark.sql.DataFrame
        A crossings log meeting :data:`riskmodel.core.schema.CROSSINGS`.
    as_of : str or Timestamp, optional
        Only crossings at or before this local time are used, and labels are as known
        then. Default: the last crossing in the log (one aggregation on the cluster).
    validate : bool, default=True
        Check the log against the contract first, as :func:`riskmodel.core.stays.build_stays`
        does (:func:`~riskmodel.core.schema.check_crossings` on the cluster, as the nightly
        run checks it: Spark's own expressions, and the full check only for a log they do
        not find plainly valid).

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; the columns of :data:`riskmodel.core.schema.STAYS` in that order, values equal
        to :func:`riskmodel.core.stays.build_stays` (``overstay_days`` an int, ``overstayed``
        a nullable boolean). Unordered: sort by ``entry_time, stay_id`` if order matters.

    Raises
    ------
    SchemaError
        If ``validate`` and the log breaks the contract (every problem named, with its first
        ids and row count, as in pandas) or its last crossings come after a silence its own rhythm
        makes impossible (:func:`riskmodel.core.stays.check_log_tail`); if a crossing lies after the
        time of the run; if ``as_of`` is not a date, carries a time zone or
        lies on a day after the log's last crossing (exits after the log ends are unknown; a
        time later on its last day is taken).
    """
    if validate:
        _check_crossings(crossings, as_of)
    return _stays(crossings, as_of=as_of).drop("_entry_s", _TKEY)


def _check_crossings(crossings, as_of=None) -> None:
    """The crossings contract on the cluster (:func:`riskmodel.integrations.spark_checks._check_log`), then the log's
    last crossings against its own rhythm (:func:`_check_log_tail`), as ``build_stays(validate=True)`` checks both."""
    from riskmodel.integrations.spark_checks import _check_log

    _check_log(crossings.sparkSession, crossings)
    _check_log_tail(crossings, as_of)


def _check_log_tail(crossings, as_of=None) -> None:
    """:func:`riskmodel.core.stays.check_log_tail` on the cluster: the log's last few crossing times (a top-k, one pass
    over one column) judged on the driver, and a count of the 90 days before one only where whole days with none precede
    a last crossing (never on a log with crossings every day)."""
    import numpy as np
    from pyspark.sql import functions as F

    from riskmodel.core.stays import _TAIL_CROSSINGS, _as_of, silence_error, tail_silence

    s = _seconds(F.col("timestamp"))
    last = [r[0] for r in crossings.where(F.col("timestamp").isNotNull()).select(s.alias("s"))
            .orderBy(F.desc("s")).limit(_TAIL_CROSSINGS + 2).collect()]
    if last:  # a crossing after the time of the run is named as such first, as build_stays does
        _check_not_after_the_run(crossings, max(last))
    times = np.array(sorted(last), dtype="int64").astype("datetime64[s]")
    day = _day(s)

    def on_days(after, through) -> int:  # numpy days to days since 1970, as _day counts them
        lo, hi = (int(d.astype("datetime64[D]").astype("int64")) for d in (after, through))
        return crossings.where((day > F.lit(lo)) & (day <= F.lit(hi))).count()

    found = tail_silence(times, on_days, None if as_of is None else _as_of(as_of))
    if found is None:
        return
    prev_s = int(found[0].value // 1_000_000_000)
    late = crossings.where(s > F.lit(prev_s))
    ids = tuple(str(r[0]) for r in late.orderBy("timestamp", "crossing_id").select("crossing_id").limit(5).collect())
    raise silence_error(*found, ids, late.count())


#: The crossings columns the stays are built from (the nightly run reads only these).
CROSSING_COLUMNS = ("crossing_id", "traveller_id", "direction", "timestamp", "port", *_TRIP_COLUMNS)


def _stays(crossings, *, as_of, within_log: bool = True):
    """:func:`build_stays_spark` plus ``_entry_s``, the entry's wall-clock seconds, in the window's sort order.

    ``within_log``: as for :func:`_as_of_seconds`.

    The rows leave the stays window sorted by ``traveller_id, _ts, crossing_id``; kept under
    the names ``_entry_s`` and ``stay_id``, that order is the one the entry-history windows
    need, so Spark sorts once for both (a recomputed ``_entry_s`` would cost a second sort).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    as_of_s = _as_of_seconds(crossings, as_of, within_log=within_log)
    df = crossings.withColumn("_ts", _seconds(F.col("timestamp")))
    if as_of is not None:
        df = df.where(F.col("_ts") <= F.lit(as_of_s))
    df = df.withColumn(_TKEY, F.xxhash64("traveller_id"))
    w = Window.partitionBy(_TKEY, "traveller_id").orderBy("_ts", "crossing_id")
    df = (df.withColumn("_next_dir", F.lead("direction").over(w)).withColumn("_next_ts", F.lead("_ts").over(w))
          .withColumn("_next_time", F.lead("timestamp").over(w)).withColumn("_next_port", F.lead("port").over(w))
          .withColumn("_next_permit", F.lead("permit_end").over(w)))
    ent = df.where(F.col("direction") == "entry")
    has_exit = F.col("_next_dir") == "exit"
    ent = (ent.withColumn("_has_exit", F.coalesce(has_exit, F.lit(False)))
           .withColumn("exit_time", F.when(F.col("_has_exit"), F.col("_next_time")))
           .withColumn("exit_port", F.when(F.col("_has_exit"), F.col("_next_port")))
           .withColumn("_exit_permit", F.when(F.col("_has_exit"), F.col("_next_permit"))))
    # the permit in force at exit is the one the exit record carries, extended or cut short (revoked, shortened), as
    # in pandas; none on the exit record: the one granted. A missing entry permit stays missing.
    final = F.when(F.col("permit_end").isNull(), F.lit(None)).otherwise(F.coalesce(F.col("_exit_permit"), F.col("permit_end")))
    ent = ent.withColumn("final_permit_end", final)
    final_s = _seconds(F.col("final_permit_end"))
    exit_day_s = _day(_seconds(F.col("exit_time"))) * _DAY
    as_of_day_s = _day(F.lit(as_of_s)) * _DAY if as_of_s is not None else F.lit(None).cast("long")
    left_late = F.col("_has_exit") & (exit_day_s > final_s)
    left_ok = F.col("_has_exit") & (exit_day_s <= final_s)
    known_late = ~F.col("_has_exit") & (as_of_day_s > final_s)
    late = F.coalesce(left_late, F.lit(False)) | F.coalesce(known_late, F.lit(False))
    known = late | F.coalesce(left_ok, F.lit(False))
    end_day_s = F.when(F.col("_has_exit"), exit_day_s).otherwise(as_of_day_s)
    ent = (ent.withColumn("overstayed", F.when(known, late))
           .withColumn("overstay_days", F.when(late, F.floor((end_day_s - _day(final_s) * _DAY) / F.lit(_DAY)).cast("int"))
                       .when(known, F.lit(0))))
    return ent.select(
        F.col("crossing_id").alias("stay_id"), "traveller_id", F.col("timestamp").alias("entry_time"),
        F.col("port").alias("entry_port"), "exit_time", "exit_port", *_TRIP_COLUMNS, "final_permit_end",
        "overstayed", "overstay_days", F.col("_ts").alias("_entry_s"), _TKEY,
    ).select(*[c.name for c in STAYS], "_entry_s", _TKEY)


def _literal_map(mapping: dict):
    """A Spark map literal from a small Python dict (reference tables, visa rules)."""
    from itertools import chain

    from pyspark.sql import functions as F

    return F.create_map(*[F.lit(x) for x in chain.from_iterable(mapping.items())])


def _add_entry_row(stays):
    """What the entry record alone gives, as :func:`riskmodel.core.features._add_entry_row` computes it."""
    from pyspark.sql import functions as F

    entry_s = _seconds(F.col("entry_time"))
    permitted = (_day(_seconds(F.col("permit_end"))) - _day(entry_s) + 1).cast("double")
    fixed = {k: float(v) for k, v in EXTENSION_ROOM_DAYS.items() if v is not None}
    same_as_permit = [k for k, v in EXTENSION_ROOM_DAYS.items() if v is None]
    # an unknown or missing visa type has no extension room, as in the pandas path
    room = F.when(F.col("visa_type").isin(same_as_permit), permitted).otherwise(
        F.coalesce(_literal_map(fixed)[F.col("visa_type")], F.lit(0.0)))
    planned = F.col("planned_stay_days").cast("double")
    ports = dict(zip(PORTS["port"], PORTS["port_type"], strict=True))
    # at least one day, missing when the permitted stay is (no permit end on file), as np.maximum gives it in pandas:
    # greatest() would skip the null and read the planned days over one day
    def at_least_one_day(days):
        return F.when(days < 1.0, F.lit(1.0)).otherwise(days)

    return (stays.withColumn("permitted_days", permitted).withColumn("extension_room_days", room)
            .withColumn("planned_over_permitted", planned / at_least_one_day(F.col("permitted_days")))
            .withColumn("planned_over_max", planned / at_least_one_day(F.col("permitted_days") + F.col("extension_room_days")))
            .withColumn("planned_beyond_max_days", planned - (F.col("permitted_days") + F.col("extension_room_days")))
            .withColumn("entry_month", F.month("entry_time").cast("int"))
            .withColumn("port_type", F.coalesce(_literal_map(ports)[F.col("entry_port")], F.lit("unknown"))))


def _add_entry_history(stays):
    """Features from earlier entries: window functions over each traveller's entries in time order.

    Every window is partitioned by the traveller (``_tkey, traveller_id``), so Spark shuffles the stays once for
    all of them (and not at all when the stays come from :func:`build_stays_spark`, already partitioned so).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_t = Window.partitionBy(_TKEY, "traveller_id").orderBy("_entry_s", "stay_id")
    before = by_t.rowsBetween(Window.unboundedPreceding, -1)
    by_time = Window.partitionBy(_TKEY, "traveller_id").orderBy("_entry_s")
    rank = F.row_number().over(by_t) - 1
    # entries in the 365 days before, plus the earlier entries at the very same second (ties sort by stay id)
    same_second_before = rank - F.count(F.lit(1)).over(by_time.rangeBetween(Window.unboundedPreceding, -1))
    prior_365 = F.count(F.lit(1)).over(by_time.rangeBetween(-365 * _DAY, -1)) + same_second_before
    prev_port, prev_visa = F.lag("entry_port").over(by_t), F.lag("visa_type").over(by_t)
    first = rank == 0
    return (stays.withColumn("prior_visits", rank.cast("double"))
            .withColumn("prior_visits_365d", prior_365.cast("double"))
            .withColumn("prior_ports", F.size(F.collect_set("entry_port").over(before)).cast("double"))
            .withColumn("port_switch", F.when(first, F.lit(None)).otherwise((~prev_port.eqNullSafe(F.col("entry_port"))).cast("double")))
            .withColumn("visa_switch", F.when(first, F.lit(None)).otherwise((~prev_visa.eqNullSafe(F.col("visa_type"))).cast("double"))))


_EXIT_VALUES = ("_late_days", "_late", "_ext", "_stay", "_used", "_unknown")


def _add_exit_history(stays):
    """Features from exits strictly before each entry: an as-of join over entry and exit events in time order.

    Every stay row is exploded into its entry event and, when it has an exit, its exit event (a
    narrow struct of the exit's values); one window per traveller in time order reads running sums
    at each entry. The events come from the one stream of stays (no union of two reads of it, which
    made Spark compute the stays, their shuffle included, twice), stay partitioned by traveller, and
    no join back to the stays is needed.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    exit_s = _seconds(F.col("exit_time"))
    exit_event = F.struct(exit_s.alias("_t"), F.lit(1).alias("_kind"), *[v.alias(k) for k, v in _exit_values(exit_s).items()])
    entry_event = F.struct(F.col("_entry_s").alias("_t"), F.lit(0).alias("_kind"),
                           *[F.lit(None).cast("double").alias(c) for c in _EXIT_VALUES])
    events = F.when(F.col("exit_time").isNotNull(), F.array(entry_event, exit_event)).otherwise(F.array(entry_event))
    base = list(stays.columns)
    ev = stays.select(*base, F.explode(events).alias("_ev")).select(*base, "_ev.*")
    # at the same second an entry sorts before an exit: only exits strictly before the entry count
    w = Window.partitionBy(_TKEY, "traveller_id").orderBy("_t", "_kind").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    n = F.count("_stay").over(w).cast("double")
    last_exit = F.max(F.when(F.col("_kind") == 1, F.col("_t"))).over(w)
    hist = (ev.withColumn("prior_exits", n)
            .withColumn("prior_overstays", F.coalesce(F.sum("_late").over(w), F.lit(0.0)))
            .withColumn("prior_overstay_days", F.coalesce(F.sum("_late_days").over(w), F.lit(0.0)))
            .withColumn("prior_extensions", F.coalesce(F.sum("_ext").over(w), F.lit(0.0)))
            .withColumn("days_since_last_exit", (F.col("_t") - last_exit) / F.lit(float(_DAY)))
            .withColumn("mean_prior_stay_days", F.sum("_stay").over(w) / n)
            .withColumn("max_prior_stay_days", F.max("_stay").over(w))
            .withColumn("mean_prior_permit_used", F.when(F.sum("_unknown").over(w) == 0, F.sum("_used").over(w) / n)))
    return hist.where(F.col("_kind") == 0).drop("_t", "_kind", *_EXIT_VALUES)


def _exit_values(exit_s):
    """The values an exit adds to the later entries' history (nulls for a stay with no exit)."""
    from pyspark.sql import functions as F

    exit_day, final_day = _day(exit_s), _day(_seconds(F.col("final_permit_end")))
    entry_day, permit_day = _day(F.col("_entry_s")), _day(_seconds(F.col("permit_end")))
    # no permit end on file: the outcome is unknown, no overstay, no extension, no share of a permit used (greatest()
    # would skip the null: the stay's days over one day); its exit and length count, as in the pandas path
    known = F.col("final_permit_end").isNotNull()
    late_days = F.when(known, F.greatest(exit_day - final_day, F.lit(0))).otherwise(F.lit(0)).cast("double")
    stay_days = (exit_s - F.col("_entry_s")) / F.lit(float(_DAY))
    return {"_late_days": late_days, "_late": (late_days > 0).cast("double"),
            "_ext": F.coalesce(known & (final_day > permit_day), F.lit(False)).cast("double"),
            "_stay": stay_days, "_used": F.when(known, stay_days / F.greatest(final_day - entry_day + 1, F.lit(1))).otherwise(F.lit(0.0)),
            "_unknown": (exit_s.isNotNull() & ~known).cast("double")}


def _add_exit_history_sequential(stays):
    """:func:`_add_exit_history` for stays built from the log by :func:`_stays`, in their window order: no event rows.

    There a stay's exit is the traveller's very next crossing after its entry, so every earlier
    stay's exit lies at or before a later entry. For an entry, the exits strictly before it are
    those of the stays that entered at an earlier second, less the last of them (``p``) when
    ``p``'s exit falls at the entry's very second (no other earlier exit can). Running sums over
    the stays in entry order, up to ``p`` and up to the stay before ``p``, are read at ``p`` with a
    range window: the sort the entry-history windows already did serves, where the event stream
    doubled every row and sorted the wide rows once more.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_t = Window.partitionBy(_TKEY, "traveller_id").orderBy("_entry_s", "stay_id")

    def running(last_row):
        w = by_t.rowsBetween(Window.unboundedPreceding, last_row)
        return F.struct(F.count("_stay").over(w).alias("n"), F.sum("_late").over(w).alias("late"),
                        F.sum("_late_days").over(w).alias("late_days"), F.sum("_ext").over(w).alias("ext"),
                        F.max("_xs").over(w).alias("last"), F.sum("_stay").over(w).alias("stay"),
                        F.max("_stay").over(w).alias("max_stay"), F.sum("_used").over(w).alias("used"),
                        F.sum("_unknown").over(w).alias("unknown"))

    exit_s = _seconds(F.col("exit_time"))
    base = list(stays.columns)
    df = stays.select(*base, exit_s.alias("_xs"), *[v.alias(k) for k, v in _exit_values(exit_s).items()])
    df = df.withColumn("_incl", running(Window.currentRow)).withColumn("_excl", running(-1))
    earlier_second = Window.partitionBy(_TKEY, "traveller_id").orderBy("_entry_s").rangeBetween(Window.unboundedPreceding, -1)
    p_exit = F.last("_xs").over(earlier_second)
    df = df.withColumn("_h", F.when(p_exit == F.col("_entry_s"), F.last("_excl").over(earlier_second))
                       .otherwise(F.last("_incl").over(earlier_second)))
    n = F.coalesce(F.col("_h.n"), F.lit(0)).cast("double")
    return (df.withColumn("prior_exits", n)
            .withColumn("prior_overstays", F.coalesce(F.col("_h.late"), F.lit(0.0)))
            .withColumn("prior_overstay_days", F.coalesce(F.col("_h.late_days"), F.lit(0.0)))
            .withColumn("prior_extensions", F.coalesce(F.col("_h.ext"), F.lit(0.0)))
            .withColumn("days_since_last_exit", (F.col("_entry_s") - F.col("_h.last")) / F.lit(float(_DAY)))
            .withColumn("mean_prior_stay_days", F.col("_h.stay") / n)
            .withColumn("max_prior_stay_days", F.col("_h.max_stay"))
            .withColumn("mean_prior_permit_used", F.when(F.col("_h.unknown") == 0, F.col("_h.used") / n))
            .drop("_xs", "_incl", "_excl", "_h", *_EXIT_VALUES))


def _add_audit_columns(df):
    """Region, age and age band, as :func:`riskmodel.core.features._add_audit_columns`."""
    from pyspark.sql import functions as F

    regions = dict(zip(NATIONALITIES["nationality"], NATIONALITIES["region"], strict=True))
    age = (F.year("entry_time") - F.col("birth_year")).cast("double")
    # a missing age falls through every test to the last band, as numpy's select does
    band = (F.when(age < 18, AGE_BANDS[0]).when(age <= 25, AGE_BANDS[1]).when(age <= 40, AGE_BANDS[2])
            .when(age <= 59, AGE_BANDS[3]).otherwise(AGE_BANDS[4]))
    return (df.withColumn("region", F.coalesce(_literal_map(regions)[F.col("nationality")], F.lit("Other")))
            .withColumn("age", age).withColumn("age_band", band))


def add_history_features_spark(stays):
    """Add entry-derived, history and audit columns to a Spark stays table.

    Parameters
    ----------
    stays : pyspark.sql.DataFrame
        A stays table (:data:`riskmodel.core.schema.STAYS`), e.g. from :func:`build_stays_spark`.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; ``stays``' columns, then those :func:`riskmodel.core.features.add_history_features`
        adds, in its order, with its values (missing numbers as nulls, ``age_band`` as text).

    Raises
    ------
    SchemaError
        If a column the features need is missing.
    """
    from pyspark.sql import functions as F

    from riskmodel.core.exceptions import SchemaError, SchemaProblem

    needed = ("stay_id", "traveller_id", "entry_time", "entry_port", "exit_time", "nationality", "sex", "birth_year",
              "visa_type", "permit_end", "final_permit_end", "planned_stay_days")
    missing = [c for c in needed if c not in stays.columns]
    if missing:
        raise SchemaError("stays", [SchemaProblem(c, "required column is missing", "build the table with build_stays_spark")
                                    for c in missing])
    return _add_history(stays.withColumn("_entry_s", _seconds(F.col("entry_time"))).withColumn(_TKEY, F.xxhash64("traveller_id")))


def _add_history(stays, *, sequential: bool = False):
    """:func:`add_history_features_spark` on stays that carry ``_entry_s`` (the entry's wall-clock seconds) and ``_tkey``.

    ``sequential``: the stays come from :func:`_stays` (see :func:`_add_exit_history_sequential`).
    """
    from riskmodel.core.features import AUDIT_COLUMNS, ENTRY_FEATURES, HISTORY_FEATURES

    base = [c for c in stays.columns if c not in ("_entry_s", _TKEY)]
    exit_history = _add_exit_history_sequential if sequential else _add_exit_history
    df = _add_audit_columns(exit_history(_add_entry_history(_add_entry_row(stays))))
    added = [c for c in (*ENTRY_FEATURES, *HISTORY_FEATURES, *AUDIT_COLUMNS) if c not in base]
    # the pandas path adds the entry-row columns first, then history, then audit
    entry_cols = ["permitted_days", "extension_room_days", "planned_over_permitted", "planned_over_max",
                  "planned_beyond_max_days", "entry_month", "port_type"]
    order = base + [c for c in entry_cols if c not in base] + [c for c in added if c not in entry_cols and c not in base]
    return df.select(*order)


def build_features_spark(crossings, *, as_of=None, validate: bool = True):
    """:func:`build_stays_spark` then :func:`add_history_features_spark`: the Spark form of ``build_features``.

    Parameters
    ----------
    crossings : pyspark.sql.DataFrame
        A crossings log (:data:`riskmodel.core.schema.CROSSINGS`).
    as_of : str or Timestamp, optional
        As for :func:`build_stays_spark`.
    validate : bool, default=True
        As for :func:`build_stays_spark`.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; the columns of :func:`riskmodel.core.features.build_features`.

    Raises
    ------
    SchemaError
        As for :func:`build_stays_spark`.
    """
    if validate:
        _check_crossings(crossings, as_of)
    return _add_history(_stays(crossings, as_of=as_of), sequential=True)


def _bucket_features(bucket, *, as_of):
    """:func:`build_features_spark` of a bucket of travellers of a log whose end was judged on the whole log.

    ``as_of`` is not checked against the bucket's own last crossing: its travellers' crossings may stop days before
    the log's last one (a nightly bucket), and that is no reason to refuse the day the whole log reaches.
    """
    return _add_history(_stays(bucket, as_of=as_of, within_log=False), sequential=True)


def label_mature_spark(grace_days: int = 30, *, cutoff):
    """A Spark column: the label is mature and present at ``cutoff`` (:func:`riskmodel.core.features.label_mature`).

    Parameters
    ----------
    grace_days : int, default=30
    cutoff : str or Timestamp
        The time the labels are read.

    Returns
    -------
    pyspark.sql.Column
        Boolean, for ``stays.where(label_mature_spark(cutoff=...))``.
    """
    import pandas as pd
    from pyspark.sql import functions as F

    entry_day, permit_day = _day(_seconds(F.col("entry_time"))), _day(_seconds(F.col("permit_end")))
    permitted = permit_day - entry_day + 1
    fixed = {k: int(v) for k, v in EXTENSION_ROOM_DAYS.items() if v is not None}
    room = F.when(F.col("visa_type").isin([k for k, v in EXTENSION_ROOM_DAYS.items() if v is None]), permitted).otherwise(
        F.coalesce(_literal_map(fixed)[F.col("visa_type")], F.lit(0)))
    cutoff_day = int(pd.Timestamp(cutoff).normalize().value // 1_000_000_000) // _DAY
    return F.coalesce((permit_day + room + int(grace_days) < F.lit(cutoff_day)) & F.col("overstayed").isNotNull(), F.lit(False))
