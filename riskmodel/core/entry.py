"""Features of one arriving traveller, at the border: the entry record plus that traveller's crossings.

A border desk scores a traveller before the whole crossings log is rebuilt:
it has the entry record (what the document scan and the visa give) and the
traveller's earlier crossings, however the service stores them.
:func:`features_at_entry` turns those into exactly the row
:func:`riskmodel.core.features.build_features` gives for that stay over the
whole log at the same ``as_of``: every column, same values, same dtypes
(``as_frame=True``). ``tests/test_entry.py`` proves it on thousands of random
stays at random as-of dates.

Only the traveller's own crossings matter to a stay's row (history features
are per traveller), so a few dozen rows in plain Python give it in well under
a millisecond, where ``build_features`` over the log takes seconds.

Crossings of the same traveller at the same second are ordered as given (as
``build_stays`` orders them as they are in the log); entries at the same
second are ordered by crossing id (as ``build_stays`` orders stays).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import numpy as np
import pandas as pd

from riskmodel.core.csv_files import iso_time
from riskmodel.core.exceptions import SchemaError, SchemaProblem
from riskmodel.core.features import AGE_BANDS, EXTENSION_ROOM_DAYS, HISTORY_FEATURES
from riskmodel.core.reference import NATIONALITIES, PORTS
from riskmodel.core.schema import CROSSINGS, STAYS, check_crossing_record, check_crossing_rows, exit_permit_before_entry

__all__ = ["features_at_entry", "ENTRY_RECORD_FIELDS", "FEATURE_ROW_COLUMNS"]

#: Fields of the entry record: a crossings-log entry row (see :data:`riskmodel.core.schema.CROSSINGS`).
ENTRY_RECORD_FIELDS = (
    "crossing_id", "traveller_id", "timestamp", "port", "nationality", "sex", "birth_year", "document_type",
    "visa_type", "permit_end", "purpose", "sponsor", "has_return_ticket", "accommodation", "group_size",
    "planned_stay_days",
)
#: Fields each earlier crossing needs (history).
_HISTORY_FIELDS = ("crossing_id", "direction", "timestamp", "port", "visa_type", "permit_end")
_ENTRY_ROW = ("permitted_days", "extension_room_days", "planned_over_permitted", "planned_over_max",
              "planned_beyond_max_days", "entry_month", "port_type")
#: The columns of :func:`features_at_entry`'s row, in the order ``build_features`` gives them.
FEATURE_ROW_COLUMNS = (*(c.name for c in STAYS), *_ENTRY_ROW, *HISTORY_FEATURES, "region", "age", "age_band")

_DAY = 86_400
_NAT_S = int(np.iinfo(np.int64).min)  # what a missing time becomes in build_features' seconds
_PORT_TYPE = dict(zip(PORTS["port"], PORTS["port_type"], strict=True))
_REGION = dict(zip(NATIONALITIES["nationality"], NATIONALITIES["region"], strict=True))
# stays columns copied from the log's entry row (stays column -> crossings column): their dtype is the log's
_FROM_LOG = {"stay_id": "crossing_id", "traveller_id": "traveller_id", "entry_time": "timestamp", "entry_port": "port",
             "exit_time": "timestamp", "exit_port": "port", "nationality": "nationality", "sex": "sex",
             "birth_year": "birth_year", "document_type": "document_type", "visa_type": "visa_type",
             "permit_end": "permit_end", "final_permit_end": "permit_end", "purpose": "purpose", "sponsor": "sponsor",
             "accommodation": "accommodation"}
_FIXED_DTYPES = {"has_return_ticket": "boolean", "group_size": "Int32", "planned_stay_days": "Int32",
                 "overstayed": "boolean", "overstay_days": "Int32", "entry_month": "int32"}


def features_at_entry(
    entry: Mapping | pd.Series | pd.DataFrame,
    history: pd.DataFrame | Sequence[Mapping] | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
    as_frame: bool = False,
) -> dict | pd.DataFrame:
    """The feature row of one stay from its entry record and the traveller's crossings.

    Parameters
    ----------
    entry : dict, Series or one-row DataFrame
        The entry record: the fields of :data:`ENTRY_RECORD_FIELDS` (a crossings-log entry row;
        ``direction``, when given, must be ``"entry"``).
    history : DataFrame or list of dict, optional
        The same traveller's other crossings, with at least ``crossing_id, direction,
        timestamp, port, visa_type, permit_end`` (exit rows: the permit end in force at exit).
        Crossings before the entry give the history features; the first crossing after it, when
        it is an exit at or before ``as_of``, closes the stay (``exit_time``, label). Crossings
        after ``as_of`` and a row with the entry's own ``crossing_id`` are ignored.
        None: a first visit.
    as_of : str or Timestamp, optional
        The time the row is built at, as in ``build_features(crossings, as_of=...)``. Default: the
        latest of the entry and the history (at the border: the entry itself).
    as_frame : bool, default=False
        Return a one-row DataFrame with ``build_features``' dtypes (the log's dtypes come from
        ``history`` when it is a DataFrame) instead of a dict (the fast form for :func:`score`).

    Returns
    -------
    dict or DataFrame
        The columns :data:`FEATURE_ROW_COLUMNS`, i.e. exactly those of
        :func:`riskmodel.core.features.build_features`, with the values it gives for this stay.

    Raises
    ------
    SchemaError
        If the entry record breaks the crossings log's contract (every problem
        :func:`~riskmodel.core.schema.validate_crossings` would find in it as a log's entry row: a
        missing trip field, an unknown level, an id that is blank, padded or no text, a party of 0,
        a permit ending before the entry day, ...) or has no ``permit_end``, each naming ``the entry record``;
        if the history breaks that contract on the columns it gives (a crossing sent twice, a level such
        as ``'ENTRY'``, an entry without its trip fields, two entries without an exit between, ...),
        each problem naming the history's crossings (by id, or by row where the id is the problem);
        if the entry falls inside a stay of the history (the crossing just before or after it is an entry too: two
        entries without an exit between, e.g. an entry time sent in UTC, hours before the traveller's last exit), or
        a crossing of the history has the entry's crossing id but is not that entry (another direction or time);
        if ``history`` is neither a DataFrame nor a list of records (one crossing sent bare, as a Series
        or a dict, is refused: send ``[crossing]``), or a record of it is no dict;
        if a field of the entry record or a column of the history is missing, the history holds
        another traveller's crossings, the entry is not an entry, its time is missing, a time
        (``timestamp``, ``permit_end``) carries a time zone or is no time (a number included; text is
        read as ISO 8601 only, never day first, each refusal naming the history's row),
        ``planned_stay_days`` or ``birth_year`` is no number, or ``as_of`` is before the entry (the
        stay does not exist then).

    Examples
    --------
    >>> from riskmodel.core.datasets import make_crossings
    >>> log = make_crossings(300, "2019-01-01", "2019-06-30", seed=2).crossings
    >>> entry = log.loc[log["direction"] == "entry"].iloc[-1]
    >>> mine = log.loc[log["traveller_id"] == entry["traveller_id"]]
    >>> row = features_at_entry(entry.to_dict(), mine)
    >>> row["stay_id"] == entry["crossing_id"]
    True
    """
    rec = _entry_record(entry)
    t_ns = _ns(rec["timestamp"], "timestamp", "entry")
    hist = _history_rows(history, rec["crossing_id"], rec["traveller_id"], t_ns)
    _check_open_stays(hist, t_ns)
    as_of_ns = _as_of_ns(as_of, t_ns, hist)
    hist = [h for h in hist if h[0] <= as_of_ns]
    row = _stay_columns(rec, t_ns, hist, as_of_ns)
    t_s = t_ns // 1_000_000_000
    _entry_row(row, t_s, _seconds(rec["permit_end"], "permit_end", "entry"))
    _history(row, rec, t_s, hist)
    _audit(row)
    return _frame(row, history) if as_frame else row


# ----------------------------------------------------------------------------- inputs


def _entry_record(entry) -> dict:
    """The entry as a dict, refused with every missing field named."""
    if isinstance(entry, pd.DataFrame):
        if len(entry) != 1:
            raise SchemaError("entry", [SchemaProblem("<table>", f"expected one entry record; got {len(entry)} rows",
                                                      "pass one record (a dict or a one-row DataFrame)")])
        entry = entry.iloc[0]
    if isinstance(entry, pd.Series):
        entry = entry.to_dict()
    if not isinstance(entry, Mapping):
        raise SchemaError("entry", [SchemaProblem("<table>", f"expected a dict, Series or one-row DataFrame; got {type(entry).__name__}",
                                                  "pass the entry record as a dict")])
    missing = [f for f in ENTRY_RECORD_FIELDS if f not in entry]
    problems = [_absent(f, "field of the entry record is missing", "the record", entry, ENTRY_RECORD_FIELDS,
                        "send the crossings-log entry row (riskmodel.core.schema.CROSSINGS)") for f in missing]
    if "direction" in entry and entry["direction"] != "entry":
        problems.append(SchemaProblem("direction", f"expected 'entry'; got {entry['direction']!r}", "score entry records only"))
    if not missing and _missing(entry["timestamp"]):
        problems.append(SchemaProblem("timestamp", "the entry time is missing", "send the local time of the entry at the port"))
    if problems:
        raise SchemaError("entry", problems)
    rec = dict(entry)
    _check_contract(rec)
    return rec


_NUMBERS = ("birth_year", "group_size", "planned_stay_days")


def _check_contract(rec: dict) -> None:
    """Refuse an entry record that the crossings log's contract refuses, by the log's own checks.

    A missing trip field, an unknown level, a blank or padded id or one that is no text, a party of 0:
    any such row of a log is refused by ``validate_crossings``, so the record is too, never scored as valid.
    So is a missing permit end, which a log's row may lack but a stay may not.
    """
    row = {f: rec.get(f) for f in (*ENTRY_RECORD_FIELDS, "document_id")}
    row["direction"] = "entry"
    for f in ("timestamp", "permit_end"):
        row[f] = None if _missing(rec[f]) else _time(rec[f], f, "entry")
    for f in _NUMBERS:
        row[f] = _number(rec[f], f)
    problems = check_crossing_record(row, "the entry record")
    if row["permit_end"] is None:
        # the log may lack it (nullable), a stay may not (STAYS): its permitted days and ratios come from it
        problems.append(SchemaProblem("permit_end", "the permit end granted at entry is missing: the permitted stay is unknown",
                                      "send the permit end granted at entry: the last permitted day of the visa or permit",
                                      ("the entry record",), 1))
    if problems:
        raise SchemaError("entry", problems)


def _check_traveller(ids: list, traveller) -> None:
    """Refuse a history holding crossings of another traveller (when it names travellers); ids are never shown."""
    if _missing(traveller) or set(ids) == {traveller}:
        return
    other = sum(1 for t in ids if not _missing(t) and t != traveller)
    if other:
        raise SchemaError("history", [SchemaProblem(
            "traveller_id", f"{other} crossings of the history belong to another traveller than the entry's",
            "send only this traveller's crossings (the same traveller_id as the entry record)")])


def _history_rows(history, entry_id, traveller=None, entry_ns: int | None = None) -> list[tuple]:
    """(time ns, position, crossing_id, is_entry, port, visa_type, permit_end seconds) per crossing, in time order.

    The history is refused, naming its crossings, where the crossings log's contract refuses it (a crossing sent
    twice, a level such as 'ENTRY', a trip field missing on an entry, ...): features are built from valid rows only.
    A crossing with the entry's own id is left out when it is that entry (an entry at ``entry_ns``) and refused
    otherwise: an id names one crossing, and dropping another one under it would lose it from the features.
    """
    if history is None:
        return []
    if isinstance(history, pd.DataFrame):
        absent = [c for c in _HISTORY_FIELDS if c not in history.columns]
        if not absent:
            cols = {c: _values(history[c]) for c in _CONTRACT if c in history.columns}
            cols["timestamp"] = _frame_times(history["timestamp"], "ns").tolist()
            cols["permit_end"] = _frame_times(history["permit_end"], "s").tolist()
    else:
        history = _records(history)
        if not history:  # a first visit
            return []
        given = set().union(*history)
        absent = [c for c in _HISTORY_FIELDS if c not in given]  # a field only some records lack: missing there
        if not absent:
            cols = _record_columns(history, given)
    if absent:
        given = list(history.columns) if isinstance(history, pd.DataFrame) else list(given)
        raise SchemaError("history", [_absent(c, "required column of the traveller's crossings is missing", "the history", given,
                                              _CONTRACT_NAMES, "send the crossings-log rows (riskmodel.core.schema.CROSSINGS)")
                                      for c in absent])
    if "traveller_id" in cols:
        _check_traveller(cols["traveller_id"], traveller)
    else:  # the history is this traveller's by definition: judged as their rows of the log
        cols["traveller_id"] = [traveller] * len(cols["crossing_id"])
    problems = check_crossing_rows(cols)
    if problems:
        raise SchemaError("history", problems)
    rows = zip(cols["timestamp"], cols["crossing_id"], cols["direction"], cols["port"], cols["visa_type"], cols["permit_end"], strict=True)
    out = [(t, i, cid, d == "entry", port, visa, p) for i, (t, cid, d, port, visa, p) in enumerate(rows)]
    other = [r for r in out if r[2] == entry_id and not (r[3] and (entry_ns is None or r[0] == entry_ns))]
    if other:
        raise SchemaError("history", [SchemaProblem(
            "crossing_id", "a crossing of the history has the entry record's crossing id but is another crossing (another "
            "direction or time): left out as the entry itself, it would be lost from the features",
            "give the entry its own crossing id (an id names one crossing), or send the entry in the history as it is in the "
            "entry record", tuple(str(r[2]) for r in other[:5]), len(other))])
    out = [r for r in out if r[2] != entry_id]
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def _check_open_stays(hist: list[tuple], t_ns: int) -> None:
    """Refuse an entry that falls inside a stay of the history: the crossing just before it (or just after it) is an
    entry too, so the log they make holds two entries without an exit between, which the crossings contract refuses.

    Built anyway, the history's next exit would close this stay and the stay before it would lose its exit. The usual
    cause at a desk: an entry time sent in UTC (or another zone) where the history holds local port time, for a
    traveller back from a day trip hours after leaving. Crossings at the entry's own second are not judged (their
    order is the log's, see the module docstring).
    """
    before = [h for h in hist if h[0] < t_ns]
    after = [h for h in hist if h[0] > t_ns]
    open_ = [h[2] for h in (before[-1:] + after[:1]) if h[3]]
    if open_:
        raise SchemaError("history", [SchemaProblem(
            "timestamp", "the entry record's time falls inside a stay of the history: this entry and the history's entry "
            "named here have no exit between them (the crossings log's contract refuses two entries without an exit between)",
            "send the entry's time as local port time without a zone (a time in UTC falls hours early, before the "
            "traveller's last exit), or add the exit that closed the stay named here to the history",
            tuple(str(i) for i in open_), len(open_))])


_CONTRACT_NAMES = tuple(c.name for c in CROSSINGS)


def _key_of(name) -> str:
    """A field name without case and separators: `Visa_Type`, `visaType` and `visa_type` agree."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _absent(field: str, problem: str, where: str, given, known, fix: str) -> SchemaProblem:
    """The problem of a missing ``field``, naming the given name it was probably meant to be (as score() names a misspelt
    feature column): one that differs only in case or separators, else a close spelling, among names ``known`` lacks."""
    others = [str(g) for g in given if g not in known]
    near = next((g for g in others if _key_of(g) == _key_of(field)), None)
    if near is None:
        close = difflib.get_close_matches(field, others, n=1, cutoff=0.75)
        near = close[0] if close else None
    if near is None:
        return SchemaProblem(field, problem, fix)
    return SchemaProblem(field, f"{problem}; {where} has `{near}`", f"rename `{near}` to `{field}`")


def _records(history) -> list:
    """The history as a list of records; one crossing sent bare (a Series, a dict) or text, or a list holding
    anything but records, is refused: iterated, a Series gave its values and a dict its field names."""
    fix = ("send a DataFrame of the traveller's crossings or a list of records (dicts, e.g. DataFrame.to_dict('records')); "
           "one earlier crossing as [crossing], a dict of columns as pd.DataFrame(history)")
    if isinstance(history, pd.Series | Mapping | str | bytes) or not isinstance(history, Iterable):
        raise SchemaError("history", [SchemaProblem(
            "<table>", f"`history` must be a DataFrame or a list of records (dicts); got {type(history).__name__}", fix)])
    history = list(history)
    odd = [i for i, r in enumerate(history) if not isinstance(r, Mapping)]
    if odd:
        kinds = ", ".join(dict.fromkeys(type(history[i]).__name__ for i in odd))
        raise SchemaError("history", [SchemaProblem("<table>", f"a crossing of the history is no record (dict): {kinds}", fix,
                                                    tuple(f"row {i}" for i in odd[:5]), len(odd))])
    return history


#: The crossings contract's columns, as a history may give them (times are read apart)
_CONTRACT = tuple(c.name for c in CROSSINGS if c.kind != "datetime")


def _values(s: pd.Series) -> list:
    """A history column's values as a list (a category column through its codes: ``tolist`` takes 20 times as long)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [*s.array.categories.tolist(), None]  # code -1, a missing value: None
        return [levels[k] for k in s.array.codes.tolist()]
    return s.tolist()


def _record_columns(history: list, given: set) -> dict[str, list]:
    """The history's records column by column (a field some records lack: None there), times read as _ns/_seconds read them."""
    names = [c for c in _CONTRACT if c in given]
    try:  # every record with every field (the common case): one pass over the records
        cols = dict(zip(names, map(list, zip(*map(itemgetter(*names), history), strict=True)), strict=True))
    except (KeyError, TypeError):
        cols = {c: [r.get(c) for r in history] for c in names}
    for name, read, per in (("timestamp", _ns, 1), ("permit_end", _seconds, 1_000_000_000)):
        values = [r.get(name) for r in history]
        try:  # a zone-less Timestamp (as a log holds it) is read in place
            cols[name] = [v.value // per if type(v) is pd.Timestamp and v.tzinfo is None else read(v, name, "history", i)
                          for i, v in enumerate(values)]
        except OverflowError:  # a Timestamp beyond nanoseconds (2262 on): each read by _ns or _seconds, which say so
            cols[name] = [read(v, name, "history", i) for i, v in enumerate(values)]
    return cols


def _as_of_ns(as_of, t_ns: int, hist: list[tuple]) -> int:
    if as_of is None:
        return max([t_ns, *(h[0] for h in hist)])
    try:
        ts = iso_time(as_of)
    except (TypeError, ValueError, OverflowError):
        ts = None
    if ts is None or pd.isna(ts) or ts.tzinfo is not None:
        raise SchemaError("entry", [SchemaProblem("as_of", f"`as_of` must be a local date or time without a zone; got {as_of!r} (text is read as ISO 8601 only)",
                                                  "pass e.g. '2023-06-30', or None for the latest crossing")])
    if ts.value < t_ns:
        raise SchemaError("entry", [SchemaProblem("as_of", f"`as_of` {ts} is before the entry ({pd.Timestamp(t_ns)}): the stay does not exist then",
                                                  "pass an as_of at or after the entry")])
    return ts.value


_NAT_NS = int(np.iinfo(np.int64).min)


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v) or (isinstance(v, np.datetime64) and np.isnat(v))


