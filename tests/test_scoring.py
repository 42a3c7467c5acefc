"""score(): the contract services build on, bad input, unseen levels, threads, audit."""

from __future__ import annotations

import json
import re
import threading
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from riskmodel import ModelLoadError, RiskModelWarning, SchemaError, UnseenCategoryWarning
from riskmodel.core import audit
from riskmodel import load, score
from riskmodel.core.scoring import output_columns


def test_output_contract_same_rows_same_order(fitted):
    model, folder, rows = fitted
    batch = rows.sample(300, random_state=1)  # shuffled, with a non-default index
    out = score(batch, model=folder)
    assert list(out.columns) == output_columns("stay_id", 3)
    assert out.index.equals(batch.index)
    assert list(out["stay_id"]) == list(batch["stay_id"])
    assert out["probability"].dtype == np.float64
    assert out["probability"].between(0, 1).all()
    assert set(out["risk_band"]) <= {"low", "elevated", "high"}
    assert out["error"].isna().all()
    assert (out["model_name"] == "overstay-risk").all() and (out["model_version"] == "local").all()
    np.testing.assert_allclose(out["probability"], model.predict_proba(batch)[:, 1], rtol=0, atol=1e-12)


def test_one_record_path_equals_batch_path(fitted):
    model, folder, rows = fitted
    batch = rows.head(400)
    whole = score(batch, model=model, reasons=3)
    pieces = pd.concat([score(batch.iloc[i : i + 40], model=model, reasons=3) for i in range(0, 400, 40)])
    pd.testing.assert_frame_equal(whole, pieces)
    one = score(batch.iloc[7].to_dict(), model=model, reasons=3)
    assert one["probability"].iloc[0] == pytest.approx(whole["probability"].iloc[7], abs=1e-12)
    assert one["reason_1"].iloc[0] == whole["reason_1"].iloc[7]


def test_categoricals_as_str_object_category_or_json(fitted):
    model, folder, rows = fitted
    batch = rows.head(200)
    base = score(batch, model=model, reasons=0)["probability"].to_numpy()
    cats = [c for c in model.categorical if c in batch.columns]
    for variant in (batch.astype({c: object for c in cats}), batch.astype({c: "category" for c in cats})):
        np.testing.assert_array_equal(score(variant, model=model, reasons=0)["probability"].to_numpy(), base)
    records = json.loads(batch[model.features + ["stay_id"]].to_json(orient="records", date_format="iso"))
    np.testing.assert_allclose(score(records, model=model, reasons=0)["probability"].to_numpy(), base, atol=1e-12)


def test_extra_columns_ignored_and_passed_through_on_request(fitted):
    model, _, rows = fitted
    batch = rows.head(50).assign(desk="A7")
    out = score(batch, model=model, reasons=0, passthrough=["desk", "nationality"])
    assert list(out.columns[-2:]) == ["desk", "nationality"] and (out["desk"] == "A7").all()
    with pytest.raises(SchemaError, match=r"`officer`: passthrough column is missing"):
        score(batch, model=model, passthrough=["officer"])


def test_bad_values_raise_one_error_listing_every_problem(fitted):
    model, _, rows = fitted
    batch = rows.head(100).copy()
    batch["group_size"] = batch["group_size"].astype(object)
    batch.loc[3, "group_size"] = "many"
    batch.loc[4, "planned_stay_days"] = -5
    batch["prior_visits"] = batch["prior_visits"].astype(float)
    batch.loc[5, "prior_visits"] = np.inf
    with pytest.raises(SchemaError) as info:
        score(batch, model=model)
    text = str(info.value)
    assert f"column `group_size`: expected a number (1 row: {batch.loc[3, 'stay_id']})" in text
    assert f"column `planned_stay_days`: negative value where training never had one (1 row: {batch.loc[4, 'stay_id']})" in text
    assert "column `prior_visits`: infinite value" in text
    assert "Fix:" in text


def test_a_row_without_its_id_is_refused_not_scored_for_nobody(fitted):
    """A score is for the stay its id names: a row whose `stay_id` is missing was scored, and its probability came back
    beside an empty id that no caller can join to a traveller. It is a problem of that row, named by its position."""
    model, _, rows = fitted
    batch = rows.head(6).copy()
    batch["stay_id"] = batch["stay_id"].astype(object)
    batch.loc[batch.index[2], "stay_id"] = None
    with pytest.raises(SchemaError, match=r"column `stay_id`: id is missing \(1 row: row 2\)"):
        score(batch, model=model, audit_log=False)
    out = score(batch, model=model, errors="flag", audit_log=False)
    assert np.isnan(out["probability"].iloc[2]) and out["error"].iloc[2].startswith("stay_id: id is missing")
    assert out["probability"].drop(index=out.index[2]).notna().all()


@pytest.mark.parametrize("n", [6, 100])
@pytest.mark.parametrize("dtype", [object, "str"])
def test_a_row_whose_id_is_blank_text_is_refused_as_a_missing_one(fitted, n, dtype):
    """A form or a JSON client sends an empty field as `""` (or spaces), not null: such a `stay_id` was scored, and its
    probability came back beside a blank id that names no stay, where a null id is refused. Blank text is refused the
    same way, on the few-rows path and the batch path, Arrow text and Python strings alike, the row named by its
    position; the other rows are scored as they are alone, and two blank ids are no repeat of each other."""
    from riskmodel.integrations.tracking.risk_pyfunc import RiskPyfunc
    from riskmodel.core.scoring import as_scorer

    model, _, rows = fitted
    batch = rows.head(n).copy()
    ids = batch["stay_id"].astype(object).to_numpy().copy()
    ids[1], ids[3], ids[4] = "", "   ", "\t"
    batch["stay_id"] = pd.array(ids, dtype=dtype) if dtype == "str" else ids
    blank = [1, 3, 4]
    with pytest.raises(SchemaError, match=r"column `stay_id`: id is blank text \(3 rows: row 1, row 3, row 4\)\. Fix: send "):
        score(batch, model=model, audit_log=False)
    kept = [i for i in range(n) if i not in blank]
    alone = score(batch.iloc[kept], model=model, audit_log=False)
    for form in (batch, batch.to_dict("records")):
        out = score(form, model=model, errors="flag", audit_log=False)
        assert out["probability"].iloc[blank].isna().all() and out["risk_band"].iloc[blank].isna().all()
        assert all(e == "stay_id: id is blank text" for e in out["error"].iloc[blank])
        np.testing.assert_array_equal(out["probability"].iloc[kept].to_numpy(), alone["probability"].to_numpy())
    answer = RiskPyfunc(as_scorer(model)).predict(batch.astype(object), params={"reasons": 0})  # REST: the same answer
    assert [answer["error"].iloc[i] for i in blank] == ["stay_id: id is blank text"] * 3


@pytest.mark.parametrize("n", [5, 100])
def test_ids_set_as_the_index_named_stay_id_are_the_answer_s_ids(fitted, n):
    """A service that keeps its stays indexed by id (`df.set_index("stay_id")`) got `stay_id` 0, 1, 2, ... back beside
    each score, the index holding the real ids: a caller reading the column, with numeric ids, joins each score to
    another stay. An index named as the id column is the id column: its ids are the answer's, checked as a column's
    are (repeats refused); an index with another name still gives row numbers, as the README says."""
    model, _, rows = fitted
    batch = rows.head(n).copy()
    batch["stay_id"] = np.arange(1001, 1001 + n)
    want = score(batch, model=model, audit_log=False)
    got = score(batch.set_index("stay_id"), model=model, audit_log=False)
    assert got["stay_id"].tolist() == list(range(1001, 1001 + n)) and got.index.tolist() == list(range(1001, 1001 + n))
    np.testing.assert_array_equal(got["probability"].to_numpy(), want["probability"].to_numpy())
    twice = batch.assign(stay_id=[1001] * 2 + list(range(1003, 1001 + n))).set_index("stay_id")
    with pytest.raises(SchemaError, match=r"column `stay_id`: id given to more than one row \(2 rows: 1001, 1001\)"):
        score(twice, model=model, audit_log=False)
    other = score(batch.set_index("stay_id").rename_axis("key"), model=model, audit_log=False)
    assert other["stay_id"].tolist() == list(range(n))


def test_flag_mode_scores_good_rows_and_flags_bad_ones(fitted):
    model, _, rows = fitted
    batch = rows.head(60).copy()
    batch["visa_type"] = batch["visa_type"].astype(object)
    batch.loc[10, "visa_type"] = 42  # not text
    batch.loc[11, "planned_stay_days"] = -1
    out = score(batch, model=model, errors="flag")
    assert out.loc[[10, 11], "probability"].isna().all() and out.loc[[10, 11], "risk_band"].isna().all()
    assert out.loc[10, "error"] == "visa_type: expected text (a category level)"
    assert out.loc[11, "error"].startswith("planned_stay_days: negative value")
    good = batch.drop(index=[10, 11])
    np.testing.assert_allclose(out.drop(index=[10, 11])["probability"], score(good, model=model)["probability"], atol=1e-12)


