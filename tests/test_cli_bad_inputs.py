"""Bad files, arguments and configs on the newer commands: one paragraph naming the problem and the documented exit code, never a traceback (issue #15 rerun)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.apps.cli import main
from riskmodel.core.exceptions import ConfigError, SchemaError
from riskmodel.core.forecasting import travel_trends, validate_series
from riskmodel.core.synth.generator import make_crossings


def _series(n: int = 30) -> pd.DataFrame:
    ds = pd.date_range("2018-01-01", periods=n, freq="MS")
    return pd.DataFrame({"unique_id": "port/Batam", "ds": ds, "y": 100.0 + 10 * np.arange(n)})


def _run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse refuses a bad option value itself (usage, exit 2)
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.drop(columns="ds"), "column `ds`: column is missing"),
        (lambda d: d.drop(columns="unique_id"), "column `unique_id`: column is missing"),
        (lambda d: d.astype({"ds": str}).assign(ds=lambda t: t["ds"].where(t.index != 4, "2020-13-45")), "`ds`: values that are not dates ('2020-13-45')"),
        # Indonesia writes dates day first: '02/01/2018' (2 January) was read as 1 February, silently, whenever the day
        # was 1 to 12; the series then held another month's count (or, daily, another day's) and the command exited 0
        (lambda d: d.assign(ds=d["ds"].dt.strftime("%d/%m/%Y")), "`ds`: values that are not dates ('01/01/2018', '01/02/2018', '01/03/2018')"),
    ],
)
@pytest.mark.parametrize("command", ["trends", "forecast", "evaluate-forecasts"])
def test_a_series_file_without_its_columns_or_dates_is_named(tmp_path, capsys, change, match, command):
    path = tmp_path / "history.csv"
    change(_series()).to_csv(path, index=False)
    argv = {"trends": ["trends", path],
            "forecast": ["forecast", "--horizon", "3", "--history", path, "--out", tmp_path / "f.csv", "--quiet"],
            "evaluate-forecasts": ["evaluate-forecasts", path, path]}[command]
    code, err = _run(argv, capsys)
    assert code == 1
    assert match in err


@pytest.mark.parametrize(
    ("level", "out", "match"),
    [("80,abc", "f.csv", "argument --level: 'abc' is not a whole number from 1 to 99"), ("80,95", "f.xlsx", "`--out` must end in .csv or .parquet")],
)
def test_forecast_refuses_a_bad_level_or_output_before_fitting(tmp_path, capsys, monkeypatch, level, out, match):
    monkeypatch.chdir(tmp_path)
    _series().to_csv("history.csv", index=False)
    code, err = _run(["forecast", "--horizon", "3", "--history", "history.csv", "--level", level, "--out", out, "--quiet"], capsys)
    assert code == 2
    assert match in err
    assert not (tmp_path / "f.xlsx").exists()


def test_trends_refuses_a_level_outside_1_to_99_and_a_backcast_over_the_whole_history():
    with pytest.raises(ConfigError, match="`level` must be"):
        travel_trends(_series(), level=200)
    with pytest.raises(ConfigError, match="`backcast`=30 leaves nothing to fit on"):
        travel_trends(_series(24), backcast=30)


def test_a_header_only_file_or_rows_without_a_series_id_are_named_as_such():
    empty = pd.DataFrame({"unique_id": pd.Series(dtype=object), "ds": pd.Series(dtype=object), "y": pd.Series(dtype=object)})
    with pytest.raises(SchemaError, match="has no rows"):
        validate_series(empty)
    d = _series().astype({"unique_id": object})
    d.loc[3, "unique_id"] = None
    with pytest.raises(SchemaError, match=r"`unique_id`: has missing values \(1 row: row 3\)"):
        validate_series(d)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_travellers": 0}, "`n_travellers`"), ({"start": "someday"}, "`start` must be a local date"),
     ({"start": "2023-01-01", "end": "2021-01-01"}, "`end` must be after `start`")],
)
def test_synth_settings_are_config_errors(kwargs, match):
    args = {"n_travellers": 50, "start": "2021-01-01", "end": "2021-03-31"} | kwargs
    with pytest.raises(ConfigError, match=match):
        make_crossings(args.pop("n_travellers"), args.pop("start"), args.pop("end"))


def test_synth_with_a_bad_start_exits_2(tmp_path, capsys):
    code, err = _run(["synth", "--start", "someday", "--out", tmp_path / "s", "--quiet"], capsys)
    assert code == 2 and "argument --start: 'someday' is not a date" in err


@pytest.mark.parametrize(("argv", "match"), [(["--horizon", "-5"], "argument --horizon: -5 is out of range"), (["--forecast-config", "bad.yaml"], "level")])
def test_run_refuses_a_bad_horizon_or_forecast_config_before_any_step(tmp_path, capsys, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("forecaster:\n  level: [80, 'x']\n")
    code, err = _run(["run", "--out", "out", "--travellers", "200", "--quiet", *argv], capsys)
    assert code == 2 and match in err
    assert not (tmp_path / "out" / "data").exists()


@pytest.mark.parametrize("table", ["presence_reports", "permit_applications", "enforcement"])
def test_validate_checks_every_source_table_from_parquet_and_csv(tmp_path, capsys, table):
    from riskmodel.core.sources.generate import make_sources

    tables = make_sources(make_crossings(300, "2022-01-01", "2022-12-31", seed=2), seed=2).tables()
    good = tables[table]
    good.to_csv(tmp_path / "good.csv", index=False)
    assert main(["validate", "--table", table, str(tmp_path / "good.csv")]) == 0
    bad = good.copy()
    bad.iloc[1, 0] = bad.iloc[0, 0]  # a repeated record id
    bad.to_parquet(tmp_path / "bad.parquet", index=False)
    assert main(["validate", "--table", table, str(tmp_path / "bad.parquet")]) == 1
    # two copies of one application at two known_at are an update read again, named as such (h12-redteam's T16)
    words = "the same application at several `known_at`" if table == "permit_applications" else "duplicate ids"
    assert words in capsys.readouterr().out


def test_synth_sources_names_the_missing_file(tmp_path, capsys):
    code, err = _run(["synth-sources", "--data", tmp_path], capsys)
    assert code == 3
    assert f"`{tmp_path / 'crossings.parquet'}`" in err


def test_a_break_over_the_whole_history_is_refused_not_ignored():
    from riskmodel.core.forecasting import Forecaster

    with pytest.raises(ConfigError, match=r"every period of 1 series \(port/Batam\) lies inside the declared `breaks`"):
        Forecaster(h=3, level=(95,), breaks=[("2000-01-01", "2030-12-31")]).fit(_series())
    # a break over part of the history, or outside it, still fits
    assert len(Forecaster(h=3, level=(95,), breaks=[("2030-01-01", "2030-12-31")]).fit(_series()).predict()) == 3


@pytest.mark.parametrize(("table", "drop", "match"), [("scored", "risk_band", "`risk_band`: column is missing"), ("forecasts", "y_hat", "`y_hat`: column is missing")])
def test_the_report_names_a_missing_column(tmp_path, table, drop, match):
    from riskmodel.apps.report import ReportInputs, write_report

    scored = pd.DataFrame({"probability": [0.1, 0.7], "risk_band": ["low", "high"]})
    forecasts = _series(3).rename(columns={"y": "y_hat"})
    tables = {"scored": scored, "forecasts": forecasts}
    tables[table] = tables[table].drop(columns=drop)
    with pytest.raises(SchemaError, match=match):
        write_report(tmp_path / "r.html", ReportInputs(**tables))
    assert not (tmp_path / "r.html").exists()


def test_validate_refuses_a_csv_date_that_is_no_date_rather_than_read_it_as_missing(tmp_path, capsys):
    """A CSV's datetime columns were parsed with errors='coerce': '2042-13-01' (month 13) or '12/02/2042' became
    missing. In a column the contract lets be missing that is a meaning, not a gap: `ban_until` missing is "a ban
    without end", so both rows passed `riskmodel validate` (exit 0) as bans without end. On pandas 2 '9999-12-31',
    the "no end" placeholder the ban bound refuses, did the same (past its nanosecond range). Now each is named,
    with its rows; a ban left empty is still a ban without end.
    """
    head = "record_id,traveller_id,document_id,action,action_at,known_at,overstay_days,amount_idr,ban_until\n"
    rows = ["E0,T1,D1,entry_ban,2022-02-12 09:00,2022-02-13 09:00,75,,2023-02-12",
            "E1,T1,D1,entry_ban,2022-02-12 09:00,2022-02-13 09:00,75,,2042-13-01",
            "E2,T1,D1,entry_ban,2022-02-12 09:00,2022-02-13 09:00,75,,12/02/2042",
            "E3,T1,D1,entry_ban,2022-02-12 09:00,2022-02-13 09:00,75,,"]
    path = tmp_path / "enforcement.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    code, err = _run(["validate", "--table", "enforcement", path], capsys)
    assert code == 1
    assert "`ban_until`: values that are not dates ('2042-13-01', '12/02/2042') (2 rows: row 1, row 2)" in err
    fine = tmp_path / "fine.csv"
    fine.write_text(head + "\n".join(rows[::3]) + "\n", encoding="utf-8")
    assert _run(["validate", "--table", "enforcement", fine], capsys)[0] == 0
    placeholder = tmp_path / "placeholder.csv"
    placeholder.write_text(head + rows[0].replace("2023-02-12", "9999-12-31") + "\n", encoding="utf-8")
    assert _run(["validate", "--table", "enforcement", placeholder], capsys)[0] == 1


def test_validate_refuses_a_word_pandas_reads_as_the_clock(tmp_path, capsys):
    """pandas' ISO 8601 reader takes 'today' for the moment of reading: a ban until `today` passed `riskmodel validate`
    as a ban ending on the day the file was read, and the same row read again next week said something else."""
    code, err = _validate_bans(tmp_path, capsys, ["2023-02-12", "today"])
    assert code == 1
    assert "`ban_until`: values that are not dates ('today') (1 row: row 1)" in err


def _validate_bans(tmp_path, capsys, ban_until):
    """`riskmodel validate` on an enforcement CSV of entry bans, one per `ban_until` value: (exit code, stderr)."""
    head = "record_id,traveller_id,document_id,action,action_at,known_at,overstay_days,amount_idr,ban_until\n"
    rows = [f"E{i},T1,D1,entry_ban,2022-02-12 09:00,2022-02-13 09:00,75,,{v}" for i, v in enumerate(ban_until)]
    path = tmp_path / "bans.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    return _run(["validate", "--table", "enforcement", path], capsys)


def test_features_refuses_text_times_in_parquet_it_cannot_read_as_iso(tmp_path, capsys):
    """`riskmodel features` read a Parquet log's text times with errors="coerce": a `permit_end` of 'unknown' became
    missing, the stay's permit end unknown (no overstay counted), and '08/02/2022' was read as 2 August. CSV was
    already ISO 8601 only; Parquet text is now read the same way, named with its rows."""
    crossings = make_crossings(20, "2022-01-01", "2022-06-30", seed=0).crossings
    text = crossings.assign(timestamp=crossings["timestamp"].astype(str), permit_end=crossings["permit_end"].astype(str))
    bad = text.assign(permit_end=text["permit_end"].where(text.index != 2, "unknown").where(text.index != 4, "08/02/2022"))
    bad.to_parquet(tmp_path / "log.parquet")
    code, err = _run(["features", "--quiet", tmp_path / "log.parquet", tmp_path / "f.parquet"], capsys)
    assert code == 1 and "`permit_end`: values that are not dates ('unknown', '08/02/2022') (2 rows: row 2, row 4)" in err, err
    assert not (tmp_path / "f.parquet").exists()
    text.to_parquet(tmp_path / "fine.parquet")  # ISO text is read
    assert _run(["features", "--quiet", tmp_path / "fine.parquet", tmp_path / "f.parquet"], capsys)[0] == 0


def test_a_database_table_with_a_word_for_a_time_is_refused():
    """The database reader read text times with pandas' ISO 8601 reader, which takes 'now' for the moment of reading."""
    from riskmodel.core.datasets import make_crossings
    from riskmodel.integrations.database.tables import coerce

    crossings = make_crossings(5, "2022-01-01", "2022-03-31", seed=0).crossings.head(3)
    text = crossings.astype({"timestamp": object}).assign(timestamp=lambda d: d["timestamp"].astype(str))
    coerce("crossings", text)  # ISO text is read
    with pytest.raises(SchemaError, match=rf"`timestamp`: values that are not dates \('now'\) \(1 row: {text['crossing_id'].iat[1]}\)"):
        coerce("crossings", text.assign(timestamp=[text["timestamp"].iat[0], "now", text["timestamp"].iat[2]]))