_LOCAL = "convert to the port's local time and drop the zone: .tz_convert(<port zone>).tz_localize(None)"


#: The shape of nearly every ISO 8601 time sent: read by pd.Timestamp at once (it is unambiguous), others by the ISO reader
_YEAR_ALONE = re.compile(r"\s*\d{4}\s*")
_ISO_PLAIN = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?")
_ISO_FIX = ("write the local time at the port as YYYY-MM-DD HH:MM:SS, or YYYY-MM-DD for a day (ISO 8601; day-first dates "
            "such as 31/01/2024 are not guessed)")


def _time(v, field: str, where: str, row: int | None = None) -> pd.Timestamp:
    """A given time as a Timestamp, refused when it is no time, text other than ISO 8601, or carries a zone.

    The contract's times are local port time. Text is read as ISO 8601 only, as every date reader of the library
    reads it (:func:`riskmodel.core.csv_files.iso_dates`): ``pd.Timestamp('10/12/2023')`` is 12 October, while a
    desk writing day first meant 10 December. ``row``: the history's row (position), None for the entry record.
    """
    if isinstance(v, pd.Timestamp) and v.tzinfo is None:  # the common case, as a log holds it: nothing to read
        return v
    rows = ("the entry record",) if row is None else (f"row {row}",)
    if isinstance(v, int | float | np.number) and not isinstance(v, bool):
        # pandas reads a number as nanoseconds since 1970: seconds since then would give a 1970 entry
        raise SchemaError(where, [SchemaProblem(field, f"a number, not a date and time; got {v!r}",
                                                "send the local time at the port as a date and time (e.g. '2023-06-30 14:05'), "
                                                "not seconds or days since an epoch", rows, 1)])
    try:
        if not isinstance(v, str) or _ISO_PLAIN.fullmatch(v):
            ts = pd.Timestamp(v)
        elif v.lstrip()[:1].isdigit() and not _YEAR_ALONE.fullmatch(v):  # the ISO reader takes words too ('now', 'today'):
            # ISO 8601 starts with a year; and it takes a year alone ('2030') for its 1 January
            ts = pd.to_datetime(v, format="ISO8601")
        else:
            raise ValueError(v)
    except (ValueError, TypeError):
        raise SchemaError(where, [SchemaProblem(field, f"not a date and time in ISO 8601; got {v!r}", _ISO_FIX, rows, 1)]) from None
    if ts.tzinfo is not None:
        raise SchemaError(where, [SchemaProblem(field, f"carries a time zone ({ts.tzinfo}); the contract holds local port time "
                                                       "without one", _LOCAL, rows, 1)])
    return ts