@pytest.mark.parametrize("n", [30, 100])  # the per-value path (<= 64 rows) and the vectorised one
def test_unseen_levels_are_scored_counted_and_named_per_row(fitted, n):
    model, _, rows = fitted
    batch = rows.head(n).astype({"entry_port": object})
    batch.loc[[0, 1, 2], "entry_port"] = "Kertajati"
    with pytest.warns(UnseenCategoryWarning, match=r"\{'entry_port': 3\}"):
        out = score(batch, model=model)
    assert out["probability"].notna().all()
    assert list(out["warning"].iloc[:3]) == ["entry_port: level not seen in training, scored as missing"] * 3
    assert out["warning"].iloc[3:].isna().all()


def test_missing_feature_column_is_never_scored(fitted):
    model, _, rows = fitted
    batch = rows.head(30).drop(columns=["days_since_last_exit"])
    with pytest.raises(SchemaError, match=r"column `days_since_last_exit`: feature column is missing \(30 rows: "):
        score(batch, model=model)
    out = score(batch, model=model, errors="flag")
    assert out["probability"].isna().all() and out["risk_band"].isna().all()
    assert (out["error"] == "days_since_last_exit: feature column is missing").all()
    with pytest.raises(SchemaError, match=r"`days_since_last_exit`: feature column is missing"):
        score(batch.iloc[0:0], model=model)  # no rows to flag: the column problem still raises
    with pytest.raises(SchemaError, match=r"`visa_type`: feature column is missing"):
        score(pd.DataFrame({"stay_id": ["a", "b"]}), model=model)  # every feature missing


@pytest.mark.parametrize("n", [1, 100])
def test_misspelt_or_wrongly_cased_column_names_the_expected_one(fitted, n):
    model, _, rows = fitted
    batch = rows.head(n).rename(columns={"visa_type": "Visa_Type", "planned_stay_days": "plannedStayDays", "prior_ports": "prior_prts"})
    with pytest.raises(SchemaError) as info:
        score(batch if n > 1 else batch.iloc[0].to_dict(), model=model)
    text = str(info.value)
    assert "column `visa_type`: feature column is missing; the input has `Visa_Type`" in text
    assert "Fix: rename `Visa_Type` to `visa_type`" in text
    assert "Fix: rename `plannedStayDays` to `planned_stay_days`" in text
    assert "Fix: rename `prior_prts` to `prior_ports`" in text
    out = score(batch, model=model, errors="flag")
    assert out["probability"].isna().all()


def test_the_issue_record_is_refused_not_scored_low(fitted):
    model, _, _ = fitted
    with pytest.raises(SchemaError, match=r"`visa_type`: feature column is missing; the input has `Visa_Type`"):
        score({"Visa_Type": "c1_visit", "plannedStayDays": 400}, model=model)
    out = score({"Visa_Type": "c1_visit", "plannedStayDays": 400}, model=model, errors="flag")
    assert np.isnan(out["probability"].iloc[0]) and pd.isna(out["risk_band"].iloc[0])


def test_multiindex_and_duplicated_columns_are_refused(fitted):
    model, _, rows = fitted
    batch = rows.head(10).copy()
    batch.columns = pd.MultiIndex.from_arrays([batch.columns, ["x"] * batch.shape[1]])
    with pytest.raises(SchemaError, match=r"column `<columns>`: column labels are a MultiIndex of 2 levels"):
        score(batch, model=model)
    out = score(batch, model=model, errors="flag")
    assert out["probability"].isna().all() and out["error"].str.startswith("<columns>: column labels are a MultiIndex").all()
    twice = pd.concat([rows.head(10), rows.head(10)[["group_size"]]], axis=1)
    with pytest.raises(SchemaError, match=r"column `group_size`: column appears more than once"):
        score(twice, model=model)


@pytest.mark.parametrize("n", [20, 100])
@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("group_size", 1e9, "above 200; expected a whole number from 1 to 200"),
        ("group_size", 0, "below 1; expected a whole number from 1 to 200"),
        ("group_size", 2.5, "not a whole number; expected a whole number from 1 to 200"),
        ("entry_month", 13, "above 12; expected a whole number from 1 to 12"),
        ("has_return_ticket", 2, "not a yes/no value; expected true/false (or 1/0)"),
        # text in a yes/no field (a form in Indonesian: "ya"/"tidak") was "expected a number", which a yes/no field is not
        ("has_return_ticket", "maybe", "not a yes/no value; expected true/false (or 1/0)"),
        ("has_return_ticket", "ya", "not a yes/no value; expected true/false (or 1/0)"),
        ("has_return_ticket", "", "not a yes/no value; expected true/false (or 1/0)"),
        ("planned_stay_days", 10**6, "above 3660; expected a whole number from 0 to 3660"),
        ("visa_type", "tourist", "level not allowed by the data contract"),
        # a yes/no value in a count or a month was read as 1 and scored
        ("entry_month", True, "a yes/no value where a number is expected"),
        ("group_size", "yes", "a yes/no value where a number is expected"),
        ("prior_visits", "false", "a yes/no value where a number is expected"),
    ],
)
def test_values_outside_the_contract_domain_are_flagged(fitted, n, column, value, problem):
    model, _, rows = fitted
    batch = rows.head(n).astype({column: object})
    batch.loc[4, column] = value
    with pytest.raises(SchemaError, match=re.escape(f"column `{column}`: {problem} (1 row: {batch.loc[4, 'stay_id']})")):
        score(batch, model=model)
    out = score(batch, model=model, errors="flag")
    assert out.loc[4, "error"] == f"{column}: {problem}"
    assert np.isnan(out.loc[4, "probability"])
    assert out["probability"].drop(index=4).notna().all()


def test_reasons_only_for_high_bands_when_asked(fitted):
    model, _, rows = fitted
    out = score(rows, model=model, reasons=2, reasons_min_band="elevated")
    flagged = out["risk_band"].isin(["elevated", "high"])
    assert flagged.any() and (~flagged).any()
    assert out.loc[flagged, "reason_1"].notna().all()
    assert out.loc[~flagged, "reason_1"].isna().all()
    assert "reason_3" not in out.columns


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"errors": "ignore"}, r"`errors` must be 'raise' or 'flag'; got 'ignore'"),
        ({"reasons": -1}, r"`reasons` must be an int >= 0; got -1"),
        ({"reasons_min_band": "red"}, r"`reasons_min_band` must be one of"),
    ],
)
def test_bad_arguments(fitted, kwargs, message):
    model, _, rows = fitted
    with pytest.raises(ValueError, match=message):
        score(rows.head(2), model=model, **kwargs)


def test_not_tabular_input(fitted):
    with pytest.raises(SchemaError, match="expected a DataFrame, a dict or a list of dicts; got str"):
        score("C0001", model=fitted[0])


def test_load_caches_and_reports_missing_models(fitted, tmp_path):
    _, folder, _ = fitted
    assert load(folder) is load(folder)
    assert load(folder, refresh=True) is not None
    with pytest.raises(ModelLoadError, match=r"not found: pass models:/name@alias"):
        load(tmp_path / "nowhere")


def test_threads_score_like_serial(fitted):
    model, folder, rows = fitted
    batch = rows.head(64)
    serial = [score(batch.iloc[[i]], model=folder, reasons=1)["probability"].iloc[0] for i in range(64)]
    results = [None] * 64

    def work(offset):
        for i in range(offset, 64, 8):
            results[i] = score(batch.iloc[[i]], model=folder, reasons=1)["probability"].iloc[0]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == serial


def test_every_call_is_audited_without_identifiers(fitted):
    model, _, rows = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = score(rows.head(40), model=model, purpose="desk check")
        score(rows.head(1), model=model, audit_log=False)
    records = audit.read()
    assert len(records) == 1
    rec = records[0]
    assert rec["rows"] == 40 and rec["purpose"] == "desk check" and rec["event"] == "score"
    assert sum(v for k, v in rec["band_counts"].items() if k != "flagged") == out["risk_band"].notna().sum()
    text = audit.audit_path().read_text()
    assert not any(tid in text for tid in rows.head(40)["traveller_id"])
    assert not any(sid in text for sid in rows.head(40)["stay_id"])


@pytest.mark.parametrize("purpose", ["desk check of T00001234", "passport A1234567 at the desk", "call +62 812 3456 7890",
                                     "case 2023/0004711", "desk check of T20240117"])
