"""features_at_entry: one traveller's row equals build_features' row over the whole log, at any as-of."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel import SchemaError, score
from riskmodel.core.datasets import make_crossings
from riskmodel.core.entry import FEATURE_ROW_COLUMNS, features_at_entry
from riskmodel.core.features import build_features


@pytest.fixture(scope="module")
def log():
    return make_crossings(2_500, "2017-01-01", "2019-12-31", seed=23).crossings


def _same(a, b) -> bool:
    """Equal values, missing equal to missing (NaN, NaT, NA, None)."""
    if pd.isna(a) is True or pd.isna(b) is True:
        return pd.isna(a) is True and pd.isna(b) is True
    return a == b and type(a == b) is not np.ndarray


def test_columns_are_build_features_columns(log):
    assert tuple(build_features(log.head(200)).columns) == FEATURE_ROW_COLUMNS


def test_equal_to_build_features_on_random_stays_at_random_as_of(log):
    rng = np.random.default_rng(7)
    span = (log["timestamp"].max() - log["timestamp"].min()).total_seconds()
    as_ofs = [log["timestamp"].min() + pd.Timedelta(seconds=int(s)) for s in rng.uniform(0.3, 1.0, 4) * span]
    position = pd.Series(np.arange(len(log)), index=log["crossing_id"].to_numpy())
    by_traveller = log.groupby("traveller_id", observed=True, sort=False).indices
    checked = frames = 0
    for as_of in as_ofs:
        feats = build_features(log, as_of=as_of)
        pick = np.sort(rng.choice(len(feats), 600, replace=False))
        got_frames, want_rows = [], []
        for i in pick:
            entry = log.iloc[position[feats["stay_id"].iat[i]]].to_dict()
            mine = log.iloc[by_traveller[entry["traveller_id"]]]
            if i % 2:  # the traveller's whole log as a frame (later crossings ignored), dtypes compared
                got_frames.append(features_at_entry(entry, mine, as_of=as_of, as_frame=True))
                want_rows.append(i)
                frames += 1
            else:  # as a service stores them: plain records up to as_of, in no particular order
                records = mine.loc[mine["timestamp"] <= as_of].sample(frac=1.0, random_state=int(i)).to_dict("records")
                row = features_at_entry(entry, records, as_of=as_of)
                want = feats.iloc[i]
                bad = [c for c in FEATURE_ROW_COLUMNS if not _same(row[c], want[c])]
                assert not bad, (feats["stay_id"].iat[i], {c: (row[c], want[c]) for c in bad})
            checked += 1
        pd.testing.assert_frame_equal(
            pd.concat(got_frames, ignore_index=True), feats.iloc[want_rows].reset_index(drop=True), check_exact=True
        )
    assert checked == 2_400 and frames > 1_000


def test_at_the_border_only_earlier_crossings(log):
    # as a desk sees it: as_of is the entry itself, history holds only what came before
    entries = log.loc[log["direction"] == "entry"].sample(15, random_state=3)
    for _, entry in entries.iterrows():
        earlier = log.loc[(log["traveller_id"] == entry["traveller_id"]) & (log["timestamp"] < entry["timestamp"])]
        feats = build_features(log, as_of=entry["timestamp"])
        want = feats.loc[feats["stay_id"] == entry["crossing_id"]].reset_index(drop=True)
        got = features_at_entry(entry.to_dict(), earlier, as_frame=True)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_stay_features_do_not_depend_on_other_travellers(log):
    # running sums per traveller: a stay's means are bit-identical whoever else is in the log
    keep = log["traveller_id"].drop_duplicates().iloc[::7]
    alone = build_features(log.loc[log["traveller_id"].isin(keep)]).set_index("stay_id")
    full = build_features(log).set_index("stay_id").loc[alone.index]
    for c in ("mean_prior_stay_days", "mean_prior_permit_used"):
        np.testing.assert_array_equal(alone[c].to_numpy(), full[c].to_numpy())


def test_score_takes_entry_and_history(fitted, log):
    model, _, _ = fitted
    feats = build_features(log)
    entry = log.loc[log["direction"] == "entry"].iloc[-40]
    mine = log.loc[log["traveller_id"] == entry["traveller_id"]]
    got = score(entry.to_dict(), history=mine, model=model, reasons=3)
    want = score(feats.loc[feats["stay_id"] == entry["crossing_id"]], model=model, reasons=3)
    assert got["probability"].iat[0] == want["probability"].iat[0]
    assert [got[f"reason_{k}"].iat[0] for k in (1, 2, 3)] == [want[f"reason_{k}"].iat[0] for k in (1, 2, 3)]
    assert got["stay_id"].iat[0] == entry["crossing_id"]
    first = score(entry.to_dict(), history=[], model=model)
    assert first["error"].isna().all()


def test_refuses_an_entry_record_without_its_fields(log):
    entry = log.loc[log["direction"] == "entry"].iloc[0].to_dict()
    del entry["permit_end"], entry["visa_type"]
    with pytest.raises(SchemaError, match=r"(?s)`visa_type`: field of the entry record is missing.*`permit_end`"):
        features_at_entry(entry, [])


def test_refuses_an_exit_as_entry_and_an_as_of_before_it(log):
    exit_ = log.loc[log["direction"] == "exit"].iloc[0].to_dict()
    with pytest.raises(SchemaError, match=r"`direction`: expected 'entry'; got 'exit'"):
        features_at_entry(exit_, [])
    entry = log.loc[log["direction"] == "entry"].iloc[5].to_dict()
    with pytest.raises(SchemaError, match=r"`as_of`: `as_of` .* is before the entry"):
        features_at_entry(entry, [], as_of=entry["timestamp"] - pd.Timedelta(days=1))


def test_an_as_of_in_text_is_read_as_iso_8601_only(log):
    """The border's `as_of` was read by pd.Timestamp: day-first text was guessed month first, where the entry's own
    times were already ISO 8601 only."""
    entry = log.loc[log["direction"] == "entry"].iloc[5].to_dict()
    later = entry["timestamp"] + pd.Timedelta(days=40)
    dayfirst = f"{later.day:02d}/{later.month:02d}/{later.year}"
    for text in (dayfirst, "now"):
        with pytest.raises(SchemaError, match=rf"`as_of`: .*{text!r}.*ISO 8601"):
            features_at_entry(entry, [], as_of=text)
    assert features_at_entry(entry, [], as_of=f"{later:%Y-%m-%d}") is not None


def test_refuses_a_history_without_its_columns(fitted, log):
    entry = log.loc[log["direction"] == "entry"].iloc[5]
    mine = log.loc[log["traveller_id"] == entry["traveller_id"]].drop(columns=["direction"])
    with pytest.raises(SchemaError, match=r"`direction`: required column of the traveller's crossings is missing"):
        features_at_entry(entry.to_dict(), mine)
    with pytest.raises(SchemaError, match=r"`direction`: required column of the traveller's crossings is missing"):
        score(entry.to_dict(), history=mine.to_dict("records"), model=fitted[0])


def test_refuses_a_history_holding_another_travellers_crossings(fitted, log):
    """Another traveller's crossings sent as the history (a look-up by the wrong document) were read as this
    traveller's: a first visit took a stranger's visits and overstays as its own, and its band moved."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40]
    mine = log.loc[log["traveller_id"] == entry["traveller_id"]]
    stranger = log.loc[(log["traveller_id"] != entry["traveller_id"]) & (log["timestamp"] < entry["timestamp"])].head(6)
    for history in (pd.concat([mine, stranger]), pd.concat([mine, stranger]).to_dict("records")):
        with pytest.raises(SchemaError, match=r"`traveller_id`: 6 crossings of the history belong to another traveller"):
            features_at_entry(entry.to_dict(), history)
        with pytest.raises(SchemaError, match=r"`traveller_id`: 6 crossings"):
            score(entry.to_dict(), history=history, model=fitted[0])
    # the traveller's own crossings, with or without the id, are the history
    features_at_entry(entry.to_dict(), mine)
    features_at_entry(entry.to_dict(), mine.drop(columns=["traveller_id"]))