def _frame_times(s: pd.Series, unit: str) -> np.ndarray:
    """A history column of times as integers of ``unit`` since 1970 (NaT: the int64 minimum), zoned or no-time values refused."""
    name = str(s.name)
    if getattr(s.dtype, "tz", None) is not None:
        raise SchemaError("history", [SchemaProblem(name, f"carries a time zone ({s.dtype}); the contract holds local port "
                                                          "time without one", _LOCAL)])
    if not pd.api.types.is_datetime64_dtype(s):  # text or numbers: each value checked as the records' are
        read = _ns if unit == "ns" else _seconds
        return np.array([read(v, name, "history", i) for i, v in enumerate(s)], dtype=np.int64)
    seconds = s.to_numpy(dtype="datetime64[s]").astype(np.int64)  # any pandas time fits seconds
    if unit == "s":
        return seconds
    # numpy wraps a time beyond nanoseconds (2500 became 1915): refused, as the contract refuses such placeholders
    beyond = np.flatnonzero((seconds != _NAT_S) & ((seconds < _NS_FROM_S) | (seconds > _NS_TO_S)))
    if len(beyond):
        raise SchemaError("history", [_placeholder(name, (f"row {beyond[0]}",), len(beyond))])
    return s.to_numpy(dtype="datetime64[ns]").astype(np.int64)


