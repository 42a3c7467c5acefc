"""A folder of Parquet files read as one table: files that disagree on a column are refused whatever their order.

pyarrow reads a folder with its first file's schema and casts the others to it: a file whose times carry a zone
became their UTC clock time (seven hours from Jakarta's), a column missing from a file became empty, and the same
files renamed gave an error instead. Spark failed with a Java stack trace on some orders and read others
(tests/test_spark_nightly.py holds the Spark side).
"""

from __future__ import annotations

import pandas as pd
import pytest

from riskmodel.apps.cli import main
from riskmodel.apps.cli.exits import EXIT_INPUT
from riskmodel.core.exceptions import UnreadableFileError
from riskmodel.core.parquet_parts import parts_problems, read_parquet
from riskmodel.core.synth.generator import make_crossings


def _base() -> pd.DataFrame:
    return pd.DataFrame({
        "crossing_id": ["c1", "c2"],
        "timestamp": pd.to_datetime(["2024-03-01 09:00", "2024-03-02 18:30"]),
        "group_size": pd.array([1, 3], dtype="Int32"),
        "port": ["Batam", "Ngurah Rai"],
    })


CHANGES = {
    "text times": (lambda d: d.assign(timestamp=d["timestamp"].astype(str)), "timestamp", "text"),
    "zone-aware times": (lambda d: d.assign(timestamp=d["timestamp"].dt.tz_localize("Asia/Jakarta")), "timestamp",
                         "date-times in zone Asia/Jakarta"),
    "decimals": (lambda d: d.assign(group_size=[1.5, 2.0]), "group_size", "decimal numbers"),
}
BASE_KIND = {"timestamp": "date-times without a zone", "group_size": "whole numbers"}


def _folder(tmp_path, first: pd.DataFrame, second: pd.DataFrame):
    first.to_parquet(tmp_path / "a.parquet", index=False)
    second.to_parquet(tmp_path / "b.parquet", index=False)
    return tmp_path


@pytest.mark.parametrize("name", list(CHANGES))
@pytest.mark.parametrize("changed_first", [False, True])
def test_files_that_disagree_on_a_column_are_named_in_either_order(tmp_path, name, changed_first):
    change, column, kind = CHANGES[name]
    base, other = _base(), change(_base())
    folder = _folder(tmp_path, other, base) if changed_first else _folder(tmp_path, base, other)
    problems = parts_problems(sorted(folder.glob("*.parquet")), root=folder)
    assert [p.column for p in problems] == [column]
    sides = [f"a.parquet holds {kind}", f"b.parquet holds {BASE_KIND[column]}"] if changed_first else \
        [f"a.parquet holds {BASE_KIND[column]}", f"b.parquet holds {kind}"]
    assert problems[0].problem == "the files disagree on its values: " + ", ".join(sides)
    assert f"write `{column}` with one type in every file" in problems[0].fix


def test_a_column_missing_from_one_file_is_named_with_that_file(tmp_path):
    folder = _folder(tmp_path, _base(), _base().drop(columns="port"))
    problems = parts_problems(sorted(folder.glob("*.parquet")), root=folder)
    assert [(p.column, p.problem) for p in problems] == [
        ("port", "held by some of the folder's files and not others: b.parquet has no such column")]


def test_widths_units_categories_empty_columns_and_the_index_are_no_disagreement(tmp_path):
    base = _base()
    other = base.assign(timestamp=base["timestamp"].astype("datetime64[ms]"), group_size=base["group_size"].astype("int64"),
                        port=base["port"].astype("category"))
    exits_only = base.assign(group_size=[float("nan")] * 2)  # an exit-only file: entry fields all missing, as floats
    base.to_parquet(tmp_path / "a.parquet", index=False)
    other.to_parquet(tmp_path / "b.parquet", index=True)  # pandas' index written beside the columns
    exits_only.to_parquet(tmp_path / "c.parquet", index=False)
    assert parts_problems(sorted(tmp_path.glob("*.parquet")), root=tmp_path) == []
    assert len(read_parquet(tmp_path)) == 6


def test_read_parquet_refuses_such_a_folder_and_the_cli_says_so(tmp_path, capsys):
    log = make_crossings(30, "2022-01-01", "2022-12-31", seed=3).crossings
    folder = tmp_path / "log"
    folder.mkdir()
    half = len(log) // 2
    log.iloc[:half].to_parquet(folder / "day-1.parquet", index=False)
    # the second writer kept the zone: read by the first file's schema, every time was its UTC clock time, 7 hours off
    later = log.iloc[half:]
    later.assign(timestamp=later["timestamp"].dt.tz_localize("Asia/Jakarta")).to_parquet(folder / "day-2.parquet", index=False)
    with pytest.raises(UnreadableFileError, match=r"column `timestamp`: the files disagree on its values: day-1.parquet "
                                                  r"holds date-times without a zone, day-2.parquet holds date-times in zone Asia/Jakarta"):
        read_parquet(folder)
    code = main(["features", "--quiet", str(folder), str(tmp_path / "f.parquet")])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT and "day-2.parquet holds date-times in zone Asia/Jakarta" in err, err
    assert not (tmp_path / "f.parquet").exists()