def test_refuses_times_with_a_zone_or_that_are_no_time(fitted, log):
    """The contract's times are local port time without a zone (build_features refuses a zoned log). An entry at 23:30
    +08:00 was read as 15:30 UTC taken for local time, a zoned permit end crashed deep in pandas, and a zoned history was
    shifted by its offset: each is refused, naming the field and the fix, as a text that is no time is."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40]
    mine = log.loc[log["traveller_id"] == entry["traveller_id"]]
    record = entry.to_dict()
    zoned = {
        "timestamp": [entry["timestamp"].tz_localize("Asia/Makassar"), f"{entry['timestamp'].isoformat()}+08:00"],
        "permit_end": [pd.Timestamp(entry["permit_end"]).tz_localize("Asia/Jakarta")],
    }
    for field, values in zoned.items():
        for value in values:
            with pytest.raises(SchemaError, match=rf"`{field}`: .*time zone.*tz_localize\(None\)"):
                features_at_entry({**record, field: value}, mine)
    with pytest.raises(SchemaError, match=r"`timestamp`: .*time zone"):
        score({**record, "timestamp": zoned["timestamp"][1]}, history=mine, model=fitted[0])
    for field in ("timestamp", "permit_end"):
        history = mine.assign(**{field: pd.to_datetime(mine[field]).dt.tz_localize("Asia/Makassar")})
        for h in (history, history.to_dict("records")):
            with pytest.raises(SchemaError, match=rf"(?s)history.*`{field}`: .*time zone"):
                features_at_entry(record, h)
    with pytest.raises(SchemaError, match=r"`timestamp`: .*not a date and time.*'yesterday'"):
        features_at_entry({**record, "timestamp": "yesterday"}, mine)


def test_refuses_a_number_for_a_time(fitted, log):
    """Seconds since 1970 sent for the entry time were read as nanoseconds: a 1970 entry with a permit of ~18,000 days,
    scored as valid (its band could move) without a word. A time is sent as a date and time, never as a number."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40]
    mine = log.loc[log["traveller_id"] == entry["traveller_id"]]
    record = entry.to_dict()
    for field in ("timestamp", "permit_end"):
        seconds = pd.Timestamp(record[field]).value // 10**9
        for value in (seconds, float(seconds), np.int64(seconds)):
            with pytest.raises(SchemaError, match=rf"`{field}`: a number, not a date and time.*not seconds or days since"):
                features_at_entry({**record, field: value}, mine)
        history = mine.assign(**{field: pd.to_datetime(mine[field]).astype("int64") // 10**9})
        for h in (history, history.to_dict("records")):
            with pytest.raises(SchemaError, match=rf"(?s)history.*`{field}`: a number, not a date and time"):
                features_at_entry(record, h)
    with pytest.raises(SchemaError, match=r"`timestamp`: a number"):
        score({**record, "timestamp": pd.Timestamp(record["timestamp"]).value // 10**9}, history=mine, model=fitted[0])


def test_refuses_text_that_is_no_number_naming_the_field(fitted, log):
    """A planned stay or a birth year that is no number crashed inside the row's arithmetic with a bare ValueError
    (could not convert string to float: 'abc') that named neither the field nor the fix."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40]
    mine = log.loc[log["traveller_id"] == entry["traveller_id"]]
    for field in ("planned_stay_days", "birth_year"):
        with pytest.raises(SchemaError, match=rf"`{field}`: not a number; got 'abc'"):
            features_at_entry({**entry.to_dict(), field: "abc"}, mine)
        with pytest.raises(SchemaError, match=rf"`{field}`: not a number"):
            score({**entry.to_dict(), field: "abc"}, history=mine, model=fitted[0])


def test_refuses_an_entry_record_the_crossings_contract_refuses(fitted, log):
    """An entry with no visa type and no purpose, a blank crossing id and a number for the traveller id was scored as
    a normal traveller (`error` and `warning` empty), its extension room invented as 0 days (a C1 visa has 120) and
    its planned-stay ratios computed from that, while validate_crossings refuses the same row with four problems.
    The entry record is checked by the crossings contract's rules, in any `errors` mode, each problem naming the
    record (its blank id named nothing: "(1 row:  )")."""
    entry = log.loc[(log["direction"] == "entry") & (log["visa_type"] == "c1_visit")].iloc[-1].to_dict()
    bad = {**entry, "visa_type": None, "purpose": None, "crossing_id": " ", "traveller_id": 12345}
    calls = {
        "features_at_entry": lambda: features_at_entry(bad, []),
        "score": lambda: score(bad, history=[], model=fitted[0], errors="flag", audit_log=False),
    }
    for name, call in calls.items():
        with pytest.raises(SchemaError) as err:
            call()
        assert sorted(p.column for p in err.value.problems) == ["crossing_id", "purpose", "traveller_id", "visa_type"], name
        assert all(p.record_ids == ("the entry record",) for p in err.value.problems), name
        assert "1 row:  )" not in str(err.value)


@pytest.mark.parametrize(("field", "value"), [
    ("crossing_id", ""), ("crossing_id", "C1 "), ("crossing_id", 7), ("traveller_id", None), ("traveller_id", " T1"),
    ("port", None), ("port", "Ngurah Rai\u200b"), ("port", "\ufeffBatam"), ("nationality", "au"), ("sex", "Q"), ("birth_year", 1850), ("birth_year", 2100),
    ("document_type", "visa"), ("visa_type", "tourist"), ("visa_type", None), ("purpose", None), ("sponsor", None),
    ("has_return_ticket", None), ("has_return_ticket", "yes"), ("accommodation", "tent"), ("group_size", 0),
    ("group_size", 201), ("group_size", None), ("planned_stay_days", -1), ("planned_stay_days", 3661),
    ("planned_stay_days", None), ("planned_stay_days", 2.5),
    # a list where one value belongs (a form's multi-select) crashed in pandas ("Per-column arrays must each be
    # 1-dimensional"), naming no field
    ("visa_type", ["voa"]), ("port", ("Batam", "Batam")), ("document_id", ["D1"]), ("crossing_id", []),
    # a year alone was read as 1 January of it: a permit "until 2030" ended on its first day
    ("permit_end", "2030"), ("timestamp", " 2019 "),
    ("port", " Batam"), ("port", "Batam\u00a0"),
])
def test_each_rule_of_the_crossings_contract_holds_for_the_entry_record(log, field, value):
    """One value at a time that the crossings contract refuses on an entry row (a missing trip field, an unknown level,
    a birth year in the future or 250 years back, a party of 0 or 201, a planned stay of -1 or 3661 days or 2.5 days,
    an id that is blank, padded or no text): the entry record is refused naming that field only."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40].to_dict()
    features_at_entry(entry, [])  # the record as the log holds it meets the contract
    with pytest.raises(SchemaError) as err:
        features_at_entry({**entry, field: value}, [])
    assert [p.column for p in err.value.problems] == [field]


def test_a_missing_or_early_permit_end_is_named_as_sent(fitted, log):
    """A missing `permit_end` became the NaT sentinel (-2**63 ns, about -1e8 permitted days) and one before the entry
    day 0 or fewer permitted days: the error named `permitted_days` and `planned_beyond_max_days` ("above 3660") with a
    fix about fields the entry record does not have. A stay needs its permit end (the stays contract never lets it be
    missing): one problem on `permit_end`, with a fix about the permit end."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40].to_dict()
    day = pd.Timestamp(entry["timestamp"]).normalize()
    for permit_end in (None, np.nan, day - pd.Timedelta(days=2), day - pd.Timedelta(seconds=1)):
        record = {**entry, "permit_end": permit_end}
        for call in (lambda: features_at_entry(record, []), lambda: score(record, history=[], model=fitted[0], audit_log=False)):
            with pytest.raises(SchemaError) as err:
                call()
            assert [p.column for p in err.value.problems] == ["permit_end"], str(permit_end)
            assert "permit end" in err.value.problems[0].fix
            assert "permitted_days" not in str(err.value)
    # the entry day itself is a permitted day: a permit ending that day is valid
    features_at_entry({**entry, "permit_end": day}, [])


_ODD = [None, np.nan, "", " ", "x", "T1\u200b", "AUS", "entry", 0, 1, -1, 2.5, 1e9, True, "2024-01-01", pd.Timestamp("1800-01-01"),
        pd.Timestamp("2500-01-01"), pd.Timestamp("2019-06-01 10:00", tz="Asia/Jakarta"), "C1", "f", "passport", "tourism", "hotel",
        "1.23457E+10"]


def test_the_entry_check_s_fast_path_never_accepts_what_the_full_check_refuses(log, monkeypatch):
    """The border path skips the log's pandas checks for a record a plain-Python mirror of them finds plainly valid.
    A mirror can drift from the rules it mirrors: every field of an entry record, given each of many odd values,
    must get the same verdict with the fast path as with the full checks alone."""
    from riskmodel.core import schema

    entry = log.loc[log["direction"] == "entry"].iloc[-40].to_dict()

    def verdict(record):
        try:
            features_at_entry(record, [])
        except SchemaError as err:
            return sorted(p.column for p in err.problems)
        except (TypeError, ValueError) as err:  # refused before the contract (e.g. a time that is no time)
            return type(err).__name__
        return []

    records = [{**entry, c.name: value} for c in schema.CROSSINGS if c.name in entry for value in _ODD]
    full = _fast_path_agrees(monkeypatch, schema, "_plainly_valid_record", verdict, records)
    assert sum(v == [] for v in full) >= 20  # the odd values include accepted ones, so both verdicts are exercised



def _fast_path_agrees(monkeypatch, schema, fast_path: str, verdict, cases) -> list:
    """Assert ``verdict`` of every case is the same with the ``schema`` module's ``fast_path`` and with it switched
    off (the full check); return the full check's verdicts."""
    fast = [verdict(c) for c in cases]
    monkeypatch.setattr(schema, fast_path, lambda _: False)
    full = [verdict(c) for c in cases]
    differ = [(c, a, b) for c, a, b in zip(cases, fast, full, strict=True) if a != b]
    assert differ == []
    return full


def _hand_made_stay(log) -> tuple[dict, list[dict]]:
    """An entry on 2023-12-10 15:35:19 with a permit to 2024-01-08 (30 permitted days, both ends counted) after one
    earlier stay: entered 2023-01-02, permit to 2023-01-31, left 2023-02-01 (one day late)."""
    base = log.loc[log["direction"] == "entry"].iloc[-40].to_dict()
    base = {**base, "birth_year": 1980}
    trip = ("visa_type", "purpose", "sponsor", "has_return_ticket", "accommodation", "group_size", "planned_stay_days")
    entry = {**base, "crossing_id": "H3", "timestamp": pd.Timestamp("2023-12-10 15:35:19"), "permit_end": pd.Timestamp("2024-01-08")}
    before = {**base, "crossing_id": "H1", "timestamp": pd.Timestamp("2023-01-02 09:00:00"), "permit_end": pd.Timestamp("2023-01-31")}
    left = {**base, **dict.fromkeys(trip), "crossing_id": "H2", "direction": "exit", "timestamp": pd.Timestamp("2023-02-01 10:00:00"),
            "permit_end": pd.Timestamp("2023-01-31")}
    return entry, [before, left]


def _as_text(record: dict, fmt: str, day_fmt: str) -> dict:
    return {**record, "timestamp": record["timestamp"].strftime(fmt), "permit_end": record["permit_end"].strftime(day_fmt)}


def test_text_times_are_read_as_iso_8601_only(fitted, log):
    """A border desk sent day-first text times (`10/12/2023 15:35`, 10 December) and they were read month first
    (12 October): 295 permitted days instead of 30, a day late became 307 days, the score moved, no error. Text times
    are ISO 8601 only, as every other date reader of the library (`iso_dates`): anything else is refused naming the
    field, the record or history row, and the fix; ISO text gives the same row as Timestamps."""
    entry, history = _hand_made_stay(log)
    iso = features_at_entry(_as_text(entry, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"),
                            [_as_text(h, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d") for h in history])
    assert (iso["permitted_days"], iso["prior_visits"], iso["prior_overstays"], iso["prior_overstay_days"]) == (30.0, 1.0, 1.0, 1.0)
    assert iso["entry_time"] == pd.Timestamp("2023-12-10 15:35:19")
    day_first = ("%d/%m/%Y %H:%M", "%d/%m/%Y")
    for field in ("timestamp", "permit_end"):
        text = _as_text(entry, *day_first)
        with pytest.raises(SchemaError, match=rf"(?s)`{field}`: .*'{text[field]}'.*YYYY-MM-DD") as err:
            features_at_entry({**entry, field: text[field]}, history)
        assert [(p.column, p.record_ids) for p in err.value.problems] == [(field, ("the entry record",))]
        # row 1 of the history sent day first: as records and as a frame of text
        sent = [history[0], {**history[1], field: _as_text(history[1], *day_first)[field]}]
        for h in (sent, pd.DataFrame(sent).astype({field: object})):
            with pytest.raises(SchemaError, match=rf"(?s)history.*`{field}`: .*YYYY-MM-DD") as err:
                features_at_entry(entry, h)
            assert [(p.column, p.record_ids) for p in err.value.problems] == [(field, ("row 1",))]
    # 13/01/2024 cannot be month first: pandas swapped it silently rather than refuse it
    with pytest.raises(SchemaError, match=r"`permit_end`: .*'13/01/2024'"):
        features_at_entry({**entry, "permit_end": "13/01/2024"}, history)
    with pytest.raises(SchemaError, match=r"`timestamp`: .*YYYY-MM-DD"):
        score(_as_text(entry, *day_first), history=history, model=fitted[0], audit_log=False)


def _traveller_with_history(log) -> tuple[dict, pd.DataFrame]:
    """The latest entry of the first traveller with at least 8 crossings, and the crossings before it (time order)."""
    counts = log.groupby("traveller_id", observed=True).size()
    mine = log.loc[log["traveller_id"] == counts.index[counts.to_numpy() >= 8][0]].sort_values("timestamp")
    entry = mine.loc[mine["direction"] == "entry"].iloc[-1]
    return entry.to_dict(), mine.loc[mine["timestamp"] < entry["timestamp"]].reset_index(drop=True)


def test_the_history_is_checked_by_the_crossings_contract(fitted, log):
    """The history was checked for missing columns, times and the traveller only: sent twice (a service merging two
    stores) it doubled prior_visits and moved the score; a direction `ENTRY` was dropped as neither entry nor exit; an
    unknown visa type counted as a visa switch. validate_crossings refuses each on the same rows: so does the border,
    naming the history, the column and the history's crossings."""
    entry, earlier = _traveller_with_history(log)
    ids = earlier["crossing_id"].astype(str).tolist()
    first_entry = int(np.flatnonzero(earlier["direction"].astype(str) == "entry")[0])
    upper = earlier.astype({"direction": object})
    upper.loc[first_entry, "direction"] = "ENTRY"
    bogus = earlier.astype({"visa_type": object})
    bogus.loc[bogus["direction"] == "entry", "visa_type"] = "bogus"
    entry_ids = [i for i, d in zip(ids, earlier["direction"].astype(str), strict=True) if d == "entry"]
    cases = {  # history -> (column, problem, the crossings named)
        "twice": (pd.concat([earlier, earlier], ignore_index=True), "crossing_id", "duplicate ids", tuple(ids[:5])),
        "ENTRY": (upper, "direction", "unknown value(s) ['ENTRY']", (ids[first_entry],)),
        "bogus": (bogus, "visa_type", "unknown value(s) ['bogus']", tuple(entry_ids[:5])),
    }
    features_at_entry(entry, earlier)  # the history as stored meets the contract
    for name, (history, column, problem, named) in cases.items():
        for h in (history, history.to_dict("records")):
            for call in (lambda: features_at_entry(entry, h), lambda: score(entry, history=h, model=fitted[0], audit_log=False)):
                with pytest.raises(SchemaError, match=r"history table") as err:
                    call()
                got = {p.column: p for p in err.value.problems}
                assert column in got, (name, str(err.value))
                assert got[column].problem == problem and got[column].record_ids == named, (name, got[column])


@pytest.mark.parametrize(("field", "value"), [
    ("direction", "ENTRY"), ("direction", "exit"), ("crossing_id", 7), ("port", None), ("nationality", "au"), ("sex", "Q"),
    ("birth_year", 1850), ("document_type", "visa"), ("visa_type", "tourist"), ("visa_type", None), ("purpose", None),
    ("has_return_ticket", "yes"), ("accommodation", "tent"), ("group_size", 0), ("planned_stay_days", -1),
    ("permit_end", pd.Timestamp("2099-12-31")), ("document_id", " D1"),
    ("visa_type", ["voa"]), ("port", ("Batam", "Batam")), ("port", "Batam "),
])
def test_each_rule_of_the_crossings_contract_holds_for_a_history_row(log, field, value):
    """One value at a time that the crossings contract refuses on an entry row of a log, put on one entry row of the
    history (as records and as a frame): refused naming that field and that crossing only."""
    entry, earlier = _traveller_with_history(log)
    i = int(np.flatnonzero(earlier["direction"].astype(str) == "entry")[1])
    records = earlier.to_dict("records")
    features_at_entry(entry, records)
    bad = [*records[:i], {**records[i], field: value}, *records[i + 1:]]
    # a crossing whose own id is the problem is named by its position
    named = (f"row {i}",) if field == "crossing_id" else (str(records[i]["crossing_id"]),)
    if (field, value) == ("direction", "exit"):  # the exit after it now leaves again without an entry too
        named = (str(records[i]["crossing_id"]), str(records[i + 1]["crossing_id"]))
    for h in (bad, pd.DataFrame(bad)):
        with pytest.raises(SchemaError) as err:
            features_at_entry(entry, h)
        assert [(p.column, p.record_ids) for p in err.value.problems] == [(field, named)]



def test_the_history_check_s_fast_path_never_accepts_what_the_full_check_refuses(log, monkeypatch):
    """A history a plain-Python mirror of the log's checks finds plainly valid skips the pandas checks (milliseconds,
    more than scoring). A mirror can drift from the rules it mirrors: every field of an entry row and of an exit row of a
    history, given each of many odd values, must get the same refusal with the fast path as with the full checks alone;
    and a history as the log holds it, as records or a frame, must take the fast path."""
    from riskmodel.core import schema

    entry, earlier = _traveller_with_history(log)
    records = earlier.to_dict("records")

    def never(_):
        raise AssertionError("the full checks ran on a plainly valid history")

    with monkeypatch.context() as m:
        m.setattr(schema, "check_crossings", never)
        features_at_entry(entry, records)
        features_at_entry(entry, earlier)

    def verdict(history):
        try:
            features_at_entry(entry, history)
        except SchemaError as err:
            return [(p.column, p.problem, p.record_ids, p.n_rows) for p in err.problems]
        return []

    rows = (int(np.flatnonzero(earlier["direction"].astype(str) == d)[1]) for d in ("entry", "exit"))
    cases = [[*records[:i], {**records[i], c.name: value}, *records[i + 1:]]
             for i in rows for c in schema.CROSSINGS if c.name in records[i] for value in _ODD]
    cases += [records + records[:1], records[::-1], [{**r, "direction": "entry"} for r in records]]
    full = _fast_path_agrees(monkeypatch, schema, "_plainly_valid_rows", verdict, cases)
    assert sum(v == [] for v in full) >= 40  # the odd values include accepted ones, so both verdicts are exercised


def test_a_history_frame_time_beyond_nanoseconds_is_refused_not_wrapped(log):
    """pandas holds a 2500 crossing time (a placeholder for 'no date') in microseconds; read as nanoseconds, numpy
    wrapped it to 1915 without a word, and the crossing moved 585 years back. It is refused as the placeholder it is,
    naming the column and the history's row."""
    entry, earlier = _traveller_with_history(log)
    i = int(np.flatnonzero(earlier["direction"].astype(str) == "exit")[0])
    far = earlier.astype({"timestamp": "datetime64[us]"})
    far.loc[i, "timestamp"] = pd.Timestamp("2500-01-01")
    with pytest.raises(SchemaError) as err:
        features_at_entry(entry, far)
    assert [(p.column, p.problem, p.record_ids) for p in err.value.problems] == [
        ("timestamp", "times before 1900 or from 2200 on", (f"row {i}",))]


def test_a_permit_cut_short_before_the_exit_labels_the_stay_and_its_history():
    """The border path took the later of the entry's and the exit's permit ends, as build_stays did, so a permit revoked
    or shortened before the exit was ignored, in the stay's label and in the traveller's later prior overstays."""
    from tests.test_stays import CUT_SHORT, cut_short_log

    log = cut_short_log()
    for traveller, (final, late, days) in CUT_SHORT.items():
        mine = log.loc[log["traveller_id"] == traveller]
        row = features_at_entry(mine.iloc[0].to_dict(), mine, as_of="2019-03-31")
        assert row["final_permit_end"] == pd.Timestamp(final), traveller
        assert (row["overstayed"], row["overstay_days"]) == (late, days), traveller
    mine = log.loc[log["traveller_id"] == "A"]
    row = features_at_entry(mine.iloc[-1].to_dict(), mine.iloc[:-1])
    # A's earlier stay: 40 days, 21 of them past the permit in force (revoked to 20 Jan, day 20 of the stay)
    assert (row["prior_exits"], row["prior_overstays"], row["prior_overstay_days"], row["prior_extensions"]) == (1, 1, 21, 0)
    assert row["mean_prior_permit_used"] == pytest.approx(40 / 20)
    whole = build_features(log).set_index("stay_id").loc["C8"]
    assert (whole["prior_overstays"], whole["prior_overstay_days"]) == (1, 21)


def test_an_exit_whose_permit_ends_before_the_entry_day_is_refused_at_the_border():
    # the history may hold only the crossings after the entry: the exit closing the stay, whose permit in force (the
    # stay's label) cannot end before the stay began; the whole log's check names it where the entry is in the history
    from tests.test_stays import cut_short_log

    mine = cut_short_log().loc[lambda d: d["traveller_id"] == "D"]
    exit_ = {**mine.iloc[1].to_dict(), "permit_end": pd.Timestamp("2018-12-31")}  # the entry was on 2019-01-01
    for history in ([exit_], [mine.iloc[0].to_dict(), exit_]):
        with pytest.raises(SchemaError, match=r"`permit_end`: permit in force at exit ends before the day of the entry it closes "
                                              r"\(1 row: C7\)"):
            features_at_entry(mine.iloc[0].to_dict(), history)


def test_a_history_that_is_not_a_table_or_a_list_of_records_is_refused_naming_what_came(fitted, log):
    """One earlier crossing sent as a Series (`mine.iloc[0]`) crashed with `TypeError: 'Timestamp' object is not
    iterable`, and one sent as a dict was read as its field names (each required column 'missing'): a SchemaError
    names what `history` must be and how to send one crossing. A list holding other things than records is refused
    naming their positions."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40]
    mine = log.loc[(log["traveller_id"] == entry["traveller_id"]) & (log["timestamp"] < entry["timestamp"])]
    assert len(mine) >= 2
    for one in (mine.iloc[0], mine.iloc[0].to_dict(), "C0001"):
        with pytest.raises(SchemaError, match=rf"`<table>`: `history` must be a DataFrame or a list of records \(dicts\); "
                                              rf"got {type(one).__name__}.*\[crossing\]"):
            features_at_entry(entry.to_dict(), one)
        with pytest.raises(SchemaError, match=r"`history` must be a DataFrame or a list of records"):
            score(entry.to_dict(), history=one, model=fitted[0], audit_log=False)
    records = mine.to_dict("records")
    mixed = [records[0], mine.iloc[1], *records[2:]]
    with pytest.raises(SchemaError, match=r"`<table>`: a crossing of the history is no record \(dict\): Series \(1 row: row 1\)"):
        features_at_entry(entry.to_dict(), mixed)
    # the forms the docstring gives still work, the same row from each
    a, b = features_at_entry(entry.to_dict(), records), features_at_entry(entry.to_dict(), mine)
    assert a.keys() == b.keys() and all(_same(a[c], b[c]) for c in a)


def _day_trip():
    """Traveller A: entered Batam on 1 March 2019, left on 3 March at 16:00 for Singapore, came back at 20:00 (local
    port time). The crossings of tests/test_stays.py's `_log`, with times of day."""
    from tests.test_stays import _log

    log = _log([("A", "entry", 0, 30), ("A", "exit", 2, None), ("A", "entry", 2, 30)])
    log["port"] = "Batam"
    log["timestamp"] = pd.to_datetime(["2019-03-01 09:00", "2019-03-03 16:00", "2019-03-03 20:00"])
    log["permit_end"] = pd.to_datetime(["2019-03-30", None, "2019-04-01"])
    records = log.to_dict("records")
    return records[2], records[:2]


def test_an_entry_time_inside_an_earlier_stay_is_refused_naming_the_crossing_and_the_fix(fitted):
    """The desk sent the evening's entry at 13:00, UTC for 20:00 WIB: before the traveller's 16:00 exit. The border took
    that exit for the new stay's exit and the earlier stay lost it (prior_exits 0, a first visit's missing values),
    and scored the row: the log (history and entry) then holds two entries without an exit between, which the crossings
    contract refuses in a log. Refused now, naming the history's open entry, whichever side of the entry it lies."""
    entry, earlier = _day_trip()
    row = features_at_entry(entry, earlier)  # at local time: one earlier stay, left 4 hours before
    assert (row["prior_visits"], row["prior_exits"], row["days_since_last_exit"]) == (1, 1, 4 / 24)
    utc = {**entry, "timestamp": pd.Timestamp("2019-03-03 13:00")}
    later = {**earlier[0], "crossing_id": "C9", "timestamp": pd.Timestamp("2019-03-05 10:00")}  # entered again, no exit
    for case, (rec, history, named) in {"utc time": (utc, earlier, "C0"),
                                        "an entry after it, no exit between": ({**entry, "timestamp": pd.Timestamp("2019-03-04 10:00")},
                                                                               [*earlier, later], "C9")}.items():
        for h in (history, pd.DataFrame(history)):
            for call in (lambda: features_at_entry(rec, h), lambda: score(rec, history=h, model=fitted[0], errors="flag", audit_log=False)):
                with pytest.raises(SchemaError, match=r"history table") as err:
                    call()
                problems = [(p.column, p.record_ids) for p in err.value.problems]
                assert problems == [("timestamp", (named,))], (case, str(err.value))
                assert "without an exit between" in str(err.value) and "local port time" in str(err.value), case


def test_an_entry_whose_id_another_crossing_of_the_history_has_is_refused(fitted):
    """The history's row with the entry's own crossing id is ignored (a service may send the traveller's whole log,
    this entry included). An exit under that id is another crossing: it was dropped without a word, and the row lost an
    exit (prior_exits 0). Refused, naming `crossing_id`; the entry itself in the history is still ignored."""
    entry, earlier = _day_trip()
    want = features_at_entry(entry, earlier)
    same = features_at_entry(entry, [*earlier, entry])
    assert all(_same(same[c], want[c]) for c in want)
    reused = {**entry, "crossing_id": "C1"}  # the exit's id
    for h in (earlier, pd.DataFrame(earlier)):
        for call in (lambda: features_at_entry(reused, h), lambda: score(reused, history=h, model=fitted[0], audit_log=False)):
            with pytest.raises(SchemaError, match=r"history table") as err:
                call()
            assert [(p.column, p.record_ids) for p in err.value.problems] == [("crossing_id", ("C1",))], str(err.value)
            assert "give the entry its own crossing id" in str(err.value)


def test_the_entry_record_s_own_fields_serve_as_id_column_and_passthrough(fitted):
    """At the border the record's id is `crossing_id`: `score(entry, history=..., id_column="crossing_id")` answered with
    crossing_id 0 (a row number: the feature row names the id `stay_id`), and a field the desk adds to the record
    (`desk`) passed through was refused as 'passthrough column is missing ... add it to the input', though it was there.
    Both come from the entry record now; a field it does not have is still named as missing."""
    entry, earlier = _day_trip()
    desk = {**entry, "desk": "A7", "crossing_id": "C2"}
    for rec in (desk, pd.Series(desk), pd.DataFrame([desk])):
        out = score(rec, history=earlier, model=fitted[0], id_column="crossing_id", passthrough=["desk", "nationality"],
                    audit_log=False)
        assert list(out.columns)[0] == "crossing_id" and out["crossing_id"].tolist() == ["C2"]
        assert out["desk"].tolist() == ["A7"] and out["nationality"].tolist() == ["AUS"]
        assert out["probability"].notna().all()
    assert score(desk, history=earlier, model=fitted[0], audit_log=False)["stay_id"].tolist() == ["C2"]
    with pytest.raises(SchemaError, match=r"`officer`: passthrough column is missing"):
        score(desk, history=earlier, model=fitted[0], passthrough=["officer"], audit_log=False)


@pytest.mark.parametrize(("field", "value", "problem", "fix"), [
    ("has_return_ticket", "ya", "not true or false (got str)", "send `has_return_ticket` as true or false"),
    ("has_return_ticket", "true", "not true or false (got str)", "send `has_return_ticket` as true or false"),
    ("has_return_ticket", 1, "not true or false (got int)", "send `has_return_ticket` as true or false"),
    ("planned_stay_days", 2.5, "not a whole number", "send `planned_stay_days` as a whole number"),
    ("group_size", "2.5", "not a whole number", "send `group_size` as a whole number"),
])
def test_a_value_of_the_wrong_kind_in_the_entry_record_is_named_for_the_record_in_a_desk_s_words(log, field, value, problem, fix):
    """A form's 'ya' or 'true' for the return ticket, or a planned stay of 2.5 days, was refused as "expected bool values,
    got dtype str. Fix: store True/False (bool, or the nullable 'boolean' dtype)": a table's dtype, for one record, which
    named no row. The problem names the entry record and says what the field takes."""
    entry = log.loc[log["direction"] == "entry"].iloc[-40].to_dict()
    with pytest.raises(SchemaError) as err:
        features_at_entry({**entry, field: value}, [])
    assert [(p.column, p.problem, p.record_ids) for p in err.value.problems] == [(field, problem, ("the entry record",))]
    assert err.value.problems[0].fix.startswith(fix) and "dtype" not in str(err.value)


def test_a_border_call_refused_for_its_entry_or_history_is_audited_too(fitted):
    """README: every scoring call appends an audit record, a call refused for bad input too (`score_refused`: the rows
    refused and the count per column, no value). A border call refused by the entry record's or the history's checks
    left no record at all: the refusals a desk meets most were missing from the log the EU AI Act asks for."""
    from riskmodel.core import audit

    entry, earlier = _day_trip()
    cases = {  # the call's entry and history -> the columns refused
        "entry": ({**entry, "visa_type": "VOA", "group_size": 0}, earlier, {"visa_type": 1, "group_size": 1}),
        "history": ({**entry, "timestamp": pd.Timestamp("2019-03-03 13:00")}, earlier, {"timestamp": 1}),
    }
    for name, (rec, history, columns) in cases.items():
        before = len(audit.read())
        with pytest.raises(SchemaError):
            score(rec, history=history, model=fitted[0], purpose="desk check")
        records = audit.read()[before:]
        assert len(records) == 1, (name, records)
        got = records[0]
        assert (got["event"], got["rows"], got["refused_rows"], got["problems"], got["purpose"]) == (
            "score_refused", 1, 1, columns, "desk check"), name
        text = audit.audit_path().read_text()
        assert "VOA" not in text and "C2" not in text and "C0" not in text, name  # no value, no id
    with pytest.raises(SchemaError):
        score(cases["entry"][0], history=earlier, model=fitted[0], audit_log=False)
    assert len(audit.read()) == 2


def test_a_field_sent_under_another_spelling_is_named_with_the_one_expected(fitted):
    """score() names a feature column sent as `Visa_Type` with the name it expects; at the border the same record field
    (or a history column `Direction`) was called missing with no word of the field that came, though the desk sent it."""
    entry, earlier = _day_trip()
    rec = {k: v for k, v in entry.items() if k not in ("visa_type", "planned_stay_days")}
    rec.update({"Visa_Type": entry["visa_type"], "plannedStayDays": entry["planned_stay_days"]})
    with pytest.raises(SchemaError) as err:
        score(rec, history=earlier, model=fitted[0], audit_log=False)
    assert [(p.column, p.problem, p.fix) for p in err.value.problems] == [
        ("visa_type", "field of the entry record is missing; the record has `Visa_Type`", "rename `Visa_Type` to `visa_type`"),
        ("planned_stay_days", "field of the entry record is missing; the record has `plannedStayDays`",
         "rename `plannedStayDays` to `planned_stay_days`")]
    moved = [{("Direction" if k == "direction" else k): v for k, v in h.items()} for h in earlier]
    for h in (moved, pd.DataFrame(moved)):
        with pytest.raises(SchemaError) as err:
            features_at_entry(entry, h)
        assert [(p.column, p.problem, p.fix) for p in err.value.problems] == [
            ("direction", "required column of the traveller's crossings is missing; the history has `Direction`",
             "rename `Direction` to `direction`")]
    with pytest.raises(SchemaError, match=r"`visa_type`: field of the entry record is missing\. Fix: send the crossings-log"):
        features_at_entry({k: v for k, v in entry.items() if k != "visa_type"}, earlier)  # nothing like it: as before