#: The seconds since 1970 a time in nanoseconds can hold (1677-09-22 to 2262-04-11)
_NS_FROM_S, _NS_TO_S = pd.Timestamp.min.value // 1_000_000_000 + 1, pd.Timestamp.max.value // 1_000_000_000 - 1


def _placeholder(field: str, rows: tuple, n: int) -> SchemaProblem:
    return SchemaProblem(field, "times before 1900 or from 2200 on", f"a placeholder for 'no date': give the crossing's local time, "
                                                                     f"or leave `{field}` out with its record", rows, n)


def _number(v, field: str) -> float:
    """A number of the entry record as float (NaN when missing), refused with the field named when it is no number."""
    if _missing(v):
        return np.nan
    try:
        return float(v)
    except (ValueError, TypeError):
        raise SchemaError("entry", [SchemaProblem(field, f"not a number; got {v!r}",
                                                  f"send `{field}` as a whole number, or null if unknown")]) from None


def _ns(v, field: str, where: str, row: int | None = None) -> int:
    """Nanoseconds since 1970 of a time (NaT sentinel when missing); one beyond nanoseconds (2262 on) refused as a placeholder."""
    if _missing(v):
        return _NAT_NS
    ts = _time(v, field, where, row)
    try:
        return ts.value
    except OverflowError:
        raise SchemaError(where, [_placeholder(field, ("the entry record",) if row is None else (f"row {row}",), 1)]) from None