def test_a_purpose_that_holds_an_id_is_refused_before_scoring_and_never_logged(fitted, purpose):
    """The audit log keeps the caller's purpose as given and promises no identifier: a purpose naming a traveller's id,
    a passport or a phone number (a run of 5 digits or more, separators allowed) is refused before any row is scored,
    with no record written, and the message does not repeat it (a refusal is logged too)."""
    model, _, rows = fitted
    with pytest.raises(ValueError, match=r"`purpose`.*run of 5 or more digits.*state why, not whom") as caught:
        score(rows.head(3), model=model, purpose=purpose)
    digits = "".join(ch for ch in purpose if ch.isdigit())
    assert digits[-5:] not in str(caught.value)
    assert audit.read() == []
    with pytest.raises(ValueError, match="`purpose`"):
        audit.append("batch", rows=3, purpose=purpose)
    assert audit.read() == []
    # the served pyfunc (REST `?purpose=`) answers every row with the refusal, as for a bad `reasons`, not a server error
    from riskmodel.core.scoring import as_scorer
    from riskmodel.integrations.tracking.risk_pyfunc import RiskPyfunc

    answer = RiskPyfunc(as_scorer(model)).predict(rows.head(2), params={"purpose": purpose})
    assert answer["probability"].isna().all() and answer["error"].str.contains("params: `purpose` holds a run of").all()
    # a REST call refused for its params is audited (h22-serve 17: it was answered 200 and left no trace), its purpose not
    records = audit.read()
    assert [(r["event"], r["refused_by"], r["rows"], r["purpose"]) for r in records] == [("score_refused", "params", 2, None)]
    assert digits[-5:] not in audit.audit_path().read_text(encoding="utf-8")


@pytest.mark.parametrize("purpose", ["desk check", "nightly batch 2024-01-17", "20240117", "main job: in-country population",
                                     "shift 3 of 4, gate 12", None])
def test_a_purpose_with_a_date_or_small_numbers_is_kept_as_given(fitted, purpose):
    model, _, rows = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score(rows.head(2), model=model, purpose=purpose)
    assert [r["purpose"] for r in audit.read()] == [purpose]


def test_a_refused_call_is_audited_too_without_identifiers_or_values(fitted):
    """The audit log records every scoring call: one refused for bad input (errors="raise") is a call too, and its
    record says what was refused (the rows and the columns), never the values or the ids."""
    model, _, rows = fitted
    bad = rows.head(5).copy()
    bad["group_size"] = bad["group_size"].astype(object)
    bad.loc[bad.index[[1, 3]], "group_size"] = "forty"
    with pytest.raises(SchemaError, match="group_size"):
        score(bad, model=model, purpose="desk check")
    records = audit.read()
    assert len(records) == 1, records
    rec = records[0]
    assert rec["event"] == "score_refused" and rec["rows"] == 5 and rec["purpose"] == "desk check"
    assert rec["refused_rows"] == 2 and rec["problems"] == {"group_size": 2}
    text = audit.audit_path().read_text()
    assert "forty" not in text and not any(sid in text for sid in bad["stay_id"])
    # a call not to be audited stays so when refused
    with pytest.raises(SchemaError):
        score(bad, model=model, audit_log=False)
    assert len(audit.read()) == 1


def test_batch_bands_and_audit_counts_follow_the_thresholds(fitted):
    # the batch path bands by code; its text column and the audit counts must agree with RiskModel.band
    model, _, rows = fitted
    batch = pd.concat([rows] * 3, ignore_index=True)
    batch["stay_id"] = [f"S{i}" for i in range(len(batch))]  # three copies of a stay are three stays here: ids of their own
    batch.loc[[5, 6], "planned_stay_days"] = -3  # flagged rows: no band
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = score(batch, model=model, reasons=0, errors="flag")
    good = out["probability"].notna()
    assert (~good).sum() == 2 and out.loc[~good, "risk_band"].isna().all()
    expected = model.band(out.loc[good, "probability"].to_numpy())
    assert list(out.loc[good, "risk_band"]) == list(expected)
    rec = audit.read()[-1]
    counts = pd.Series(expected).value_counts()
    assert {k: v for k, v in rec["band_counts"].items() if v} == {**{k: int(v) for k, v in counts.items()}, "flagged": 2}


def test_batch_part_lacking_a_feature_column_is_flagged_not_scored_low(fitted, tmp_path, monkeypatch):
    from riskmodel.integrations.batch.scoring import score_file

    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "audit.jsonl"))
    model, _, rows = fitted
    folder = tmp_path / "stays"
    folder.mkdir()
    rows.head(40).to_parquet(folder / "part-0.parquet", index=False)
    rows.iloc[40:80].drop(columns=["group_size"]).to_parquet(folder / "part-1.parquet", index=False)
    result = score_file(folder, tmp_path / "scored.parquet", model=model, errors="flag", progress=False)
    out = pd.read_parquet(result.output)
    assert out["probability"].iloc[:40].notna().all()
    assert out["probability"].iloc[40:].isna().all()
    assert (out["error"].iloc[40:] == "group_size: feature column is missing").all()
    assert result.extra["summary"]["band_counts"]["flagged"] == 40
    with pytest.raises(SchemaError, match=r"column `group_size`: feature column is missing \(40 rows"):
        score_file(folder, tmp_path / "raised.parquet", model=model, errors="raise", progress=False)


@pytest.mark.parametrize("n", [3, 100])
def test_a_boolean_column_for_a_count_flags_its_rows(fitted, n):
    """A bool dtype column where the contract holds a count was scored as 0/1 without a word."""
    model, _, rows = fitted
    batch = rows.head(n).assign(prior_visits=True)
    out = score(batch, model=model, errors="flag")
    assert (out["error"] == "prior_visits: a yes/no value where a number is expected").all()
    assert out["probability"].isna().all()
    assert score(rows.head(n), model=model)["probability"].notna().all()


@pytest.mark.parametrize("n", [3, 100])
def test_a_number_in_a_category_column_is_refused_on_both_paths(fitted, n):
    """A level sent as a number (a code, not the level's text) must be named, not scored as a missing level."""
    model, _, rows = fitted
    batch = rows.head(n).astype({"visa_type": object})
    batch.loc[1, "visa_type"] = 5
    with pytest.raises(SchemaError, match=re.escape(f"column `visa_type`: expected text (a category level) (1 row: {batch.loc[1, 'stay_id']})")):
        score(batch, model=model)
    out = score(batch, model=model, errors="flag")
    assert out.loc[1, "error"] == "visa_type: expected text (a category level)" and np.isnan(out.loc[1, "probability"])


@pytest.mark.parametrize("n", [3, 100])
def test_a_negative_value_of_a_feature_outside_the_contract_is_refused_when_training_never_had_one(n):
    """The training floor guards features the contract has no domain for (a team's own feature)."""
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import build_features
    from riskmodel.core.risk.model import RiskModel

    feats = build_features(make_crossings(1_500, "2018-01-01", "2019-12-31", seed=3).crossings)
    feats = feats[feats["overstayed"].notna()].reset_index(drop=True)
    feats["trips_booked"] = feats["prior_visits"]  # a count outside FEATURE_DOMAINS, never negative in training
    model = RiskModel(features=["visa_type", "trips_booked"], categorical=["visa_type"], num_boost_round=20)
    with pytest.warns(RiskModelWarning, match="fitted on the training rows"):  # no later slices: only the floor matters here
        model.fit(feats)
    batch = feats.head(n).copy()
    batch.loc[1, "trips_booked"] = -0.5
    out = score(batch, model=model, errors="flag")
    assert out.loc[1, "error"] == "trips_booked: negative value where training never had one"
    assert out["error"].drop(index=1).isna().all()


def _refused_when_missing(model, rows, n: int, column: str) -> pd.DataFrame:
    """``n`` held-out rows with ``column`` missing in row 1 (the training table never has it missing): refused under
    errors="raise", and under errors="flag" row 1 alone is flagged, naming the column; the batch is returned."""
    assert rows[column].notna().all()  # the training table holds no missing value of these columns either
    batch = rows.head(n).astype({column: object})
    batch.loc[1, column] = None
    with pytest.raises(SchemaError, match=re.escape(f"column `{column}`: missing where training never had a missing value")):
        score(batch, model=model)
    out = score(batch, model=model, errors="flag")
    assert out.loc[1, "error"].startswith(f"{column}: missing where training never had a missing value")
    assert np.isnan(out.loc[1, "probability"]) and out["probability"].drop(index=1).notna().all()
    return batch


@pytest.mark.parametrize("n", [3, 100])
@pytest.mark.parametrize("column", ["visa_type", "entry_port", "purpose"])
def test_a_missing_category_training_never_had_missing_is_refused_on_both_paths(fitted, n, column):
    """A null visa type, entry port or purpose was scored with no error nor warning (an elevated C1-visit row dropped to
    the low band): the stays contract never leaves them missing, and training never saw them missing, so the model has
    no learnt answer for them. Refused as a missing number is; a level not seen in training stays a warning."""
    model, _, rows = fitted
    batch = _refused_when_missing(model, rows, n, column)
    if column == "entry_port":  # a free-text column (the others' values are the contract's list)
        batch.loc[1, column] = "a port never seen"
        with pytest.warns(UnseenCategoryWarning):
            assert score(batch, model=model)["probability"].notna().all()


