"""The main job's settings object: overrides by name, and a typo refused before anything runs."""

from __future__ import annotations

import pytest

from riskmodel.apps.pipelines.main_job import MainJobSettings, run_main_job
from riskmodel.core.exceptions import ConfigError


def test_unknown_setting_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['traveller'\].*'travellers'"):
        run_main_job(tmp_path / "out", traveller=100)
    assert not (tmp_path / "out").exists()


def test_data_key_follows_the_data_settings_only():
    base = MainJobSettings()
    assert base.data_key() == MainJobSettings(horizon=30).data_key()
    assert base.data_key() != MainJobSettings(seed=1).data_key()


def test_keyword_overrides_replace_fields_of_the_given_settings():
    """run_main_job(out, travellers=8000, start=...) keeps working beside run_main_job(out, settings)."""
    from riskmodel.apps.pipelines.main_job import _with_overrides

    got = _with_overrides(MainJobSettings(seed=3), {"travellers": 8000, "start": "2018-01-01"})
    assert got == MainJobSettings(travellers=8000, start="2018-01-01", seed=3)


@pytest.mark.parametrize("which", ["forecast_config", "nationality_forecast_config"])
def test_a_forecaster_config_that_is_not_daily_is_refused_before_any_work(which):
    """The main job forecasts `horizon` DAYS and staffs each forecast row as a day: the monthly configs/forecast.yaml
    was trained, promoted and asked for 90 months, a month's arrivals staffed in one day (review13train 05)."""
    from tests.conftest import REPO

    monthly = REPO / "configs" / "forecast.yaml"
    assert "freq: M" in monthly.read_text()
    with pytest.raises(ConfigError, match=rf"`{which}` .*forecast.yaml.* `series.freq` is 'M'.*daily \(`freq: D`\)"):
        MainJobSettings(**{which: monthly}).check()  # what run_main_job calls before any step


def test_a_horizon_past_the_event_calendar_is_refused_before_any_work():
    """check() promises a bad horizon is refused "now, not after the steps before the one that reads it"; one past the
    calendar's end (2050-12-31) passed it, and `riskmodel run --horizon 100000` trained every model before failing."""
    MainJobSettings(end="2050-12-01", horizon=30).check()  # 30 days after 1 December 2050 is 31 December, the last
    with pytest.raises(ConfigError, match=r"31 days after the last period 2050-12-01 reaches past the event calendar's end 2050-12-31"):
        MainJobSettings(end="2050-12-01", horizon=31).check()
    with pytest.raises(ConfigError, match=r"reaches past the event calendar's end"):
        MainJobSettings(horizon=100_000).check()


def test_an_operations_port_misspelt_is_refused_before_any_work(tmp_path):
    """configs/operations.yaml: "a name that is no port is refused, never ignored". It was, but by expected_workload at
    step 6/7, after the risk model and both forecasters had trained (half an hour on the shared box); the main job's
    data are synthetic, so its ports are the reference table's and check() can name the typo at once."""
    from tests.conftest import REPO

    shipped = (REPO / "configs" / "operations.yaml").read_text(encoding="utf-8")
    assert "\n  Juanda: 60\n" in shipped
    typo = tmp_path / "operations.yaml"
    typo.write_text(shipped.replace("\n  Juanda: 60\n", "\n  Juandaa: 60\n"), encoding="utf-8")
    MainJobSettings().check()  # the shipped one passes
    with pytest.raises(ConfigError, match=r"\['Juandaa'\].*Fix: spell the port"):
        MainJobSettings(operations_config=typo).check()


def test_the_main_job_does_not_reuse_data_another_command_wrote_in_its_folder(tmp_path):
    """`riskmodel synth`'s default --out is riskmodel-output/data, the main job's data folder: after `riskmodel run`, a
    `riskmodel synth` (20,000 travellers) or `riskmodel synth-sources --data riskmodel-output/data` (renewed document
    numbers) rewrote crossings.parquet, and the next `riskmodel run` said "reusing synthetic data" and read it as the
    data its settings made. Data it did not write are made again."""
    from riskmodel.apps.pipelines.main_job import _data_step, _Run
    from riskmodel.core.datasets import make_crossings

    settings = MainJobSettings(travellers=150, start="2019-01-01", end="2019-03-31", seed=1)
    lines: list[str] = []
    run = _Run(out=tmp_path, settings=settings, state={}, progress=lines.append)
    first = _data_step(run)
    assert _data_step(run).equals(first) and lines[-1].startswith("1/7 reusing synthetic data")
    other = make_crossings(120, "2019-01-01", "2019-03-31", seed=7).crossings  # what `riskmodel synth --out <there>` writes
    other.to_parquet(tmp_path / "data" / "crossings.parquet", index=False)
    again = _data_step(run)
    assert not lines[-1].startswith("1/7 reusing"), lines[-1]
    assert again.equals(first)  # made again from the settings: the same seed gives the same log


def test_the_report_says_first_that_its_data_are_synthetic_and_as_of_their_end():
    """The main job draws its report as of the night at its synthetic data's end: made on 2026-12-07 it read "Tomorrow
    is Monday 01 January 2024" with no caution, and that the data are synthetic only in the appendix's last table."""
    import datetime as dt

    import pandas as pd

    from riskmodel.apps.pipelines.main_job import _as_of_caution

    settings = MainJobSettings(travellers=12_000, start="2018-01-01")
    [(title, text)] = _as_of_caution(settings, pd.Timestamp("2024-01-01"), dt.date(2026, 12, 7)).items()
    assert title == "Synthetic data, as of its end"
    for part in ("synthetic generator (12,000 travellers, 2018-01-01 .. 2023-12-31, seed 0)", "not from real crossings",
                 '"tomorrow" is Monday 01 January 2024, the day after the data end', "not the day after this report was made (2026-12-07)"):
        assert part in text, (part, text)
    [(_, text)] = _as_of_caution(settings, pd.Timestamp("2024-01-01"), dt.date(2023, 12, 31)).items()  # a run that night
    assert "synthetic generator" in text and "not the day after" not in text, text