def _seconds(v, field: str, where: str, row: int | None = None) -> int:
    """Seconds since 1970 as build_features computes them (missing: the NaT sentinel), for any time pandas holds."""
    if _missing(v):
        return _NAT_S
    ts = _time(v, field, where, row)
    try:
        return ts.value // 1_000_000_000
    except OverflowError:  # beyond nanoseconds (2262 on): the contract's checks refuse it by its seconds
        return int(ts.asm8.astype("datetime64[s]").astype(np.int64))


# ----------------------------------------------------------------------------- the row


def _stay_columns(rec: dict, t_ns: int, hist: list[tuple], as_of_ns: int) -> dict:
    """The stays columns (build_stays): the entry's fields, its exit (the next crossing, when an exit) and the label."""
    nxt = next((h for h in hist if h[0] > t_ns), None)  # same-second crossings: see the module docstring
    exit_ = nxt if nxt is not None and not nxt[3] else None
    permit = rec["permit_end"]
    permit_ts = pd.NaT if _missing(permit) else _time(permit, "permit_end", "entry")
    final = permit_ts
    if exit_ is not None and exit_[6] != _NAT_S and permit_ts is not pd.NaT:
        # the permit in force at exit, extended or cut short (revoked, shortened), as build_stays takes it
        final = pd.Timestamp(exit_[6] * 1_000_000_000)
        if exit_[6] // _DAY < t_ns // 1_000_000_000 // _DAY:
            raise SchemaError("history", [exit_permit_before_entry((str(exit_[2]),), 1)])
    row = {"stay_id": rec["crossing_id"], "traveller_id": rec["traveller_id"], "entry_time": pd.Timestamp(t_ns),
           "entry_port": rec["port"], "exit_time": pd.Timestamp(exit_[0]) if exit_ else pd.NaT,
           "exit_port": exit_[4] if exit_ else None}
    for c in ("nationality", "sex", "birth_year", "document_type", "visa_type"):
        row[c] = rec[c]
    row["permit_end"] = permit_ts
    row["final_permit_end"] = final
    for c in ("purpose", "sponsor", "has_return_ticket", "accommodation", "group_size", "planned_stay_days"):
        row[c] = rec[c]
    row["overstayed"], row["overstay_days"] = _label(row["exit_time"], final, pd.Timestamp(as_of_ns))
    return row


