"""Every validator error, with the column, the rows and the fix named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel import SchemaError, build_stays, validate_crossings, validate_stays
from riskmodel.core.schema import CROSSINGS, STAYS, check_crossings, contract_markdown


@pytest.fixture()
def crossings(small_data):
    return small_data.crossings.copy()


@pytest.fixture()
def stays(small_data):
    return small_data.stays.copy()


def _first_entry(df):
    return int(np.flatnonzero(df["direction"].astype(str) == "entry")[0])


def test_generated_tables_meet_the_contract(small_data):
    assert validate_crossings(small_data.crossings) is small_data.crossings
    assert validate_stays(small_data.stays) is small_data.stays
    assert [c.name for c in STAYS] == list(small_data.stays.columns)
    assert [c.name for c in CROSSINGS] == list(small_data.crossings.columns)


def test_missing_column_is_named(crossings):
    with pytest.raises(SchemaError, match=r"column `visa_type`: required column is missing"):
        validate_crossings(crossings.drop(columns=["visa_type"]))


def test_wrong_type_names_the_fix(crossings):
    crossings["timestamp"] = crossings["timestamp"].astype(str)
    with pytest.raises(SchemaError, match=r"`timestamp`: expected datetime values.*pd.to_datetime"):
        validate_crossings(crossings)


def test_unknown_enum_value_lists_values_and_ids(crossings):
    i = _first_entry(crossings)
    crossings["visa_type"] = crossings["visa_type"].astype(object)
    crossings.loc[i, "visa_type"] = "golden_visa"
    bad_id = crossings.loc[i, "crossing_id"]
    with pytest.raises(SchemaError, match=rf"`visa_type`: unknown value\(s\) \['golden_visa'\] \(1 row: {bad_id}\)"):
        validate_crossings(crossings)


def test_permit_end_before_entry(crossings):
    i = _first_entry(crossings)
    crossings.loc[i, "permit_end"] = crossings.loc[i, "timestamp"] - pd.Timedelta(days=3)
    with pytest.raises(SchemaError, match=r"`permit_end`: permitted stay ends before the timestamp date"):
        validate_crossings(crossings)


def test_birth_year_in_future(crossings):
    crossings.loc[5, "birth_year"] = 2090
    with pytest.raises(SchemaError, match=rf"`birth_year`: birth year after .*{crossings.loc[5, 'crossing_id']}"):
        validate_crossings(crossings)


def test_negative_group_size(crossings):
    i = _first_entry(crossings)
    crossings.loc[i, "group_size"] = -2
    with pytest.raises(SchemaError, match=r"`group_size`: group size below 1"):
        validate_crossings(crossings)


def test_duplicate_ids(crossings):
    crossings.loc[1, "crossing_id"] = crossings.loc[0, "crossing_id"]
    with pytest.raises(SchemaError, match=r"`crossing_id`: duplicate ids \(2 rows"):
        validate_crossings(crossings)


def test_entering_twice_without_leaving(crossings):
    # drop one exit: that traveller's next entry follows an entry
    exits = crossings.index[crossings["direction"].astype(str) == "exit"]
    traveller = crossings.loc[exits[0], "traveller_id"]
    later_entries = crossings[(crossings["traveller_id"] == traveller) & (crossings["direction"].astype(str) == "entry") & (crossings.index > exits[0])]
    assert len(later_entries), "fixture must have a traveller with a later trip"
    with pytest.raises(SchemaError, match=rf"traveller entered again without an exit in between \(1 row: {later_entries['crossing_id'].iloc[0]}\)"):
        validate_crossings(crossings.drop(index=exits[0]))


def test_missing_trip_field_on_entry_rows(crossings):
    i = _first_entry(crossings)
    crossings.loc[i, "purpose"] = None
    with pytest.raises(SchemaError, match=r"`purpose`: value is missing on entry rows"):
        validate_crossings(crossings)


def test_bad_nationality_code(crossings):
    crossings.loc[3, "nationality"] = "Australia"
    with pytest.raises(SchemaError, match=r"`nationality`: not an ISO 3166-1 alpha-3 code"):
        validate_crossings(crossings)


def test_every_problem_is_reported_at_once(crossings):
    i = _first_entry(crossings)
    crossings.loc[i, "group_size"] = 0
    crossings.loc[i, "birth_year"] = 2999
    broken = crossings.drop(columns=["sex"])
    with pytest.raises(SchemaError) as info:
        validate_crossings(broken)
    columns = {p.column for p in info.value.problems}
    assert {"sex", "group_size", "birth_year"} <= columns
    assert "3 problem(s)" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_not_a_dataframe():
    with pytest.raises(SchemaError, match="expected a pandas DataFrame, got list"):
        validate_crossings([1, 2, 3])


def test_stays_exit_before_entry(stays):
    i = int(np.flatnonzero(stays["exit_time"].notna())[0])
    stays.loc[i, "exit_time"] = stays.loc[i, "entry_time"] - pd.Timedelta(days=1)
    with pytest.raises(SchemaError, match=rf"`exit_time`: exit before entry \(1 row: {stays.loc[i, 'stay_id']}\)"):
        validate_stays(stays)


def test_stays_final_permit_before_the_entry_day(stays):
    # a permit cut short at exit (revoked, shortened) ends before the one granted, and is valid; never before the stay began
    stays.loc[0, "final_permit_end"] = stays.loc[0, "permit_end"] - pd.Timedelta(days=1)
    validate_stays(stays)
    stays.loc[0, "final_permit_end"] = stays.loc[0, "entry_time"].normalize() - pd.Timedelta(days=1)
    with pytest.raises(SchemaError, match=r"`final_permit_end`: permit in force at exit ends before the entry day"):
        validate_stays(stays)


def test_stays_overlap(stays):
    counts = stays["traveller_id"].value_counts()
    traveller = counts.index[counts >= 2][0]
    rows = stays.index[stays["traveller_id"] == traveller]
    stays.loc[rows[0], "exit_time"] = pd.NaT
    with pytest.raises(SchemaError, match=r"traveller entered again before this stay's exit"):
        validate_stays(stays)


def test_id_is_row_position_when_id_column_missing(crossings):
    crossings.loc[2, "birth_year"] = 3000
    problems = check_crossings(crossings.drop(columns=["crossing_id"]))
    by = [p for p in problems if p.column == "birth_year"][0]
    assert by.record_ids == ("row 2",)


def test_text_columns_may_be_object_or_category(crossings):
    as_object = crossings.astype({c: object for c in ("port", "nationality", "visa_type", "purpose")})
    validate_crossings(as_object)
    as_category = crossings.astype({c: "category" for c in ("port", "nationality", "traveller_id")})
    validate_crossings(as_category)


def test_contract_markdown_lists_every_column():
    text = contract_markdown(CROSSINGS)
    for col in CROSSINGS:
        assert f"`{col.name}`" in text


def test_build_stays_validates_first(crossings):
    with pytest.raises(SchemaError, match="required column is missing"):
        build_stays(crossings.drop(columns=["port"]))


@pytest.mark.parametrize(("column", "value", "maximum"), [("group_size", 10**9, "200"), ("planned_stay_days", 10**5, "3660")])
def test_values_above_the_contract_maximum_are_named(crossings, stays, column, value, maximum):
    i = _first_entry(crossings)
    crossings[column] = crossings[column].astype("Int64")
    crossings.loc[i, column] = value
    with pytest.raises(SchemaError, match=rf"column `{column}`: above the contract's maximum {maximum} \(1 row: {crossings.loc[i, 'crossing_id']}\)"):
        validate_crossings(crossings)
    stays[column] = stays[column].astype("Int64")
    stays.loc[3, column] = value
    with pytest.raises(SchemaError, match=rf"column `{column}`: above the contract's maximum {maximum}"):
        validate_stays(stays)


def test_timezone_aware_timestamps_are_refused_with_the_fix(crossings, stays):
    crossings["timestamp"] = crossings["timestamp"].dt.tz_localize("Asia/Jakarta")
    with pytest.raises(SchemaError, match=r"column `timestamp`: timezone-aware timestamps .*Fix: convert to the port's local time"):
        validate_crossings(crossings)
    stays["exit_time"] = stays["exit_time"].dt.tz_localize("UTC")
    with pytest.raises(SchemaError, match=r"column `exit_time`: timezone-aware timestamps"):
        validate_stays(stays)


def test_feature_domains_cover_every_feature_the_library_builds():
    from riskmodel.core.features import ENTRY_FEATURES, HISTORY_FEATURES
    from riskmodel.core.schema import FEATURE_DOMAINS, domain_markdown

    assert set(ENTRY_FEATURES) - {"entry_port"} | set(HISTORY_FEATURES) <= set(FEATURE_DOMAINS)
    assert "| `entry_month` | a whole number from 1 to 12 |" in domain_markdown()


def test_multiindex_or_repeated_column_labels_are_named_not_an_attribute_error(crossings, stays):
    """`df[name]` of a repeated label is a DataFrame, and of a MultiIndex a sub-frame: both were an AttributeError."""
    for table, validate in ((crossings, validate_crossings), (stays, validate_stays)):
        nested = table.head(5).copy()
        nested.columns = pd.MultiIndex.from_tuples([(c, "x") for c in nested.columns])
        with pytest.raises(SchemaError, match="column labels are a MultiIndex of 2 levels"):
            validate(nested)
        twice = pd.concat([table.head(5), table.head(5)[["group_size"]]], axis=1)
        with pytest.raises(SchemaError, match="`group_size`: column appears more than once"):
            validate(twice)


# ----------------------------------------------------------------------------- each check at its written boundary
# (benchmarks/MUTATION.md: mutants moving these boundaries by one, or dropping a check, survived the tests above)


def test_permit_ending_the_day_before_entry_is_refused_and_on_the_entry_day_accepted(crossings):
    i = _first_entry(crossings)
    day = crossings.loc[i, "timestamp"].normalize()
    crossings.loc[i, "permit_end"] = day
    assert not [p for p in check_crossings(crossings) if p.column == "permit_end"]
    crossings.loc[i, "permit_end"] = day - pd.Timedelta(days=1)
    with pytest.raises(SchemaError, match=rf"`permit_end`: permitted stay ends before the timestamp date \(1 row: {crossings.loc[i, 'crossing_id']}\)"):
        validate_crossings(crossings)


def test_group_size_zero_is_refused_and_one_accepted(crossings):
    i = _first_entry(crossings)
    crossings.loc[i, "group_size"] = 1
    assert not [p for p in check_crossings(crossings) if p.column == "group_size"]
    crossings.loc[i, "group_size"] = 0
    with pytest.raises(SchemaError, match=rf"`group_size`: group size below 1 \(1 row: {crossings.loc[i, 'crossing_id']}\)"):
        validate_crossings(crossings)


def test_birth_year_more_than_120_years_before_the_crossing_is_refused(crossings):
    i = _first_entry(crossings)
    year = crossings.loc[i, "timestamp"].year
    crossings.loc[i, "birth_year"] = year - 120
    assert not [p for p in check_crossings(crossings) if p.column == "birth_year"]
    crossings.loc[i, "birth_year"] = year - 121
    with pytest.raises(SchemaError, match=rf"`birth_year`: birth year after the timestamp year or more than 120 years before it \(1 row: {crossings.loc[i, 'crossing_id']}\)"):
        validate_crossings(crossings)


def test_leaving_twice_without_entering(crossings):
    # drop the entry of a traveller's second trip: its exit follows the first trip's exit
    direction = crossings["direction"].astype(str)
    entries = crossings[direction == "entry"]
    repeat = entries[entries["traveller_id"].duplicated()].index[0]
    traveller = crossings.loc[repeat, "traveller_id"]
    exit_after = crossings[(crossings["traveller_id"] == traveller) & (direction == "exit") & (crossings["timestamp"] > crossings.loc[repeat, "timestamp"])]
    assert len(exit_after), "fixture must have a traveller whose second trip ended"
    with pytest.raises(SchemaError, match=rf"traveller left again without an entry in between \(1 row: {exit_after['crossing_id'].iloc[0]}\)"):
        validate_crossings(crossings.drop(index=repeat))


@pytest.fixture(scope="module")
def generated_features():
    """Stays of many travellers over the COVID years (the collapse of 2020-2021 and the recovery)."""
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import build_features

    return build_features(make_crossings(5_000, "2018-01-01", "2022-12-31", seed=23).crossings)


# Features whose upper bound no real traveller can reach (150 years of days, 24 entries a day for a
# lifetime or a year, more ports than any country has): the generator must stay far inside them.
_LIFETIME_BOUNDED = (
    "permitted_days", "extension_room_days", "prior_visits", "prior_visits_365d", "prior_exits", "prior_overstays",
    "prior_overstay_days", "prior_extensions", "days_since_last_exit", "mean_prior_stay_days", "max_prior_stay_days",
    "mean_prior_permit_used", "prior_ports",
)


def test_every_count_and_day_valued_feature_has_an_upper_bound_generated_data_stays_far_inside(generated_features):
    """`prior_visits = 1e30` or `days_since_last_exit = 1e12` was scored as if valid: no upper bound."""
    from riskmodel.core.schema import FEATURE_DOMAINS

    feats = generated_features
    assert feats["entry_time"].dt.year.nunique() == 5 and feats["traveller_id"].nunique() > 4_000
    for name, d in FEATURE_DOMAINS.items():
        if d.kind in ("int", "number"):
            assert d.low is not None and d.high is not None, f"`{name}` is unbounded"
            values = feats[name].dropna()
            assert d.low <= values.min() and values.max() <= d.high, name
    for name in _LIFETIME_BOUNDED:
        # a tenth of the bound: a bound that could refuse a real record would show here first
        assert feats[name].max() <= FEATURE_DOMAINS[name].high / 10, name
    # hand-made: 150 years of days, and one year at 24 entries a day
    assert FEATURE_DOMAINS["days_since_last_exit"].high >= 150 * 365
    assert FEATURE_DOMAINS["prior_visits_365d"].high <= 24 * 366


def test_every_feature_invariant_holds_on_generated_data(generated_features):
    """The cross-field rules score() enforces are ones build_features meets on every row it makes."""
    from riskmodel.core.schema import FEATURE_INVARIANTS, broken_invariant

    feats = generated_features
    assert len(FEATURE_INVARIANTS) >= 15
    for inv in FEATURE_INVARIANTS:
        cols = [feats[c].to_numpy(dtype=float, na_value=np.nan) for c in inv.columns]
        assert not broken_invariant(inv, *cols).any(), inv.rule
    # the rules are not vacuous on this sample: it has repeat visitors, overstayers and first visits
    assert (feats["prior_overstays"] > 0).sum() > 50 and (feats["prior_visits"] == 0).sum() > 1_000
    assert (feats["prior_exits"] > 1).sum() > 1_000


def _three_crossings(column: str, values: list, dtype=object) -> pd.DataFrame:
    """T1 enters on C1 and leaves on C2, T2 enters on C3 (hand-made), with ``column`` set to ``values``."""
    from .test_sources import _log

    log = _log(("C1", "T1", "entry", "2022-01-10 09:00", "2022-02-08", "D1"), ("C2", "T1", "exit", "2022-01-20 09:00", "2022-02-08", "D1"),
               ("C3", "T2", "entry", "2022-01-12 09:00", "2022-02-10", "D2"))
    assert check_crossings(log) == []
    log[column] = pd.Series(values, dtype=dtype)
    return log


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        # two travellers whose ids were left blank are one to pandas: their crossings merge into one history
        ("traveller_id", ["T1", "T1", ""], r"`traveller_id`: blank ids \(1 row: C3\)\. Fix: leave an unknown id missing"),
        ("traveller_id", ["T1", "T1", "   "], r"`traveller_id`: blank ids \(1 row: C3\)\. Fix: leave an unknown id missing"),
        # 1 and "1" are two travellers to pandas but one once written to a file: T1's entry and exit part
        ("traveller_id", [1, "1", "T2"], r"`traveller_id`: ids that are not text \(1 row: C1\)\. Fix: .*astype\(str\)"),
        ("traveller_id", [1.0, 1.0, "T2"], r"`traveller_id`: ids that are not text \(2 rows: C1, C2\)"),
        ("traveller_id", [1, 1, 2], r"`traveller_id`: ids that are not text \(3 rows: C1, C2, C3\)"),
        ("document_id", ["D1", "D1", "  "], r"`document_id`: blank ids \(1 row: C3\)"),
        ("document_id", [7, 7, None], r"`document_id`: ids that are not text \(2 rows: C1, C2\)"),
        # a blank record id cannot name its own row: the row position does
        ("crossing_id", ["C1", "", "C3"], r"`crossing_id`: blank ids \(1 row: row 1\)"),
    ],
)
def test_crossings_ids_that_are_blank_or_not_text_are_refused(column, values, match):
    """On main check_crossings took an object column of '', '  ', 1, 1.0 or 1 beside '1' as ids (monitoring refused them)."""
    log = _three_crossings(column, values)
    with pytest.raises(SchemaError, match=match):
        validate_crossings(log)
    # the training and feature path validates through build_stays: refused there too, never built into stays
    with pytest.raises(SchemaError, match=match):
        build_stays(log, as_of="2022-03-01")


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        # T1's exit filed as 'T1 ' (a CHAR column padded): to pandas another traveller, so T1 never left
        ("traveller_id", ["T1", "T1 ", "T2"], r"`traveller_id`: ids with spaces around them \(1 row: C2\)\. Fix: strip them"),
        ("traveller_id", ["T1", "T1", "\tT2"], r"`traveller_id`: ids with spaces around them \(1 row: C3\)"),
        ("document_id", [" D1", " D1", "D2"], r"`document_id`: ids with spaces around them \(2 rows: C1, C2\)"),
        ("crossing_id", ["C1", "C2 ", "C3"], r"`crossing_id`: ids with spaces around them \(1 row: row 1\)"),  # its own id names it badly
    ],
)
def test_crossings_ids_with_spaces_around_them_are_refused(column, values, match):
    """On main 'T1 ' passed as an id: T1 entered as 'T1' and left as 'T1 ', so the log held an entry with no exit
    (T1 in the country, an overstay once the permit ended) beside an exit nobody entered for, and nothing was
    refused. 'T1 ' and 'T1' are one id to a person and to a database that pads text, two to pandas, as 1 and '1'.
    A space inside an id is the id's own: 'T 1' is accepted."""
    log = _three_crossings(column, values)
    with pytest.raises(SchemaError, match=match):
        validate_crossings(log)
    with pytest.raises(SchemaError, match=match):
        build_stays(log, as_of="2022-03-01")
    assert check_crossings(_three_crossings("traveller_id", ["T 1", "T 1", "T2"])) == []


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        # T1's exit filed with a zero-width space (copy-paste, OCR): strip() keeps it, so T1 never left and overstayed
        ("traveller_id", ["T1", "T1\u200b", "T2"], r"`traveller_id`: ids with characters that do not print \(1 row: C2\)\. Fix: remove"),
        ("traveller_id", ["T1", "T1", "\ufeffT2"], r"`traveller_id`: ids with characters that do not print \(1 row: C3\)"),
        ("document_id", ["D\u00a01", "D\u00a01", "D2"], r"`document_id`: ids with characters that do not print \(2 rows: C1, C2\)"),
        ("crossing_id", ["C1", "C2\x00", "C3"], r"`crossing_id`: ids with characters that do not print \(1 row: row 1\)"),
    ],
)
def test_crossings_ids_with_characters_that_do_not_print_are_refused(column, values, match):
    """On main only spaces around an id were refused: an exit filed as 'T1' plus a zero-width space (U+200B, which
    str.strip() keeps) passed, and build_stays left T1 in the country, an overstay once the permit ended. An id is
    compared character by character, so a character nobody sees makes another person."""
    log = _three_crossings(column, values)
    with pytest.raises(SchemaError, match=match):
        validate_crossings(log)
    with pytest.raises(SchemaError, match=match):
        build_stays(log, as_of="2022-03-01")


