"""Reading CSV files: ids as text, where only an empty field is a missing id."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

import pandas as pd
import pytest

from riskmodel.core.config import load_config
from riskmodel.core.datasets import make_crossings
from riskmodel.core.risk.config import RiskConfig

#: ids pandas' defaults read as missing values: a traveller, a document or a crossing may be called so
NA_LOOKING = ("NA", "null", "None", "N/A", "NaN", "n/a", "NULL", "nan", "#N/A", "<NA>")


def _log_csv(tmp_path):
    """A small crossings log whose first travellers are called as NA_LOOKING, one document `NA`, as CSV."""
    log = make_crossings(40, "2019-01-01", "2019-03-31", seed=2).crossings
    first = list(dict.fromkeys(log["traveller_id"]))[: len(NA_LOOKING)]
    log["traveller_id"] = log["traveller_id"].replace(dict(zip(first, NA_LOOKING, strict=True)))
    log["document_id"] = log["document_id"].astype(object)
    log.loc[0, "document_id"] = "NA"
    log.loc[1, "document_id"] = None  # an empty field: a missing document id (the contract allows it)
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    return log, path


def _check_ids(got: pd.DataFrame, log: pd.DataFrame) -> None:
    assert got["traveller_id"].tolist() == log["traveller_id"].astype(str).tolist()
    assert got.loc[0, "document_id"] == "NA" and pd.isna(got.loc[1, "document_id"])


def test_the_batch_reader_keeps_ids_that_look_like_missing_values(tmp_path):
    """pandas reads "NA", "null", "None", "N/A", ... as missing: a traveller so called lost their id."""
    from riskmodel.integrations.batch.jobs import iter_chunks

    log, path = _log_csv(tmp_path)
    _check_ids(pd.concat(iter_chunks(path, 7), ignore_index=True), log)


def test_the_training_pipeline_keeps_ids_that_look_like_missing_values(tmp_path):
    from riskmodel.apps.pipelines.risk import load_crossings
    from tests.conftest import REPO

    log, path = _log_csv(tmp_path)
    cfg = load_config(REPO / "configs" / "risk.yaml", RiskConfig)
    got, _ = load_crossings(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, crossings_path=str(path))))
    _check_ids(got, log)


def test_the_command_line_keeps_ids_that_look_like_missing_values(tmp_path):
    from riskmodel.apps.cli.command import read_table

    log, path = _log_csv(tmp_path)
    _check_ids(read_table(path), log)


def test_other_columns_still_read_pandas_missing_markers_as_missing(tmp_path):
    # only the ids change: a port "NA" or a party size "null" in a CSV is still a missing value, as pandas reads it
    from riskmodel.integrations.batch.jobs import iter_chunks

    path = tmp_path / "t.csv"
    path.write_text("crossing_id,traveller_id,port,group_size\nNA,N/A,NA,null\nC2,,Batam,3\n")
    got = next(iter_chunks(path, 10))
    assert got["crossing_id"].tolist()[0] == "NA" and got["traveller_id"].tolist()[0] == "N/A"
    assert pd.isna(got.loc[1, "traveller_id"])  # an empty field is a missing id
    assert pd.isna(got.loc[0, "port"]) and pd.isna(got.loc[0, "group_size"]) and got.loc[1, "group_size"] == 3


def test_pseudonymise_file_keeps_ids_that_look_like_missing_values(tmp_path):
    """A traveller called "NA" was written with a blank pseudonym: every crossing of theirs linked to nobody."""
    from riskmodel.core.privacy import pseudonymise_file

    key = "k" * 32
    log, path = _log_csv(tmp_path)
    pseudonymise_file(path, tmp_path / "out.csv", key=key)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    mine = log["traveller_id"].eq("NA").to_numpy()
    assert mine.sum() >= 1
    # the pseudonym of the text "NA", by hand: HMAC-SHA256 of it under the key, 20 hex digits after "P"
    assert set(out.loc[mine, "traveller_id"]) == {"P" + hmac.new(key.encode(), b"NA", hashlib.sha256).hexdigest()[:20]}
    assert (out["traveller_id"] != "").all()
    assert out.loc[0, "document_id"] == "P" + hmac.new(key.encode(), b"NA", hashlib.sha256).hexdigest()[:20]
    assert out.loc[1, "document_id"] == ""  # a missing document id stays missing


def test_a_series_csv_keeps_a_series_called_na(tmp_path):
    # Namibia's two-letter code is NA: a series of that name was read as a series without an id
    from riskmodel.apps.pipelines.forecast import load_series
    from riskmodel.core.forecasting.config import ForecastConfig, ForecastDataConfig

    path = tmp_path / "series.csv"
    path.write_text("unique_id,ds,y\nNA,2024-01-01,10\nSG,2024-01-01,20\nNA,2024-02-01,11\nSG,2024-02-01,21\n")
    df, _, _ = load_series(ForecastConfig(data=ForecastDataConfig(series_path=str(path))))
    assert df["unique_id"].tolist() == ["NA", "SG", "NA", "SG"]


_SEMICOLON = ("column `<header>`: the header is one column, 'unique_id;ds;y': the fields are separated by ';', not by commas. "
              "Fix: save the file as CSV with commas between fields")


def test_a_semicolon_separated_csv_is_named_as_such_where_every_reader_opens_it(tmp_path, fitted, capsys):
    # Excel in a locale that writes decimal commas (Indonesian, most of Europe) saves CSV with ';' between fields: the
    # header read as one column, and every command said each column was missing ("rename yours", "add `visa_type`")
    from riskmodel.apps.cli import main
    from riskmodel.apps.pipelines.forecast import load_series
    from riskmodel.core.csv_files import check_csv
    from riskmodel.core.exceptions import SchemaError
    from riskmodel.core.forecasting.config import ForecastConfig, ForecastDataConfig

    path = tmp_path / "series.csv"
    path.write_text("unique_id;ds;y\na;2024-01-01;10\na;2024-02-01;11\n", encoding="utf-8-sig")
    with pytest.raises(SchemaError) as err:
        check_csv(path)
    assert _SEMICOLON in str(err.value)
    with pytest.raises(SchemaError) as err:  # train forecast's data.series_path
        load_series(ForecastConfig(data=ForecastDataConfig(series_path=str(path))))
    assert _SEMICOLON in str(err.value)
    rows = fitted[2].head(3)
    rows.to_csv(tmp_path / "stays.csv", index=False, sep=";")
    capsys.readouterr()
    assert main(["score", str(tmp_path / "stays.csv"), str(tmp_path / "out.csv"), "--model", str(fitted[1]), "--quiet"]) == 1
    assert "the fields are separated by ';', not by commas" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_a_one_column_csv_without_a_semicolon_is_read_as_before(tmp_path):
    from riskmodel.core.csv_files import check_csv

    path = tmp_path / "ids.csv"
    path.write_text("stay_id\nC1\nC2\n")
    check_csv(path)


def test_a_year_alone_is_no_date_in_any_text_time_reader():
    # a spreadsheet cell formatted to show the year saves '2030': pandas' ISO 8601 reader took it for 1 January 2030,
    # so a ban "until 2030" ended on its first day, a permit on New Year's Day, without a word
    from riskmodel.apps.cli.command import read_text_times
    from riskmodel.core.csv_files import iso_dates, iso_time
    from riskmodel.core.exceptions import SchemaError

    values = pd.Series(["2030-12-31", " 2030", "2031-06"], dtype=object)
    with pytest.raises(SchemaError, match=r"`ban_until`: values that are not dates \(' 2030'\) \(1 row: row 1\)"):
        iso_dates(values, "ban_until", "enforcement.csv")
    df = pd.DataFrame({"ban_until": values})
    [problem] = read_text_times(df, ["ban_until"])
    assert (problem.column, problem.record_ids, problem.n_rows) == ("ban_until", ("row 1",), 1)
    with pytest.raises(ValueError, match="'2030' is not a date in ISO 8601"):
        iso_time("2030")
    assert iso_time("2031-06") == pd.Timestamp("2031-06-01")  # a month stays a month (monthly series are dated so)