def _label(exit_time, final, as_of) -> tuple:
    """(overstayed, overstay_days) as build_stays gives them (pd.NA while unknown)."""
    if final is pd.NaT:
        return pd.NA, pd.NA
    if exit_time is not pd.NaT:
        end = exit_time.normalize()
        late = end > final
    else:
        end = as_of.normalize()
        late = end > final
        if not late:
            return pd.NA, pd.NA
    return bool(late), ((end - final.normalize()).days if late else 0)  # calendar days, as build_stays counts them


def _entry_row(row: dict, t_s: int, permit_s: int) -> None:
    """What the entry record alone gives (features._add_entry_row, one row)."""
    entry_day, permit_day = t_s // _DAY, permit_s // _DAY
    permitted = float(permit_day - entry_day + 1)
    visa = row["visa_type"]
    room = EXTENSION_ROOM_DAYS.get(visa, 0) if not _missing(visa) else 0
    room = permitted if room is None else float(room)
    planned = _number(row["planned_stay_days"], "planned_stay_days")
    row["permitted_days"] = permitted
    row["extension_room_days"] = room
    row["planned_over_permitted"] = planned / max(permitted, 1.0)
    row["planned_over_max"] = planned / max(permitted + room, 1.0)
    row["planned_beyond_max_days"] = planned - (permitted + room)
    row["entry_month"] = row["entry_time"].month
    row["port_type"] = str(_PORT_TYPE.get(row["entry_port"], "unknown"))