@pytest.mark.parametrize("n", [3, 100])
@pytest.mark.parametrize("column", ["entry_month", "group_size"])
def test_a_missing_value_the_model_would_read_as_zero_is_refused_on_both_paths(fitted, n, column):
    """LightGBM reads a missing value of a feature that was never missing in training as 0 (no branch was
    learnt for it): a null entry_month was scored as month 0 and a null group_size as a party of 0, values
    the contract refuses when sent as 0. A feature that was missing in training keeps its missing branch."""
    model, _, rows = fitted
    _refused_when_missing(model, rows, n, column)
    # a first visit has no days since its last exit: missing in training, scored as missing
    first = rows.head(n).assign(days_since_last_exit=np.nan)
    assert score(first, model=model)["probability"].notna().all()


@pytest.mark.parametrize("n", [3, 100])
def test_the_text_nan_is_text_in_a_number_on_both_paths(fitted, n):
    """float("nan") parses the text "nan": the few-rows path refused it in a count as "not a whole number" and
    the batch path scored it as a missing value (in a feature missing in training, both scored it so)."""
    model, _, rows = fitted
    batch = rows.head(n).astype({"prior_visits": object, "days_since_last_exit": object})
    batch.loc[1, "prior_visits"] = "nan"
    batch.loc[2, "days_since_last_exit"] = " NaN"
    out = score(batch, model=model, errors="flag")
    assert out.loc[1, "error"] == "prior_visits: expected a number"
    assert out.loc[2, "error"] == "days_since_last_exit: expected a number"
    assert out["probability"].drop(index=[1, 2]).notna().all()


@pytest.mark.parametrize("n", [3, 100])
@pytest.mark.parametrize("errors", ["raise", "flag"])
def test_a_passthrough_column_named_as_an_output_column_is_refused_not_copied_over_the_score(fitted, n, errors):
    """Yesterday's output joined back onto the features, with passthrough=["probability", "risk_band"], replaced
    the new probability and band by yesterday's: a row scored 0.9 today came back with last night's 0.01."""
    model, _, rows = fitted
    batch = rows.head(n).assign(probability=0.5, risk_band="stale", error="old")
    with pytest.raises(SchemaError, match=re.escape("column `probability`: passthrough column has the name of an output column")) as caught:
        score(batch, model=model, errors=errors, passthrough=["probability", "risk_band", "error"])
    assert "column `risk_band`" in str(caught.value) and "column `error`" in str(caught.value)
    assert "rename it before scoring" in str(caught.value)
    # the id column is an output column with the input's own values: passing it through changes nothing
    out = score(batch, model=model, errors=errors, passthrough=["stay_id"])
    assert list(out["stay_id"]) == list(batch["stay_id"])


def test_an_empty_list_of_records_is_an_empty_answer_like_an_empty_frame(fitted):
    """A service's empty JSON batch `[]` raised a SchemaError listing every feature column as missing ("Fix: add
    `visa_type`"): a list of no records has no columns to lack. An empty frame already gave an empty answer."""
    model, _, rows = fitted
    for batch in ([], ()):
        out = score(batch, model=model, audit_log=False)
        assert len(out) == 0
        assert list(out.columns) == ["stay_id", "probability", "risk_band", "reason_1", "reason_2", "reason_3",
                                     "model_name", "model_version", "error", "warning"]
        out = score(batch, model=model, passthrough=["nationality"], errors="flag", audit_log=False)
        assert len(out) == 0 and list(out.columns)[-1] == "nationality"
    # a record that does lack a feature is still refused by name, and so is a record with no field at all
    with pytest.raises(SchemaError, match="column `visa_type`"):
        score([rows.drop(columns=["visa_type"]).iloc[0].to_dict()], model=model, audit_log=False)
    with pytest.raises(SchemaError, match="column `visa_type`: feature column is missing"):
        score([{}], model=model, audit_log=False)


@pytest.mark.parametrize("n", [3, 100])
def test_passthrough_given_as_one_string_is_refused_not_split_into_letters(fitted, n):
    """passthrough="nationality" was read letter by letter: eleven problems, columns `n`, `a`, `t`, ..., none of them
    named by the caller, with a fix ("drop it from `passthrough`") nobody could follow."""
    model, _, rows = fitted
    with pytest.raises(ValueError, match=re.escape("`passthrough` must be a list of column names; got the string "
                                                   "'nationality'. Fix: passthrough=['nationality']")):
        score(rows.head(n), model=model, passthrough="nationality", audit_log=False)
    out = score(rows.head(n), model=model, passthrough=["nationality"], audit_log=False)
    assert list(out["nationality"]) == list(rows.head(n)["nationality"])


@pytest.mark.parametrize("n", [3, 100])
def test_a_complex_number_column_is_refused_on_both_paths(fitted, n):
    """A complex column (a unit conversion gone wrong upstream) was refused up to 64 rows and scored beyond,
    the imaginary part dropped with only numpy's ComplexWarning: 5+3j read as 5."""
    model, _, rows = fitted
    batch = rows.head(n).astype({"planned_over_permitted": complex})
    batch["planned_over_permitted"] += 3j
    with pytest.raises(SchemaError, match=re.escape(f"column `planned_over_permitted`: expected a number ({n} rows:")):
        score(batch, model=model)
    out = score(batch, model=model, errors="flag")
    assert (out["error"] == "planned_over_permitted: expected a number").all() and out["probability"].isna().all()


def test_a_record_holding_lists_is_refused_naming_the_columns(fitted):
    """A dict of columns (a frame's ``to_dict("list")``) sent as one record failed deep in numpy with
    "cannot reshape array of size 88 into shape (1,44)" instead of naming the fields and the fix."""
    model, _, rows = fitted
    record = rows.head(2).drop(columns="stay_id").to_dict("list")
    with pytest.raises(SchemaError, match=re.escape("column `group_size`: a list of values where one value is expected (1 row: row 0)")) as caught:
        score(record, model=model)
    assert "column `purpose`" in str(caught.value) and "pd.DataFrame" in str(caught.value)
    out = score(record, model=model, errors="flag")
    assert out["error"].iloc[0].startswith("visa_type: a list of values where one value is expected") and out["probability"].isna().all()


@pytest.mark.parametrize("n", [3, 100])
def test_a_list_in_one_field_flags_only_its_row_on_every_path(fitted, n):
    """With errors="flag" a list in one record's field must flag that row and score the others, as a frame
    holding the list does (and as the REST server, which builds a frame, answers); the first fix of the crash
    above refused the whole call from a list of records instead."""
    model, _, rows = fitted
    batch = rows.head(n).astype({"group_size": object})
    batch.at[1, "group_size"] = [2, 3]
    problem = "group_size: a list of values where one value is expected"
    for given in (batch, batch.to_dict("records")):
        out = score(given, model=model, errors="flag")
        assert out["error"].iloc[1] == problem and np.isnan(out["probability"].iloc[1])
        assert out["error"].drop(index=out.index[1]).isna().all() and out["probability"].drop(index=out.index[1]).notna().all()
        with pytest.raises(SchemaError, match=re.escape(f"column `group_size`: a list of values where one value is expected (1 row: {batch.loc[1, 'stay_id']})")):
            score(given, model=model)


@pytest.mark.parametrize("n", [3, 100])
def test_a_stay_id_a_spreadsheet_wrote_in_scientific_notation_is_refused(fitted, n):
    """Excel shows a long numeric id as 1.23457E+10 and saves it so: the digits are gone, the score came back under an
    id that matches no stay (and several stays may show alike). The crossings contract refuses such ids; score() took
    them as any other id."""
    _, _, rows = fitted
    model = fitted[0]
    batch = rows.head(n).astype({"stay_id": object})
    batch.loc[1, "stay_id"] = "1.23457E+10"
    with pytest.raises(SchemaError) as caught:
        score(batch, model=model, audit_log=False)
    assert ("column `stay_id`: id a spreadsheet wrote in scientific notation (such as 1.23457E+10): its digits are gone "
            "(1 row: 1.23457E+10). Fix: re-export the ids from their source as text") in str(caught.value)
    out = score(batch, model=model, errors="flag", audit_log=False)
    assert out["error"].iloc[1].startswith("stay_id: id a spreadsheet wrote in scientific notation")
    assert np.isnan(out["probability"].iloc[1]) and out["error"].drop(index=1).isna().all()