@pytest.mark.parametrize(("values", "dtype", "match"), [
    (["Ngurah Rai", "Ngurah Rai\u200b", "Batam"], object, r"`port`: text with characters that do not print \(U\+200B\) \(1 row: C2\)\. Fix: remove"),
    (["\ufeffBatam", "\ufeffBatam", "Batam"], "string", r"`port`: text with characters that do not print \(U\+FEFF\) \(2 rows: C1, C2\)"),
    (["Batam", "Bat\x00am", "Batam"], "category", r"`port`: text with characters that do not print \(U\+0000\) \(1 row: C2\)"),
])
def test_a_port_with_characters_that_do_not_print_is_refused(values, dtype, match):
    """Review 11b: the crossings log took 'Ngurah Rai' with a zero-width space (U+200B), a byte-order mark (U+FEFF) or a
    control character for a port of its own: a port nobody can tell from the real one, its stays trained and scored
    apart. A free-text column of the contract refuses characters that do not print, as the id columns do."""
    log = _three_crossings("port", values, dtype)
    with pytest.raises(SchemaError, match=match):
        validate_crossings(log)
    assert check_crossings(_three_crossings("port", ["Ngurah Rai", "Ngurah\u00a0Rai", "Batam"])) == []  # a space is a space


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_a_port_with_spaces_around_it_is_refused_not_taken_for_another_port(dtype):
    """A padded cell: ' Batam' passed the contract, and build_features read it as another port (port_type `unknown`, a
    port switch, one more earlier port), training learnt it as a level and make_series made it a series of its own."""
    log = _three_crossings("port", ["Batam", " Batam", "Batam\u00a0"], dtype)
    with pytest.raises(SchemaError) as err:
        validate_crossings(log)
    assert ("column `port`: text with spaces around it (' Batam', 'Batam\\xa0') (2 rows: C2, C3). Fix: strip the spaces "
            "around `port`") in str(err.value)
    assert [p.column for p in err.value.problems] == ["port"]