def _history(row: dict, rec: dict, t_s: int, hist: list[tuple]) -> None:
    """The history features (features._history_from_entries and _history_from_exits, one traveller)."""
    eid = rec["crossing_id"]
    t_ns = row["entry_time"].value
    # earlier entries, in the order build_stays sorts stays: (entry time, stay id)
    prior = [h for h in hist if h[3] and (h[0] < t_ns or (h[0] == t_ns and h[2] < eid))]
    prior.sort(key=lambda h: (h[0], h[2]))
    k = len(prior)
    floor_s = t_s - 365 * _DAY
    row["prior_visits"] = float(k)
    row["prior_visits_365d"] = float(sum(1 for h in prior if h[0] // 1_000_000_000 >= floor_s))
    # distinct ports; a missing port is one level, as pandas' factorize codes it
    row["prior_ports"] = float(len({_key(h[4]) for h in prior}))
    row["port_switch"] = np.nan if not k else float(_key(rec["port"]) != _key(prior[-1][4]))
    row["visa_switch"] = np.nan if not k else float(_key(rec["visa_type"]) != _key(prior[-1][5]))
    row.update(_from_exits(_earlier_stays(hist, t_s), t_s))


def _key(v):
    return None if _missing(v) else v


def _earlier_stays(hist: list[tuple], t_s: int) -> list[tuple]:
    """(exit s, entry s, entry permit s, final permit s) of the traveller's stays that ended strictly before ``t_s``."""
    out = []
    for i, h in enumerate(hist):
        if not h[3] or i + 1 >= len(hist) or hist[i + 1][3]:
            continue
        ex = hist[i + 1]
        exit_s = ex[0] // 1_000_000_000
        if exit_s >= t_s:
            continue
        p = h[6]
        # the permit in force at exit (build_stays): the exit record's, else the one granted; a missing entry permit stays missing
        final = _NAT_S if p == _NAT_S else (ex[6] if ex[6] != _NAT_S else p)
        out.append((exit_s, h[0] // 1_000_000_000, p, final, h[0], h[2]))
    # build_features sorts exits by time, ties in stays order (entry time, stay id)
    out.sort(key=lambda s: (s[0], s[4], s[5]))
    return out


def _from_exits(stays: list[tuple], t_s: int) -> dict:
    """Features of earlier stays whose exit was before the entry; sums left to right, as build_features adds them."""
    n = len(stays)
    if not n:
        return {"prior_exits": 0.0, "prior_overstays": 0.0, "prior_overstay_days": 0.0, "prior_extensions": 0.0,
                "days_since_last_exit": np.nan, "mean_prior_stay_days": np.nan, "max_prior_stay_days": np.nan,
                "mean_prior_permit_used": np.nan}
    late = late_days = extended = stay_sum = used_sum = 0.0
    longest = -np.inf
    unknown = False
    for exit_s, entry_s, permit_s, final_s, _, _ in stays:
        stay_days = (exit_s - entry_s) / _DAY
        stay_sum += stay_days
        longest = max(longest, stay_days)
        if final_s == _NAT_S:
            # no permit end on file: the outcome is unknown, neither an overstay nor a share of a permit used
            unknown = True
            continue
        exit_day, final_day = exit_s // _DAY, final_s // _DAY
        days_late = float(max(exit_day - final_day, 0))
        late_days += days_late
        late += float(days_late > 0)
        extended += float(final_day > permit_s // _DAY)
        used_sum += stay_days / max(final_day - entry_s // _DAY + 1, 1)
    count = float(n)
    return {"prior_exits": count, "prior_overstays": late, "prior_overstay_days": late_days, "prior_extensions": extended,
            "days_since_last_exit": (t_s - stays[-1][0]) / _DAY, "mean_prior_stay_days": stay_sum / count,
            "max_prior_stay_days": longest, "mean_prior_permit_used": np.nan if unknown else used_sum / count}


def _audit(row: dict) -> None:
    """Region, age and age band (features._add_audit_columns, one row)."""
    row["region"] = str(_REGION.get(row["nationality"], "Other"))
    birth = row["birth_year"]
    age = row["entry_time"].year - _number(birth, "birth_year")
    row["age"] = float(age)
    bands = ((age < 18, 0), (age <= 25, 1), (age <= 40, 2), (age <= 59, 3))
    row["age_band"] = next((AGE_BANDS[i] for cond, i in bands if cond), AGE_BANDS[4])


def _frame(row: dict, history) -> pd.DataFrame:
    """The row as a one-row DataFrame with build_features' dtypes (the log's from ``history`` when it is a frame)."""
    out = {}
    for c in FEATURE_ROW_COLUMNS:
        v = row[c]
        dtype = _FIXED_DTYPES.get(c)
        if dtype is None and isinstance(history, pd.DataFrame) and c in _FROM_LOG and _FROM_LOG[c] in history.columns:
            dtype = history[_FROM_LOG[c]].dtype
        if c == "age_band":
            out[c] = pd.Categorical([v], categories=list(AGE_BANDS))
        elif c in ("port_type", "region"):
            out[c] = pd.Series([v]).astype(str)
        elif c in ("entry_time", "exit_time", "permit_end", "final_permit_end") and dtype is None:
            out[c] = pd.Series([v], dtype="datetime64[ns]")
        elif dtype is not None:
            out[c] = pd.Series([None if _missing(v) else v], dtype=object).astype(dtype)
        else:
            out[c] = pd.Series([v])
    return pd.DataFrame(out)