@pytest.mark.parametrize("spelt", ["Soekarno\u2013Hatta", "Soekarno\u2011Hatta", "\uff33oekarno-Hatta"])
@pytest.mark.parametrize("n", [3, 100])
def test_a_training_level_spelt_with_look_alike_characters_is_refused_naming_the_level(fitted, n, spelt):
    """Word and Excel turn '-' into an en dash; a no-break hyphen or a full-width letter comes with a copy from a web form.
    'Soekarno–Hatta' is the training port Soekarno-Hatta, not a new port: it was scored as an unseen level (the port
    read as missing, another probability) with only a warning, while ' soekarno-hatta ' was refused."""
    model, _, rows = fitted
    assert "Soekarno-Hatta" in model.levels_["entry_port"]
    batch = rows.head(n).astype({"entry_port": object})
    batch.loc[1, "entry_port"] = spelt
    with pytest.raises(SchemaError) as caught:
        score(batch, model=model)
    assert ("column `entry_port`: level differs from the training level `Soekarno-Hatta` only in look-alike characters "
            f"(a dash or hyphen other than '-', full-width letters), case or spaces (1 row: {batch.loc[1, 'stay_id']}). "
            "Fix: send `Soekarno-Hatta` exactly") in str(caught.value)


@pytest.mark.parametrize("n", [3, 100])
def test_a_level_seen_in_training_sent_in_other_case_or_with_spaces_is_refused_naming_the_level(fitted, n):
    """A port code sent as " CGK" or "cgk" is the training level CGK badly formatted, not a new port: it was scored as an
    unseen level (entry_port missing, a warning) and, at the border, its port_type read as "unknown", so a
    formatting slip quietly changed the score. Only a true new level is a note."""
    model, _, rows = fitted
    port = str(rows.loc[1, "entry_port"])
    batch = rows.head(n).astype({"entry_port": object, "visa_type": object})
    batch.loc[1, "entry_port"] = f" {port.lower()} "
    batch.loc[2, "visa_type"] = "VOA"
    with pytest.raises(SchemaError) as caught:
        score(batch, model=model)
    text = str(caught.value)
    assert f"column `entry_port`: level differs from the training level `{port}` only in case or spaces (1 row: {batch.loc[1, 'stay_id']})" in text
    assert f"send `{port}` exactly" in text and "column `visa_type`: level differs from the training level `voa`" in text
    out = score(batch, model=model, errors="flag")
    assert out["error"].iloc[1].startswith("entry_port: level differs") and np.isnan(out["probability"].iloc[1])
    assert out["probability"].drop(index=[1, 2]).notna().all() and out["warning"].isna().all()


@pytest.mark.parametrize("n", [3, 100])
def test_a_level_with_characters_that_do_not_print_is_refused_on_every_path(fitted, n):
    """Review 11b repro 09: a training port with a zero-width space (U+200B) after it or a byte-order mark (U+FEFF)
    before it (a copy from a web form, an Excel export) was scored as an unseen port, which changed the probability,
    while the same port with a no-break space was refused by name. A level with characters that do not print is
    refused on every path (a few rows, a batch of objects or of Arrow strings, records), naming the column, the rows
    and the training level to send instead; with errors="flag" only those rows are left unscored."""
    model, _, rows = fitted
    port = str(rows.loc[1, "entry_port"])
    batch = rows.head(n).astype({"entry_port": object})
    batch.loc[1, "entry_port"] = f"{port}\u200b"
    batch.loc[2, "entry_port"] = f"\ufeff{port}"
    ids = batch["stay_id"].astype(str).tolist()
    for given in (batch, batch.astype({"entry_port": "string[pyarrow]"}), batch.to_dict("records")):
        with pytest.raises(SchemaError) as caught:
            score(given, model=model)
        text = str(caught.value)
        assert f"column `entry_port`: level holds characters that do not print (U+200B) (1 row: {ids[1]}). Fix: send `{port}`" in text
        assert f"column `entry_port`: level holds characters that do not print (U+FEFF) (1 row: {ids[2]}). Fix: send `{port}`" in text
        out = score(given, model=model, errors="flag")
        assert out["error"].iloc[1] == "entry_port: level holds characters that do not print (U+200B)"
        assert np.isnan(out["probability"].iloc[1]) and np.isnan(out["probability"].iloc[2])
        assert out["probability"].drop(index=out.index[[1, 2]]).notna().all() and out["warning"].isna().all()


# A repeat visitor whose history meets every rule: 5 earlier entries (2 in the last year) at 2 ports, 4 of them
# left, 1 late by 3 days, 1 extended; stays of 10 days on average, 20 at most; 20 days planned of 30 permitted.
_HISTORY = dict(prior_visits=5, prior_visits_365d=2, prior_exits=4, prior_overstays=1, prior_overstay_days=3,
                prior_extensions=1, days_since_last_exit=40.5, mean_prior_stay_days=10.0, max_prior_stay_days=20.0,
                mean_prior_permit_used=0.5, prior_ports=2, port_switch=1, visa_switch=0,
                planned_stay_days=20, permitted_days=30, extension_room_days=0, planned_over_permitted=2 / 3,
                planned_over_max=2 / 3, planned_beyond_max_days=-10)
_FIRST_VISIT = dict(prior_visits=0, prior_visits_365d=0, prior_exits=0, prior_overstays=0, prior_overstay_days=0,
                    prior_extensions=0, days_since_last_exit=np.nan, mean_prior_stay_days=np.nan, max_prior_stay_days=np.nan,
                    mean_prior_permit_used=np.nan, prior_ports=0, port_switch=np.nan, visa_switch=np.nan)
_NO_EXIT = {**_HISTORY, "prior_exits": 0, "prior_overstays": 0, "prior_overstay_days": 0, "prior_extensions": 0,
            "days_since_last_exit": np.nan, "mean_prior_stay_days": np.nan, "max_prior_stay_days": np.nan,
            "mean_prior_permit_used": np.nan}

_BROKEN = [
    (_HISTORY, {"prior_visits_365d": 6}, "prior_visits_365d", "prior_visits_365d <= prior_visits"),
    (_HISTORY, {"prior_ports": 6}, "prior_ports", "prior_ports <= prior_visits"),
    (_HISTORY, {"prior_exits": 6}, "prior_exits", "prior_exits <= prior_visits"),
    (_HISTORY, {"prior_overstays": 5, "prior_overstay_days": 9}, "prior_overstays", "prior_overstays <= prior_exits"),
    (_HISTORY, {"prior_extensions": 5}, "prior_extensions", "prior_extensions <= prior_exits"),
    (_HISTORY, {"prior_overstay_days": 0}, "prior_overstays", "prior_overstays <= prior_overstay_days"),
    (_HISTORY, {"prior_overstays": 0}, "prior_overstays", "prior_overstays >= 1 when prior_overstay_days >= 1"),
    (_HISTORY, {"prior_ports": 0}, "prior_ports", "prior_ports >= 1 when prior_visits >= 1"),
    (_FIRST_VISIT, {"port_switch": 1}, "port_switch", "port_switch is missing when prior_visits is 0"),
    (_FIRST_VISIT, {"visa_switch": 0}, "visa_switch", "visa_switch is missing when prior_visits is 0"),
    (_NO_EXIT, {"days_since_last_exit": 12.0}, "days_since_last_exit", "days_since_last_exit is missing when prior_exits is 0"),
    (_NO_EXIT, {"mean_prior_stay_days": 3.0}, "mean_prior_stay_days", "mean_prior_stay_days is missing when prior_exits is 0"),
    (_NO_EXIT, {"max_prior_stay_days": 3.0}, "max_prior_stay_days", "max_prior_stay_days is missing when prior_exits is 0"),
    (_NO_EXIT, {"mean_prior_permit_used": 0.1}, "mean_prior_permit_used", "mean_prior_permit_used is missing when prior_exits is 0"),
    (_HISTORY, {"mean_prior_stay_days": 25.0}, "mean_prior_stay_days", "mean_prior_stay_days <= max_prior_stay_days"),
    (_HISTORY, {"mean_prior_permit_used": 11.0}, "mean_prior_permit_used", "mean_prior_permit_used <= mean_prior_stay_days"),
    (_HISTORY, {"planned_over_permitted": 0.5}, "planned_over_permitted", "planned_over_permitted = planned_stay_days / permitted_days"),
    (_HISTORY, {"planned_over_max": 0.6}, "planned_over_max",
     "planned_over_max = planned_stay_days / (permitted_days + extension_room_days)"),
    (_HISTORY, {"planned_beyond_max_days": -9}, "planned_beyond_max_days",
     "planned_beyond_max_days = planned_stay_days - permitted_days - extension_room_days"),
]


def _with(rows: pd.DataFrame, n: int, row: dict) -> pd.DataFrame:
    batch = rows.head(n).copy()
    for c, v in row.items():
        batch[c] = batch[c].astype(float)
        batch.loc[1, c] = v
    return batch