@pytest.mark.parametrize(("record_id", "shown"), [("", "row 1"), ("  ", "row 1"), (None, "row 1"), ("C2\u200b", "row 1"), (2, "row 1")])
def test_a_row_whose_own_id_is_unusable_is_named_by_its_position_in_every_problem(record_id, shown):
    """The review: a record with a blank crossing_id and another problem was named by its blank id in that other
    problem, '(1 row:  )', which names nothing; a missing one read 'None', a number passed for an id."""
    log = _three_crossings("crossing_id", ["C1", record_id, "C3"])
    log.loc[1, "direction"] = "sideways"
    with pytest.raises(SchemaError) as caught:
        validate_crossings(log)
    direction = [p for p in caught.value.problems if p.column == "direction"]
    assert [p.record_ids for p in direction] == [(shown,)]
    assert check_crossings(_three_crossings("direction", ["entry", "sideways", "entry"]))[0].record_ids == ("C2",)


def test_a_placeholder_permit_end_or_entry_time_is_refused_by_name():
    """A permit end of 2500-01-01 (a "no end" placeholder) passed the crossings contract, and at the border the entry
    path then stopped with pandas' OverflowError, no column named; a crossing dated 2300 with a birth year to match
    passed as well. A permit runs at most 20 years from the entry day (MAX_PERMIT_YEARS, as for granted permits),
    compared by day; crossings are dated from 1900 to before 2200, as series periods are."""
    log = _three_crossings("direction", ["entry", "exit", "entry"])
    last = pd.Timestamp("2042-01-12 23:59:59")  # C3 entered on 2022-01-12: its last allowed day, to its last second
    log.loc[2, "permit_end"] = last
    assert check_crossings(log) == []
    log.loc[2, "permit_end"] = last + pd.Timedelta(seconds=1)
    with pytest.raises(SchemaError, match=r"`permit_end`: more than 20 years after the timestamp day \(1 row: C3\)"):
        validate_crossings(log)
    log.loc[2, "permit_end"] = pd.Timestamp("2099-12-31")  # pandas 2 holds nanoseconds: no year 2500 in the log itself
    with pytest.raises(SchemaError, match=r"`permit_end`: more than 20 years after the timestamp day \(1 row: C3\)"):
        validate_crossings(log)
    far = _three_crossings("direction", ["entry", "exit", "entry"])
    far.loc[2, ["timestamp", "permit_end", "birth_year"]] = [pd.Timestamp("2250-01-12 09:00"), pd.Timestamp("2250-02-10"), 2230]
    with pytest.raises(SchemaError, match=r"`timestamp`: times before 1900 or from 2200 on \(1 row: C3\)"):
        validate_crossings(far)


