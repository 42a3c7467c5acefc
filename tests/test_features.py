"""Point-in-time travel-history features and label maturity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.core.datasets import make_crossings
from riskmodel.core.exceptions import ConfigError, SchemaError
from riskmodel.core.features import (
    AUDIT_COLUMNS,
    ENTRY_FEATURES,
    HISTORY_FEATURES,
    add_history_features,
    build_features,
    label_mature,
    training_table,
)

FEATURES = list(dict.fromkeys(ENTRY_FEATURES + HISTORY_FEATURES + AUDIT_COLUMNS))


@pytest.fixture(scope="module")
def data():
    return make_crossings(4_000, "2017-01-01", "2020-12-31", seed=11)


@pytest.fixture(scope="module")
def feats(data):
    return build_features(data.crossings)


def _features_by_stay(crossings: pd.DataFrame) -> pd.DataFrame:
    f = build_features(crossings, validate=False)
    return f.set_index("stay_id")[FEATURES]


def _compare(a: pd.DataFrame, b: pd.DataFrame) -> None:
    for col in FEATURES:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x):
            np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), equal_nan=True, err_msg=col)
        else:
            assert (x.astype(str).to_numpy() == y.astype(str).to_numpy()).all(), col


@pytest.mark.parametrize("cut", ["2018-03-15", "2019-08-01", "2020-06-10"])
def test_features_ignore_everything_after_entry(data, feats, cut):
    """Dropping or altering every crossing after a time leaves the features of earlier entries unchanged."""
    cut = pd.Timestamp(cut)
    log = data.crossings
    before = feats.set_index("stay_id")
    keep = before.index[before["entry_time"] <= cut]
    assert len(keep) > 100

    dropped = _features_by_stay(log[log["timestamp"] <= cut])
    _compare(before.loc[keep, FEATURES], dropped.loc[keep])

    later = log["timestamp"] > cut
    altered = log.copy()
    altered.loc[later, "permit_end"] = altered.loc[later, "permit_end"] + pd.Timedelta(days=200)
    altered.loc[later, "port"] = "Batam"
    altered.loc[later & (altered["direction"] == "exit"), "timestamp"] += pd.Timedelta(days=3)
    altered.loc[later & (altered["direction"] == "entry"), "planned_stay_days"] = 400
    changed = _features_by_stay(altered)
    _compare(before.loc[keep, FEATURES], changed.loc[keep])
    # the alteration is real: some later stays do change
    late = before.index[before["entry_time"] > cut + pd.Timedelta(days=5)]
    assert (before.loc[late, "planned_stay_days"].to_numpy(float) != changed.loc[late, "planned_stay_days"].to_numpy(float)).any()


def test_history_matches_a_slow_reference(feats):
    """Vectorised history equals a plain per-traveller loop on a sample of travellers."""
    rng = np.random.default_rng(0)
    busy = feats["traveller_id"].value_counts()
    travellers = rng.choice(busy.index[busy >= 3].to_numpy(), size=40, replace=False)
    for t in travellers:
        rows = feats[feats["traveller_id"] == t].sort_values("entry_time")
        for i, (_, row) in enumerate(rows.iterrows()):
            earlier = rows[rows["exit_time"] < row["entry_time"]]
            late = (earlier["exit_time"].dt.normalize() > earlier["final_permit_end"]).sum()
            assert row["prior_visits"] == i
            assert row["prior_exits"] == len(earlier)
            assert row["prior_overstays"] == late
            if len(earlier):
                gap = (row["entry_time"] - earlier["exit_time"].max()).total_seconds() / 86400
                assert row["days_since_last_exit"] == pytest.approx(gap)
                assert row["prior_ports"] == rows["entry_port"].iloc[:i].nunique()
            else:
                assert np.isnan(row["days_since_last_exit"])


def test_prior_overstays_count_only_known_outcomes():
    """An earlier stay whose exit comes after this entry (not yet determinable) does not count."""
    day = pd.Timestamp("2019-01-01")
    stays = pd.DataFrame(
        {
            "traveller_id": ["A", "A", "A"],
            "entry_time": [day, day + pd.Timedelta(days=100), day + pd.Timedelta(days=200)],
            "entry_port": ["Batam", "Batam", "Ngurah Rai"],
            # first stay: overstayed (exit after permit); second: still unknown at the third entry
            "exit_time": [day + pd.Timedelta(days=50), day + pd.Timedelta(days=250), pd.NaT],
            "nationality": ["AUS"] * 3,
            "sex": ["F"] * 3,
            "birth_year": [1980] * 3,
            "visa_type": ["voa"] * 3,
            "permit_end": [day + pd.Timedelta(days=29), day + pd.Timedelta(days=129), day + pd.Timedelta(days=229)],
            "final_permit_end": [day + pd.Timedelta(days=29), day + pd.Timedelta(days=129), day + pd.Timedelta(days=229)],
            "planned_stay_days": [10, 10, 10],
        }
    )
    out = add_history_features(stays)
    assert out["prior_overstays"].tolist() == [0, 1, 1]
    assert out["prior_visits"].tolist() == [0, 1, 2]
    assert out["prior_exits"].tolist() == [0, 1, 1]


def test_feature_and_audit_columns_present(feats):
    for col in FEATURES:
        assert col in feats.columns, col
    assert "final_permit_end" not in ENTRY_FEATURES + HISTORY_FEATURES
    assert set(feats["age_band"].dropna().unique()) <= {"<18", "18-25", "26-40", "41-59", "60+"}


def test_missing_column_raises():
    with pytest.raises(SchemaError, match="required column is missing"):
        add_history_features(pd.DataFrame({"traveller_id": ["A"]}))


def test_immature_stays_never_reach_training(data):
    cutoff = pd.Timestamp("2019-06-30")
    table = training_table(data.crossings, cutoff=cutoff, grace_days=30)
    assert len(table) > 1000
    assert table["overstayed"].notna().all()
    assert (table["entry_time"] <= cutoff).all()
    # every kept stay's longest possible permit plus grace ended before the cut-off
    settled = table["permit_end"] + pd.to_timedelta(table["extension_room_days"] + 30, unit="D")
    assert (settled < cutoff).all()
    # and its label is final: the same as read at the end of the data
    final = data.stays.set_index("stay_id").loc[table["stay_id"], "overstayed"].to_numpy()
    np.testing.assert_array_equal(table["overstayed"].to_numpy(bool), final.astype(bool))
    # the stays left out include ones whose label could already be read (early leavers)
    all_at_cut = build_features(data.crossings, as_of=cutoff)
    left_out = all_at_cut[~all_at_cut["stay_id"].isin(table["stay_id"])]
    assert left_out["overstayed"].notna().any()


def test_label_mature_uses_grace(feats):
    cut = pd.Timestamp("2020-06-30")
    strict = label_mature(feats, cut, grace_days=90)
    loose = label_mature(feats, cut, grace_days=0)
    assert strict.sum() < loose.sum()
    assert not (strict & ~loose).any()


def test_bad_log_raises_schema_error(data):
    bad = data.crossings.drop(columns=["permit_end"])
    with pytest.raises(SchemaError, match="permit_end"):
        build_features(bad)


def test_extra_event_source_is_point_in_time():
    from riskmodel.core.features import add_event_history

    day = pd.Timestamp("2020-05-01")
    stays = pd.DataFrame({"traveller_id": ["A", "A", "B", "C"], "entry_time": [day, day + pd.Timedelta(days=400), day, day]})
    apps = pd.DataFrame(
        {
            "traveller_id": ["A", "A", "A", "B", "Z"],
            "time": [day - pd.Timedelta(days=500), day - pd.Timedelta(days=10), day, day + pd.Timedelta(days=1), day],
        }
    )
    out = add_event_history(stays, apps, name="apps")
    # the event at the entry instant and later events never count
    assert out["apps_before_entry"].tolist() == [2, 3, 0, 0]
    assert out["apps_last_365d"].tolist() == [1, 0, 0, 0]
    assert out["days_since_last_apps"].iloc[0] == pytest.approx(10)
    assert out["days_since_last_apps"].iloc[1] == pytest.approx(400)
    assert np.isnan(out["days_since_last_apps"].iloc[2])
    # adding events after every entry changes nothing
    later = pd.concat([apps, pd.DataFrame({"traveller_id": ["A", "B"], "time": [day + pd.Timedelta(days=999)] * 2})])
    pd.testing.assert_frame_equal(add_event_history(stays, later, name="apps"), out)
    with pytest.raises(SchemaError, match="required column of `apps` events is missing"):
        add_event_history(stays, apps.rename(columns={"time": "when"}), name="apps")


def test_a_label_is_mature_only_after_permit_end_plus_extension_room_plus_grace():
    # "permit_end + extension room + grace < cutoff": a visa on arrival (30 days of extension room) with
    # grace 30 settles 60 days after its permit end; a visa-exempt stay (no room) 30 days after
    end = pd.Timestamp("2020-03-01")
    stays = pd.DataFrame({
        "entry_time": [pd.Timestamp("2020-02-01 09:00")] * 3,
        "permit_end": [end] * 3,
        "visa_type": ["voa", "visa_exempt", "voa"],
        "overstayed": pd.array([False, True, pd.NA], dtype="boolean"),
    })
    settled_voa, settled_exempt = end + pd.Timedelta(days=60), end + pd.Timedelta(days=30)
    assert label_mature(stays, settled_exempt, grace_days=30).tolist() == [False, False, False]
    assert label_mature(stays, settled_exempt + pd.Timedelta(days=1), grace_days=30).tolist() == [False, True, False]
    assert label_mature(stays, settled_voa + pd.Timedelta(hours=23), grace_days=30).tolist() == [False, True, False]
    assert label_mature(stays, settled_voa + pd.Timedelta(days=1), grace_days=30).tolist() == [True, True, False]  # no label: never


def test_an_exit_at_the_entrys_own_second_is_not_history():
    # only exits strictly before the entry count: the record of an exit stamped the same second as the
    # next entry (a transit, or clocks rounded) is not known when that entry is scored
    t = pd.Timestamp("2020-05-01 10:00:00")
    stays = pd.DataFrame({
        "traveller_id": ["A", "A", "B", "B"],
        "entry_time": [t - pd.Timedelta(days=10), t, t - pd.Timedelta(days=10), t],
        "entry_port": "Ngurah Rai",
        "exit_time": [t, pd.NaT, t - pd.Timedelta(seconds=1), pd.NaT],
        "nationality": "AUS", "sex": "F", "birth_year": 1980, "visa_type": "voa",
        "permit_end": [t - pd.Timedelta(days=5), t + pd.Timedelta(days=20)] * 2,
        "final_permit_end": [t - pd.Timedelta(days=5), t + pd.Timedelta(days=20)] * 2,
        "planned_stay_days": 10,
    })
    out = add_history_features(stays)
    assert out["prior_exits"].tolist() == [0, 0, 0, 1]  # A's exit at the entry's second does not count; B's a second before does
    assert out["prior_overstays"].tolist() == [0, 0, 0, 1]
    assert np.isnan(out.loc[1, "days_since_last_exit"]) and out.loc[3, "days_since_last_exit"] == pytest.approx(1 / 86_400)


def no_permit_end_log() -> pd.DataFrame:
    """One traveller, three visits: the first entry's permit end was never captured (the crossings contract allows it).

    C1 (1 January 2019, no permit end) left on 21 January: 20 days, overstay unknown. C3 (1 March, permit to 30 March)
    left on 9 April: 10 days late, 39 days in the country. C5 (1 June, permit to 30 June) is still open.
    """
    rows = [("C1", "entry", "2019-01-01 09:00", None), ("C2", "exit", "2019-01-21 09:00", None),
            ("C3", "entry", "2019-03-01 09:00", "2019-03-30"), ("C4", "exit", "2019-04-09 09:00", "2019-03-30"),
            ("C5", "entry", "2019-06-01 09:00", "2019-06-30")]
    cid, direction, time, end = zip(*rows, strict=True)
    entry = [d == "entry" for d in direction]

    def on_entry(value):
        return [value if e else None for e in entry]

    return pd.DataFrame({
        "crossing_id": list(cid), "traveller_id": "T1", "direction": list(direction), "timestamp": pd.to_datetime(list(time)).astype("datetime64[us]"),
        "port": "Ngurah Rai", "nationality": "AUS", "sex": "F", "birth_year": 1990, "document_type": "passport",
        "document_id": "D1", "visa_type": on_entry("voa"), "permit_end": pd.to_datetime(list(end)).astype("datetime64[us]"),
        "purpose": on_entry("tourism"), "sponsor": on_entry("none"), "has_return_ticket": pd.array(on_entry(True), dtype="boolean"),
        "accommodation": on_entry("hotel"), "group_size": pd.array(on_entry(1), dtype="Int32"),
        "planned_stay_days": pd.array(on_entry(20), dtype="Int32"),
    })


#: The features of :func:`no_permit_end_log`'s stays, by hand: C1's overstay is unknown, so it counts neither as an
#: overstay (0 days late, not 1e14) nor as a stay that used part of its permit (the mean share used is unknown);
#: its exit and its 20 days still count. C1's own permitted stay is unknown, never a negative number of days.
NO_PERMIT_END_WANT = {
    "C1": {"permitted_days": np.nan, "planned_over_permitted": np.nan, "planned_over_max": np.nan, "planned_beyond_max_days": np.nan,
           "prior_exits": 0.0, "prior_overstays": 0.0, "prior_overstay_days": 0.0},
    "C3": {"permitted_days": 30.0, "prior_exits": 1.0, "prior_overstays": 0.0, "prior_overstay_days": 0.0, "prior_extensions": 0.0,
           "mean_prior_stay_days": 20.0, "mean_prior_permit_used": np.nan},
    "C5": {"permitted_days": 30.0, "prior_exits": 2.0, "prior_overstays": 1.0, "prior_overstay_days": 10.0, "prior_extensions": 0.0,
           "mean_prior_stay_days": 29.5, "max_prior_stay_days": 39.0, "mean_prior_permit_used": np.nan},
}


def check_no_permit_end_features(feats: pd.DataFrame) -> None:
    """``feats`` (rows of :func:`no_permit_end_log`'s stays, any path) hold :data:`NO_PERMIT_END_WANT`."""
    by_stay = feats.set_index("stay_id")
    assert len(by_stay) and set(by_stay.index) <= set(NO_PERMIT_END_WANT)
    for stay in by_stay.index:
        want = NO_PERMIT_END_WANT[stay]
        got = {c: float(by_stay.loc[stay, c]) if pd.notna(by_stay.loc[stay, c]) else np.nan for c in want}
        assert got == pytest.approx(want, nan_ok=True), stay


def test_a_stay_with_no_permit_end_is_no_known_overstay_on_either_path():
    """On main the missing permit end became int64-min seconds: C3 and C5 got prior_overstays +1 and
    prior_overstay_days 1.07e14 (score() then refused C5 blaming `prior_overstay_days`), the share of the permit
    used read C1's 20 days over a permit of 1 day, and C1's own permitted_days was -1.07e14 + its day."""
    from riskmodel.core.entry import features_at_entry

    log = no_permit_end_log()
    feats = build_features(log)
    assert feats["stay_id"].tolist() == ["C1", "C3", "C5"]
    check_no_permit_end_features(feats)
    # the border path, from the traveller's earlier crossings, gives the same rows
    for i in (2, 4):
        row = features_at_entry(log.iloc[i].to_dict(), log.iloc[:i], as_frame=True)
        check_no_permit_end_features(row.assign(stay_id=log.loc[i, "crossing_id"]))


@pytest.mark.parametrize("cutoff", ["01/12/2019", "now", "2019-12-01T00:00:00+07:00"])
def test_a_cutoff_given_as_day_first_text_now_or_with_a_zone_is_refused_naming_cutoff(data, feats, cutoff):
    """label_mature and as_of_tables read `cutoff` as ISO 8601 local time, as training_table and build_stays read it:
    '01/12/2019' (1 December, day first) was read as 12 January and judged 0 stays mature (0 training rows from
    as_of_tables), and 'now' as the moment of reading, which matured every labelled stay (review14feat 05)."""
    from riskmodel.core.risk.train import as_of_tables

    with pytest.raises(SchemaError, match="`cutoff`"):
        label_mature(feats, cutoff)
    with pytest.raises(SchemaError, match="`cutoff`"):
        as_of_tables(data.crossings, cutoff)


def test_label_mature_reads_an_iso_cutoff_as_before(feats):
    """ISO text and a Timestamp are the same cut-off."""
    np.testing.assert_array_equal(label_mature(feats, "2019-12-01"), label_mature(feats, pd.Timestamp("2019-12-01")))


def test_a_traveller_before_1970_has_only_their_own_history():
    """The crossings contract dates crossings 1900-2199. A, in 2019, left 49 days late; B came in May 1965 (a first
    visit), left on 5 May and came back on 10 January 1966: one earlier visit and exit, none late, 250 days since.
    Times before 1970 are negative seconds: packed with the traveller's code they fell into A's range and B's first
    visit read prior_exits -1 (review14feat 03). A's first visit in 1970 reads no one else's visits in its year either."""
    t = pd.Timestamp
    stays = pd.DataFrame({
        "traveller_id": ["A", "B", "B", "C", "C"],
        "entry_time": [t("2019-01-01 10:00"), t("1965-05-01 10:00"), t("1966-01-10 10:00"), t("1969-12-01 10:00"), t("1970-03-01 10:00")],
        "entry_port": "Ngurah Rai",
        "exit_time": [t("2019-03-20 10:00"), t("1965-05-05 10:00"), pd.NaT, t("1969-12-10 10:00"), pd.NaT],
        "nationality": "AUS", "sex": "F", "birth_year": 1940, "visa_type": "voa",
        "permit_end": [t("2019-01-30"), t("1965-05-30"), t("1966-02-08"), t("1969-12-30"), t("1970-03-30")],
        "final_permit_end": [t("2019-01-30"), t("1965-05-30"), t("1966-02-08"), t("1969-12-30"), t("1970-03-30")],
        "planned_stay_days": 10,
    })
    out = add_history_features(stays)
    assert out["prior_visits"].tolist() == [0, 0, 1, 0, 1]
    assert out["prior_visits_365d"].tolist() == [0, 0, 1, 0, 1]
    assert out["prior_exits"].tolist() == [0, 0, 1, 0, 1]
    assert out["prior_overstays"].tolist() == [0, 0, 0, 0, 0]
    assert out.loc[2, "days_since_last_exit"] == 250.0 and out.loc[4, "days_since_last_exit"] == 81.0
    assert np.isnan(out.loc[1, "days_since_last_exit"]) and np.isnan(out.loc[3, "days_since_last_exit"])


def test_an_event_before_1970_counts_for_its_own_traveller():
    """B's application of 1 June 1965 is before his entry of 10 January 1966 (223 days); it read as none (review14feat 03)."""
    from riskmodel.core.features import add_event_history

    t = pd.Timestamp
    stays = pd.DataFrame({"traveller_id": ["A", "B"], "entry_time": [t("2019-05-01"), t("1966-01-10")]})
    events = pd.DataFrame({"traveller_id": ["A", "A", "B"], "time": [t("2019-01-01"), t("2019-02-01"), t("1965-06-01")]})
    out = add_event_history(stays, events, name="apps")
    assert out["apps_before_entry"].tolist() == [2, 1] and out["apps_last_365d"].tolist() == [2, 1]
    assert out["days_since_last_apps"].tolist() == [89.0, 223.0]


@pytest.mark.parametrize("grace", [-1, -200, 2.5, True, None])
def test_a_grace_below_zero_or_not_a_whole_number_is_refused_naming_grace_days(data, feats, grace):
    """A negative grace matured labels before the longest stay the visa allows had ended (grace -200 gave 323 more
    training rows on a 2,000-traveller year, their labels not settled: review14feat 07); the config refuses it, and so
    do the library functions it guards."""
    from riskmodel.core.exceptions import ConfigError

    with pytest.raises(ConfigError, match="`grace_days`"):
        label_mature(feats, "2020-06-30", grace_days=grace)
    with pytest.raises(ConfigError, match="`grace_days`"):
        training_table(data.crossings, cutoff="2020-06-30", grace_days=grace)


def test_a_cutoff_after_the_logs_last_day_is_refused_naming_it(data):
    """The log cannot tell who left after it ends: with a cut-off a year past a half-year log, every traveller it lost
    sight of read as an overstayer (overstay rate 0.015 -> 0.082: review14feat 08), as the pipeline's data.cutoff rule
    says. A cut-off later on the log's last day reads the same labels (they are by day) and is taken."""
    last = data.crossings["timestamp"].max()
    with pytest.raises(SchemaError, match=r"`cutoff`.*after the last crossing"):
        training_table(data.crossings, cutoff=last.normalize() + pd.Timedelta(days=1))
    end_of_day = training_table(data.crossings, cutoff=last.normalize() + pd.Timedelta(hours=23, minutes=59))
    at_end = training_table(data.crossings)
    assert end_of_day["stay_id"].tolist() == at_end["stay_id"].tolist()
    assert end_of_day["overstayed"].tolist() == at_end["overstayed"].tolist()


def test_build_features_as_of_a_day_after_the_logs_last_day_is_refused_naming_as_of(data):
    """``training_table`` refused a cut-off past the log and the CLI refused ``features --as-of`` past it, but the library's
    ``build_features(as_of=...)`` took a day a year later: everyone the log lost sight of read as still in the country, and
    labelled an overstayer once their permit ran out (the left-alone point of stop 33). Labels are by day: later on the
    last day is taken."""
    last = data.crossings["timestamp"].max()
    for later in (last.normalize() + pd.Timedelta(days=1), last + pd.Timedelta(days=365)):
        with pytest.raises(SchemaError, match=r"`as_of`.*after the last crossing"):
            build_features(data.crossings, as_of=later)
    end_of_day = build_features(data.crossings, as_of=last.normalize() + pd.Timedelta(hours=23, minutes=59))
    assert end_of_day["stay_id"].tolist() == build_features(data.crossings)["stay_id"].tolist()


def _renewed_itas(data, n: int, *, still_in: bool = True) -> pd.DataFrame:
    """``data``'s log with ``n`` ITAS holders (365 days at entry, room: one renewal) renewed twice, each leaving in time
    under a permit to 1,095 days after entry, before mid-2020; and one more, entered 2018-03-01, still in the country."""
    c = data.crossings
    model = c.loc[c["direction"].astype(str) == "entry"].iloc[[0]]
    rows = []
    for k in range(n + int(still_in)):
        entry = pd.Timestamp("2017-01-10") + pd.Timedelta(days=5 * k) if k < n else pd.Timestamp("2018-03-01")
        e = model.assign(crossing_id=f"R{k:03d}E", traveller_id=f"R{k:03d}", visa_type="itas",
                         timestamp=entry + pd.Timedelta(hours=10), permit_end=entry + pd.Timedelta(days=364))
        rows.append(e)
        if k < n:  # renewed twice: the exit names a permit 730 days past the one granted at entry
            rows.append(e.assign(crossing_id=f"R{k:03d}X", direction="exit", timestamp=entry + pd.Timedelta(days=1_080),
                                 permit_end=entry + pd.Timedelta(days=1_094)))
    log = pd.concat([c, *rows]).sort_values("timestamp", kind="stable").reset_index(drop=True)
    for col in ("direction", "visa_type"):
        log[col] = log[col].astype(c[col].dtype)
    return log


def test_a_log_whose_exits_hold_extensions_beyond_the_visas_room_and_the_grace_is_refused_naming_grace_days(data):
    """``label_mature`` calls a label settled once the longest stay the visa allows (the permit, one renewal's room for
    an ITAS) and ``grace_days`` have passed. Travellers renewed twice leave in time under a permit 730 days past the entry's
    (365 more than the room): one still in the country after permit + room + grace was a mature overstay (``overstayed``
    True, hundreds of days) in the training table of 2020-06-30, and leaves in time in the end. A log whose own exits show
    10 or more such extensions beyond the room plus the grace is refused, naming the visa type, the days and the fix
    (``grace_days`` that covers them). Fails on the code before the fix (the table was built, the ITAS stay a positive)."""
    log = _renewed_itas(data, 10)
    with pytest.raises(ConfigError, match=r"`grace_days` \(30\).*10 exits.*itas.*365 days beyond.*grace_days of at least 365"):
        training_table(log, cutoff="2020-06-30", validate=False)
    # with a grace that covers the extensions the log holds, the ITAS still in the country is not mature
    table = training_table(log, cutoff="2020-06-30", grace_days=365, validate=False)
    assert "R010E" not in set(table["stay_id"]) and len(table) > 1_000
    # the guard can pass: 9 such exits may be mistyped permit ends, and the log without them is read as before
    assert "R008E" in set(training_table(_renewed_itas(data, 9, still_in=False), cutoff="2020-06-30", validate=False)["stay_id"])
    pd.testing.assert_frame_equal(training_table(data.crossings, cutoff="2020-06-30"),
                                  training_table(data.crossings, cutoff="2020-06-30", validate=False))