def test_validate_reads_a_csv_nat_or_blank_date_as_missing(tmp_path, capsys):
    """Only a value that is no date is refused: 'NaT' (what `astype(str)` writes for a missing time) and a cell of
    spaces are missing times, as an empty cell is. Here each is the `ban_until` of a ban without end."""
    head = "record_id,traveller_id,document_id,action,action_at,known_at,overstay_days,amount_idr,ban_until\n"
    rows = [f"E{i},T1,D1,entry_ban,2022-02-12 09:00,2022-02-13 09:00,75,,{v}" for i, v in enumerate(["NaT", "  ", "nat", ""])]
    path = tmp_path / "enforcement.csv"
    path.write_text(head + "\n".join(rows) + "\n", encoding="utf-8")
    code, err = _run(["validate", "--table", "enforcement", path], capsys)
    assert code == 0, err


@pytest.mark.parametrize("command", ["trends", "forecast", "evaluate-forecasts"])
def test_a_series_csv_with_a_dot_between_thousands_is_refused_not_read_as_fractions(tmp_path, capsys, command):
    # Excel in an Indonesian locale writes 1030 arrivals as '1.030': pandas read it as 1.03, and a port's ~1,000 a
    # month were forecast (or judged) as ~1, exit 0. Months 10 to 29 hold 1000 to 1570: 20 rows so written.
    series = _series().assign(y=700 + 30 * np.arange(30))
    series["y"] = [f"{v:,}".replace(",", ".") for v in series["y"]]
    path = tmp_path / "history.csv"
    series.to_csv(path, index=False)
    argv = {"trends": ["trends", path],
            "forecast": ["forecast", "--horizon", "3", "--history", path, "--out", tmp_path / "f.csv", "--quiet"],
            "evaluate-forecasts": ["evaluate-forecasts", path, path]}[command]
    code, err = _run(argv, capsys)
    assert code == 1
    assert "column `y`: whole numbers written with '.' between groups of three digits ('1.000', '1.030', '1.060')" in err
    assert "(20 rows: row 10, row 11, row 12, row 13, row 14, ...)" in err
    assert "write the counts without thousands separators (1000, not 1.000)" in err
    assert not (tmp_path / "f.csv").exists()


def test_a_series_csv_of_plain_fractions_is_read_as_written(tmp_path):
    from riskmodel.apps.cli.command import read_series

    # '1.125' beside '2.5' and '100.25' is a fraction among fractions, not a thousands separator
    path = tmp_path / "history.csv"
    _series(3).assign(y=["1.125", "2.5", "100.25"]).to_csv(path, index=False)
    assert read_series(path)["y"].tolist() == [1.125, 2.5, 100.25]