@pytest.mark.parametrize("dtype", [object, "str", "string", "category"])
def test_blank_traveller_ids_are_refused_in_every_text_dtype(dtype):
    """pandas 3 reads text as `str`, pandas 2 as `object`; a `string` or `category` column holds the same ''."""
    log = _three_crossings("traveller_id", ["T1", "T1", " "], dtype=dtype)
    with pytest.raises(SchemaError, match=r"`traveller_id`: blank ids \(1 row: C3\)"):
        validate_crossings(log)
    assert validate_crossings(_three_crossings("traveller_id", ["T1", "T1", "T2"], dtype=dtype)) is not None


def test_a_missing_traveller_id_is_refused_and_a_missing_document_id_is_not():
    """The contract: every crossing names its traveller; a document number may be unknown (left missing)."""
    with pytest.raises(SchemaError, match=r"`traveller_id`: value is missing \(1 row: C3\)"):
        validate_crossings(_three_crossings("traveller_id", ["T1", "T1", None]))
    assert check_crossings(_three_crossings("document_id", ["D1", "D1", None])) == []


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("traveller_id", ["T1", ""], r"`traveller_id`: blank ids \(1 row: C3\)\. Fix: leave an unknown id missing"),
        ("traveller_id", [1, "1"], r"`traveller_id`: ids that are not text \(1 row: C1\)"),
        ("stay_id", ["C1", "  "], r"`stay_id`: blank ids \(1 row: row 1\)"),
    ],
)
def test_stays_ids_that_are_blank_or_not_text_are_refused(column, values, match):
    """On main validate_stays (and `riskmodel validate --table stays`) took '' and 1 beside '1' as ids."""
    stays = build_stays(_three_crossings("traveller_id", ["T1", "T1", "T2"]))
    assert stays["stay_id"].tolist() == ["C1", "C3"] and validate_stays(stays) is stays
    stays[column] = pd.Series(values, dtype=object)
    with pytest.raises(SchemaError, match=match):
        validate_stays(stays)