@pytest.mark.parametrize("n", [20, 100])
@pytest.mark.parametrize(
    ("column", "value", "bound"),
    [
        # counts and day-valued features had only a lower bound: 1e30 visits were scored as if valid
        ("prior_visits", 1e30, "1315200"),
        ("prior_exits", 2e6, "1315200"),
        ("prior_visits_365d", 9_000, "8784"),
        ("prior_ports", 20_000, "10000"),
        ("days_since_last_exit", 1e12, "54800"),
        ("max_prior_stay_days", 60_000, "54800"),
        ("permitted_days", 10**7, "54800"),
        ("planned_over_permitted", 5_000, "3660"),
    ],
)
def test_a_count_or_day_value_no_traveller_can_reach_is_refused(fitted, n, column, value, bound):
    model, _, rows = fitted
    batch = _with(rows, n, {**_HISTORY, column: value})  # a repeat visitor: the value breaks its bound and no rule
    problem = f"above {bound}; expected"
    with pytest.raises(SchemaError, match=re.escape(f"column `{column}`: {problem}")) as caught:
        score(batch, model=model)
    assert f"(1 row: {batch.loc[1, 'stay_id']})" in str(caught.value)
    for given in (batch, batch.to_dict("records"), batch.iloc[1].to_dict()):
        out = score(given, model=model, errors="flag")
        i = 0 if isinstance(given, dict) else 1
        assert out["error"].iloc[i].startswith(f"{column}: {problem}") and np.isnan(out["probability"].iloc[i])
        assert out["error"].drop(index=out.index[i]).isna().all() and out["probability"].drop(index=out.index[i]).notna().all()


@pytest.mark.parametrize("n", [3, 100])
@pytest.mark.parametrize(("base", "change", "column", "rule"), _BROKEN, ids=[f"{b[2]}:{b[3]}" for b in _BROKEN])
def test_a_row_breaking_a_rule_features_meet_by_construction_is_refused_naming_it(fitted, n, base, change, column, rule):
    """Each value was inside its domain, so the row was scored although build_features can never make it."""
    model, _, rows = fitted
    good = _with(rows, n, base)
    for given in (good, good.to_dict("records")):
        assert score(given, model=model, errors="flag")["error"].isna().all(), "the base row must meet every rule"
    batch = _with(rows, n, {**base, **change})
    with pytest.raises(SchemaError) as caught:
        score(batch, model=model)
    text = str(caught.value)
    assert f"column `{column}`: breaks `{rule}`" in text and f"(1 row: {batch.loc[1, 'stay_id']})" in text
    assert "Fix: " in text and "build_features" in text
    for given in (batch, batch.to_dict("records"), batch.iloc[1].to_dict()):
        out = score(given, model=model, errors="flag")
        i = 0 if isinstance(given, dict) else 1
        assert out["error"].iloc[i].startswith(f"{column}: breaks `{rule}`") and np.isnan(out["probability"].iloc[i])
        assert out["error"].drop(index=out.index[i]).isna().all() and out["probability"].drop(index=out.index[i]).notna().all()


@pytest.mark.parametrize("n", [3, 100])
def test_a_rule_is_checked_only_when_the_model_uses_every_feature_in_it(n):
    """A model config may drop features: a rule naming a feature the model does not use refuses nothing."""
    from riskmodel.core.datasets import make_crossings
    from riskmodel.core.features import build_features
    from riskmodel.core.risk.model import RiskModel

    feats = build_features(make_crossings(1_500, "2018-01-01", "2019-12-31", seed=3).crossings)
    feats = feats[feats["overstayed"].notna()].reset_index(drop=True)
    batch = feats.head(n).copy()
    batch.loc[1, ["prior_visits", "prior_visits_365d"]] = [1.0, 3.0]  # breaks prior_visits_365d <= prior_visits
    for features, refused in ((["visa_type", "prior_visits_365d"], False), (["visa_type", "prior_visits_365d", "prior_visits"], True)):
        model = RiskModel(features=features, categorical=["visa_type"], num_boost_round=20)
        with pytest.warns(RiskModelWarning, match="fitted on the training rows"):
            model.fit(feats)
        out = score(batch, model=model, errors="flag")
        assert out["error"].notna().iloc[1] == refused and out["error"].drop(index=1).isna().all()


@pytest.mark.parametrize("n", [3, 100])
def test_a_duplicated_column_the_model_does_not_use_refuses_no_row(fitted, n):
    """Review note: "a duplicated extra column that the model does not use refuses every row"."""
    model, _, rows = fitted
    batch = rows.head(n)
    twice = pd.concat([batch, batch[["nationality"]]], axis=1)  # an audit column, not a feature of this model
    assert "nationality" not in model.features and list(twice.columns).count("nationality") == 2
    expected = score(batch, model=model, reasons=0)
    out = score(twice, model=model, reasons=0)
    pd.testing.assert_frame_equal(out, expected)
    # passed through, or the record id: which copy to copy out is the caller's to say
    for kwargs in ({"passthrough": ["nationality"]}, {"id_column": "nationality"}):
        for errors in ("raise", "flag"):
            with pytest.raises(SchemaError, match=r"column `nationality`: column appears more than once.*Fix: keep one column named `nationality`"):
                score(twice, model=model, errors=errors, **kwargs)
    # a feature given twice: every row, naming it
    twice = pd.concat([batch, batch[["group_size"]]], axis=1)
    out = score(twice, model=model, errors="flag")
    assert (out["error"] == "group_size: column appears more than once").all() and out["probability"].isna().all()


def _numeric_column(s: pd.Series) -> pd.Series:
    """``s`` as a database's NUMERIC column reaches pandas: object dtype holding ``decimal.Decimal``, None where missing.

    ``repr`` gives the shortest text of each float, which reads back as that very float."""
    return pd.Series([None if pd.isna(v) else Decimal(repr(float(v))) for v in s], index=s.index, dtype=object)


def _as_numeric_columns(model, batch: pd.DataFrame) -> pd.DataFrame:
    return batch.assign(**{c: _numeric_column(batch[c]) for c in model.features if c not in model.levels_})


@pytest.mark.parametrize("n", [3, 100])
def test_numeric_columns_read_from_a_database_as_decimals_score_as_their_floats(fitted, n):
    """pd.read_sql hands NUMERIC columns over as Decimal objects: every row was refused as "expected a number" although
    each holds an exact number. Decimal(3) is the number 3: the scores, bands and reasons must be those of the floats."""
    model, _, rows = fitted
    batch = _with(rows, n, _HISTORY)  # a repeat visitor in row 1: the rules between features apply
    exact = _as_numeric_columns(model, batch)
    assert isinstance(exact.loc[1, "group_size"], Decimal) and exact["prior_visits"].dtype == object
    expected = score(batch, model=model, reasons=3)
    assert expected["error"].isna().all()
    pd.testing.assert_frame_equal(score(exact, model=model, reasons=3), expected)
    pd.testing.assert_frame_equal(score(exact.to_dict("records"), model=model, reasons=3),
                                  expected.reset_index(drop=True))


@pytest.mark.parametrize("n", [3, 100])
@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        # PostgreSQL's NUMERIC holds 'NaN' and, since 14, 'Infinity': neither is a number to score
        ("group_size", Decimal("NaN"), "expected a number"),
        ("prior_visits", Decimal("sNaN"), "expected a number"),
        ("planned_stay_days", Decimal("Infinity"), "infinite value"),
        ("days_since_last_exit", Decimal("-Infinity"), "infinite value"),
        ("group_size", "many", "expected a number"),  # text beside Decimals
        ("group_size", b"3", "expected a number"),
        # the domain of the feature and the rules between features hold for the number a Decimal names
        ("group_size", Decimal("201"), "above 200; expected a whole number from 1 to 200"),
        ("group_size", Decimal("2.5"), "not a whole number; expected a whole number from 1 to 200"),
        ("prior_visits", Decimal("1E+30"), "above 1315200; expected"),
        ("prior_extensions", Decimal("5"), "breaks `prior_extensions <= prior_exits`"),
    ],
)
def test_a_decimal_that_is_no_finite_number_or_outside_the_contract_is_refused(fitted, n, column, value, problem):
    model, _, rows = fitted
    batch = _as_numeric_columns(model, _with(rows, n, _HISTORY))
    batch.loc[1, column] = value
    with pytest.raises(SchemaError, match=re.escape(f"column `{column}`: {problem}")) as caught:
        score(batch, model=model)
    assert f"(1 row: {batch.loc[1, 'stay_id']})" in str(caught.value) and "Fix: " in str(caught.value)
    for given in (batch, batch.to_dict("records")):
        out = score(given, model=model, errors="flag")
        assert out["error"].iloc[1].startswith(f"{column}: {problem}") and np.isnan(out["probability"].iloc[1])
        assert out["error"].drop(index=out.index[1]).isna().all() and out["probability"].drop(index=out.index[1]).notna().all()


@pytest.mark.parametrize("rewrite", ["model.txt", "meta.json"])
def test_a_signed_local_folder_is_scored_with_the_bytes_verified_not_a_rewrite_after_the_check(fitted, tmp_path, monkeypatch, rewrite):
    """Time of check, time of use: ``score(model=folder)`` verified a signed folder, then RiskModel.load read its files
    from the disk again, so a model.txt or meta.json rewritten in between (another model, unsigned) did the scoring.
    On main the scorer holds the rewritten model (its probabilities differ); it must hold the one whose bytes were checked."""
    import shutil

    import riskmodel.core.scoring as scoring
    from riskmodel.core.artifacts import write_manifest
    from riskmodel.core.risk.model import RiskModel

    from .test_cli_monitor import _best_iteration_3, _fewer_trees

    change = {"model.txt": _fewer_trees, "meta.json": _best_iteration_3}[rewrite]
    monkeypatch.setenv("RISKMODEL_SIGNING_KEY", "a-test-key-of-at-least-32-bytes-0123456789")
    signed, rows = fitted[0], fitted[2].head(200)
    shutil.copytree(fitted[1], tmp_path / "other")
    change(tmp_path / "other")
    assert not (RiskModel.load(tmp_path / "other").predict_proba(rows) == signed.predict_proba(rows)).all()

    folder = tmp_path / "model"
    shutil.copytree(fitted[1], folder)
    write_manifest(folder)
    real = scoring.verify_manifest

    def verify_then_rewrite(where, *args, **kwargs):
        verified = real(where, *args, **kwargs)
        change(folder)
        return verified

    monkeypatch.setattr(scoring, "verify_manifest", verify_then_rewrite)
    scorer = scoring.as_scorer(folder)
    assert (scorer.model.predict_proba(rows) == signed.predict_proba(rows)).all()


def test_reasons_beyond_any_model_are_refused_before_any_work(fitted):
    """`reasons` had no upper bound: one REST request with `"reasons": 60000` took a worker 16 s to build 60,000 empty
    reason columns (a model has a dozen or so reason groups; 10**8, a valid long, would run for hours), and the pyfunc
    answers every row with it (review12serve, repro 06). Refused naming the argument and the bound, as -1 is."""
    from riskmodel.core.scoring import as_scorer
    from riskmodel.integrations.tracking.risk_pyfunc import RiskPyfunc

    model, _, rows = fitted
    assert "reason_100" in score(rows.head(1), model=model, reasons=100).columns  # the bound itself is accepted
    with pytest.raises(ValueError, match=r"`reasons` must be at most 100 .*; got 101"):
        score(rows.head(2), model=model, reasons=101)
    answer = RiskPyfunc(as_scorer(model)).predict(rows.head(2), params={"reasons": 10**8})
    assert answer["probability"].isna().all() and answer["error"].str.contains("`reasons` must be at most 100").all()


@pytest.mark.parametrize("n", [6, 100])  # the per-value path (<= 64 rows) and the vectorised one
def test_a_stay_id_given_to_more_than_one_row_is_refused_on_every_path(fitted, n):
    """`stay_id` is the unique id of the stay (the stays contract). Two rows under one id were both scored: a feed
    delivered twice counted its stays twice in the band counts, and two different stays under one id came back as two
    probabilities for one id, which a caller joining by id cannot tell apart. Every copy is a problem of its row; the
    other rows are scored as before. A missing id is its own problem, never a repeat of another missing one."""
    model, _, rows = fitted
    batch = rows.head(n).copy()
    batch["stay_id"] = batch["stay_id"].astype(object)
    first, other = batch["stay_id"].iloc[1], batch["stay_id"].iloc[4]
    batch.loc[batch.index[3], "stay_id"] = first  # rows 1 and 3 share an id
    batch.loc[batch.index[5], "stay_id"] = first  # and row 5
    batch.loc[batch.index[0], "stay_id"] = None  # a missing id: not a repeat of anything
    repeated = [1, 3, 5]
    with pytest.raises(SchemaError, match=re.escape(f"column `stay_id`: id given to more than one row (3 rows: {first}, {first}, {first})")):
        score(batch, model=model, audit_log=False)
    out = score(batch, model=model, errors="flag", audit_log=False)
    assert out["probability"].iloc[repeated].isna().all() and out["risk_band"].iloc[repeated].isna().all()
    assert all(e.startswith("stay_id: id given to more than one row") for e in out["error"].iloc[repeated])
    assert out["error"].iloc[0] == "stay_id: id is missing"
    assert out["stay_id"].iloc[4] == other and pd.isna(out["error"].iloc[4])
    kept = [i for i in range(n) if i not in (0, *repeated)]
    alone = score(batch.iloc[kept], model=model, audit_log=False)
    np.testing.assert_array_equal(out["probability"].iloc[kept].to_numpy(), alone["probability"].to_numpy())
    # the same rows as records (a JSON batch) are judged alike
    if n <= 64:
        records = score(batch.to_dict("records"), model=model, errors="flag", audit_log=False)
        assert records["probability"].iloc[repeated].isna().all()
        assert records["probability"].iloc[kept].notna().all()
    # without the id column rows are numbered: nothing repeats
    assert score(batch.drop(columns="stay_id"), model=model, audit_log=False)["probability"].notna().all()


_TEXT_IDS = {
    "equal_length": [f"S{i:09d}" for i in range(200)],
    "varying_length": [f"S{i}" for i in range(199)] + ["S7\x00"],  # `S7` and `S7` + NUL are two ids
    "longer_than_32_bytes": [f"stay-{'x' * 40}-{i}" for i in range(200)],
    "same_first_and_last_bytes": [f"ABCDEFGH{i:03d}IJKLMNOP" for i in range(200)],
    "not_ascii": [f"Søren-Ærø-{i}" for i in range(200)],
}


@pytest.mark.parametrize("shape", ["plain", "two_chunks", "sliced"])
@pytest.mark.parametrize("kind", sorted(_TEXT_IDS))
def test_repeated_text_ids_of_a_batch_are_refused_and_distinct_ones_never(fitted, kind, shape):
    """The repeated-id check of a batch (above 64 rows) on ids as pandas holds text (Arrow-backed `str` on pandas 3):
    ids of one length or of many, longer than 32 bytes, alike in their first and last 8 bytes, not ASCII, in one Arrow
    chunk or two (a concatenated frame) or a slice of a larger column. Two rows under one id are refused naming it
    and both are flagged; 200 distinct ids (`S7` and `S7` + NUL among them) are all scored."""
    model, _, rows = fitted
    ids = _TEXT_IDS[kind]
    whole = rows.iloc[np.resize(np.arange(len(rows)), 230)].reset_index(drop=True)
    # pandas 3's str is Arrow-backed; pandas 2's "str" goes through numpy, which drops a trailing NUL: object there
    whole["stay_id"] = pd.Series([f"pad{i}" for i in range(30)] + ids, dtype="str" if pd.__version__ >= "3" else object)

    def batch(frame):
        if shape == "two_chunks":
            frame = frame.iloc[30:]
            return pd.concat([frame.iloc[:90], frame.iloc[90:]]).reset_index(drop=True)
        return frame.iloc[30:].reset_index(drop=True) if shape == "sliced" else frame.iloc[30:].copy().reset_index(drop=True)

    distinct = batch(whole)
    assert len(distinct) == 200 and len(set(distinct["stay_id"])) == 200
    out = score(distinct, model=model, audit_log=False)
    assert out["probability"].notna().all() and out["error"].isna().all()
    assert list(out["stay_id"]) == ids

    twice = whole.copy()
    twice.loc[30 + 150, "stay_id"] = ids[20]  # rows 20 and 150 of the batch share one id
    repeated = batch(twice)
    with pytest.raises(SchemaError, match=re.escape(f"column `stay_id`: id given to more than one row (2 rows: {ids[20]}, {ids[20]})")):
        score(repeated, model=model, audit_log=False)
    flagged = score(repeated, model=model, errors="flag", audit_log=False)
    assert list(np.flatnonzero(flagged["error"].notna().to_numpy())) == [20, 150]
    assert flagged["error"].iloc[20] == "stay_id: id given to more than one row"
    assert flagged["probability"].drop(index=[20, 150]).notna().all()