# what `_id_kind` finds in each value: text, not text (or missing), blank, spaces around it, characters that do not print
_T, _N, _B, _P, _H = 0, 1, 2, 3, 4
#: Text ids as one column of a string dtype or of objects holds them, with what each is, by hand (str.strip(): every
#: Unicode space, e.g. the no-break space, the ideographic space, NEL and the separator \x1c; NUL is none).
_TEXT_IDS = [("T1", _T), ("C000000001", _T), (" T1", _P), ("T1 ", _P), ("T1\t", _P), ("", _B), ("   ", _B),
             ("\u00a0T1", _P), ("T1\u3000", _P), ("T1\x1c", _P), ("\x85", _B), ("T-1", _T), ("T 1", _T), ("١٢٣", _T),
             ("Ünal", _T), ("T1\x00", _H), ("T1\u200b", _H), ("\u200b", _H), ("T\u00a01", _H), ("\ufeffT1", _H), ("-", _T),
             (None, _N)]


@pytest.mark.parametrize("dtype", [object, "string", None], ids=["object", "string", "inferred"])
def test_each_id_is_judged_as_the_rule_reads_one_value(dtype):
    """The id rule was one `isinstance` and `strip()` per value in Python; read in bulk (a column of a string dtype:
    "string", and pandas 3's inferred `str`), each value must still get the verdict the rule gives it alone."""
    from riskmodel.core.schema import _id_kinds

    values, expected = zip(*_TEXT_IDS, strict=True)
    present, kind = _id_kinds(pd.Series(list(values), dtype=dtype))
    assert present.tolist() == [v is not None for v in values]
    assert kind.tolist() == list(expected)


def test_ids_beside_values_that_are_not_text_are_each_judged_alone():
    """1 beside '1', bytes, a numpy string, NaN and a lone surrogate (no UTF-8 for it) in one object column; the
    surrogate also in a column of pandas' own string dtype (python storage holds it: judged one by one)."""
    from riskmodel.core.schema import _id_kinds

    values = [1, "1", b"T1", np.str_("T1"), "T1 ", np.nan, 1.0]
    present, kind = _id_kinds(pd.Series(values, dtype=object))
    assert present.tolist() == [True, True, True, True, True, False, True]
    assert kind.tolist() == [_N, _T, _N, _T, _P, _N, _N]
    for dtype in (object, pd.StringDtype("python")):
        present, kind = _id_kinds(pd.Series(["\ud800T1", "\ud800 ", "T1", None], dtype=dtype))
        assert present.tolist() == [True, True, True, False] and kind.tolist() == [_H, _P, _T, _N]  # a lone surrogate prints nothing