@pytest.mark.parametrize("n", [3, 100])  # the per-value path (<= 64 rows) and the vectorised one
def test_an_id_column_sent_under_another_spelling_is_named_not_replaced_by_row_numbers(fitted, n):
    """Without `stay_id` rows are numbered 0..n-1 under `stay_id`. Sent as `StayID` (a database's serial ids), the
    ids were ignored and each score came back beside a row number: the stay with id 17 read `stay_id` 0, and a caller
    joining by id gave it the score of the stay whose id is 0. Such a column is named, as a misspelt feature is, and
    every row is refused; a caller who means it passes `id_column`."""
    model, _, rows = fitted
    batch = rows.head(n).copy()
    batch["stay_id"] = np.arange(17, 17 + n)
    for spelling in ("StayID", "stay-id", "Stay_Id"):
        sent = batch.rename(columns={"stay_id": spelling})
        with pytest.raises(SchemaError, match=rf"column `stay_id`: id column is missing; the input has `{spelling}` "
                                              rf"\({n} rows: row 0, row 1, row 2.*rename `{spelling}` to `stay_id`"):
            score(sent, model=model, audit_log=False)
        out = score(sent, model=model, errors="flag", audit_log=False)
        assert out["probability"].isna().all()
        assert out["error"].str.startswith(f"stay_id: id column is missing; the input has `{spelling}`").all()
        # named as the id column, it is the id column
        named = score(sent, model=model, id_column=spelling, audit_log=False)
        assert list(named[spelling]) == list(range(17, 17 + n)) and named["probability"].notna().all()
    # no id column at all: rows are numbered, as documented
    assert list(score(batch.drop(columns="stay_id"), model=model, audit_log=False)["stay_id"]) == list(range(n))


def test_one_stay_as_a_series_is_scored_as_its_record(fitted):
    """`df.iloc[0]`, the way pandas hands out one row, was refused ("expected a DataFrame, a dict or a list of dicts;
    got Series"), while the border path takes an entry record as a Series. It is one record, scored as its dict."""
    model, _, rows = fitted
    one = rows.iloc[3]
    got = score(one, model=model, audit_log=False)
    want = score(rows.iloc[[3]], model=model, audit_log=False)
    assert len(got) == 1 and got["stay_id"].iloc[0] == rows["stay_id"].iloc[3]
    assert got["probability"].iloc[0] == want["probability"].iloc[0] and got["reason_1"].iloc[0] == want["reason_1"].iloc[0]
    # a column is no record: its labels are row numbers, and every feature is named as missing
    with pytest.raises(SchemaError, match="column `visa_type`: feature column is missing"):
        score(rows["visa_type"], model=model, audit_log=False)


@pytest.mark.parametrize("n", [5, 100])  # the per-value path (<= 64 rows) and the vectorised one
def test_the_served_pyfunc_answers_what_score_answers_with_none_for_every_missing_value(fitted, n):
    """The REST answer's rows are score()'s (errors="flag"), every missing value None (JSON null, never NaN): a bad
    value, a missing id, a row with no reasons. Every column is object, as MLflow's JSON writer takes it; the request's
    frame is left as it came."""
    from riskmodel.core.scoring import as_scorer
    from riskmodel.integrations.tracking.risk_pyfunc import RiskPyfunc

    model, _, rows = fitted
    batch = rows.head(n).astype(object)
    batch.loc[batch.index[1], "prior_visits"] = "many"  # a bad value: missing probability, band and reasons
    batch.loc[batch.index[2], "stay_id"] = None  # a missing id
    sent = batch.copy()
    answer = RiskPyfunc(as_scorer(model)).predict(batch, params={"reasons": 3})
    expected = score(batch, model=model, reasons=3, errors="flag", purpose="mlflow pyfunc", audit_log=False)
    assert list(answer.columns) == list(expected.columns) and answer.index.equals(expected.index)
    assert all(dtype == object for dtype in answer.dtypes)
    for c in expected.columns:
        for got, want in zip(answer[c].tolist(), expected[c].tolist(), strict=True):
            if pd.isna(want):
                assert got is None, (c, got)
            else:
                assert got == want, (c, got, want)
    assert answer["probability"].iloc[1] is None and answer["error"].iloc[1].startswith("prior_visits:")
    assert answer["stay_id"].iloc[2] is None and answer["error"].iloc[2] == "stay_id: id is missing"
    pd.testing.assert_frame_equal(batch, sent)


def test_a_fitted_model_given_itself_is_wrapped_once_per_fit_and_again_after_a_new_fit():
    """score(x, model=<fitted RiskModel>) built its Scorer (a dump of every tree: tens of milliseconds, 70 times a
    one-record score) on every call. It is built once per fit: the same Scorer while the fit stands, a new one after
    another fit, which scores by the new fit's levels (a level that fit never saw is unseen, not the old fit's code)."""
    from riskmodel.core.risk.model import RiskModel
    from riskmodel.core.scoring import Scorer, as_scorer

    rng = np.random.default_rng(3)
    n = 900
    a = rng.normal(size=n)
    table = pd.DataFrame({"entry_time": pd.date_range("2019-01-01", periods=n, freq="D"), "a": a,
                          "c": rng.choice(["x", "y", "z"], size=n),
                          "overstayed": (a + rng.normal(scale=0.5, size=n) > 0.8).astype(int)})
    table["stay_id"] = [f"S{i:04d}" for i in range(n)]
    train, valid, calib = table.iloc[:500], table.iloc[500:700], table.iloc[700:]
    model = RiskModel(features=["a", "c"], categorical=["c"], params={"min_child_samples": 20}, num_boost_round=30)
    model.fit(train, valid=valid, calib=calib)
    first = as_scorer(model)
    assert as_scorer(model) is first and load(model) is first
    rows = calib.head(40)
    np.testing.assert_array_equal(score(rows, model=model, audit_log=False)["probability"],
                                  score(rows, model=Scorer(model), audit_log=False)["probability"])

    def without_x(t):
        return t[t["c"] != "x"]

    model.fit(without_x(train), valid=without_x(valid), calib=without_x(calib))
    again = as_scorer(model)
    assert again is not first and as_scorer(model) is again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenCategoryWarning)
        out = score(rows, model=model, errors="flag", audit_log=False)
        fresh = score(rows, model=Scorer(model), errors="flag", audit_log=False)
    np.testing.assert_array_equal(out["probability"], fresh["probability"])
    x = (rows["c"] == "x").to_numpy()
    assert x.any() and (out["warning"][x] == "c: level not seen in training, scored as missing").all()
    assert out["warning"][~x].isna().all()
    # a copy holds its original's Scorer in its __dict__: it gets its own, scoring by its own thresholds
    import copy

    copied = copy.copy(model)
    copied.thresholds_ = {name: 2.0 for name in model.thresholds_}  # no probability reaches a band above the first
    assert as_scorer(copied).model is copied and as_scorer(model).model is model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnseenCategoryWarning)
        bands = score(rows, model=copied, errors="flag", audit_log=False)["risk_band"]
    assert set(bands.dropna()) == {model.band_names()[0]}
    # a model never fitted is refused by name, as predicting before fitting is (it was an AttributeError)
    from riskmodel.core.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="this RiskModel is not fitted yet"):
        score(rows, model=RiskModel(features=["a", "c"], categorical=["c"]), audit_log=False)


@pytest.mark.parametrize("order", ["increasing", "decreasing"])
def test_a_sorted_batch_of_text_ids_with_a_stay_sent_twice_side_by_side_is_refused(fitted, order):
    """A feed sorted by id and delivered with one stay twice has the two copies side by side: in order, but not strictly.
    Both are refused; the same batch without the copy is scored whole."""
    model, _, rows = fitted
    ids = [f"S{i:09d}" for i in range(200)]
    batch = rows.iloc[np.resize(np.arange(len(rows)), 201)].reset_index(drop=True)
    batch["stay_id"] = pd.Series(ids[:101] + ids[100:], dtype="str")  # S000000100 on rows 100 and 101
    if order == "decreasing":
        batch = batch.iloc[::-1].reset_index(drop=True)
    flagged = score(batch, model=model, errors="flag", audit_log=False)
    twice = [100, 101] if order == "increasing" else [99, 100]
    assert list(np.flatnonzero(flagged["error"].notna().to_numpy())) == twice
    assert (flagged["error"].iloc[twice] == "stay_id: id given to more than one row").all()
    once = batch.drop(index=twice[1])
    assert score(once, model=model, audit_log=False)["probability"].notna().all()


@pytest.mark.parametrize("dtype", ["str", object, "large_string[pyarrow]"])
def test_id_keys_are_equal_for_equal_ids_and_tell_apart_ids_that_differ_in_length_only(dtype):
    from riskmodel.core.scoring import id_keys

    ids = pd.Series(["S7", "S8", "S7", "S7\x00", "a-much-longer-pseudonymised-stay-identifier-of-64-chars-0000000"], dtype=dtype)
    keys = id_keys(ids)
    assert keys.dtype == np.uint64 and len(keys) == 5
    assert keys[0] == keys[2]
    assert len({int(keys[i]) for i in (0, 1, 4)}) == 3
    # short Arrow text ids are folded from their bytes and length: no collision for ids that differ only by a NUL
    # (pandas' hash, used for other ids, may stop at one: a key seen twice is confirmed on the ids by its callers)
    short = id_keys(pd.Series(["S7", "S7\x00"], dtype="string[pyarrow]"))
    assert short[0] != short[1]
