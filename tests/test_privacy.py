"""Keyed pseudonyms and the append-only audit log."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from riskmodel import ConfigError, SchemaError
from riskmodel.core import audit
from riskmodel.core.exceptions import UnreadableFileError
from riskmodel.core.privacy import IDENTIFIER_COLUMNS, KEY_ENV, pseudonymise, pseudonymise_file, pseudonymise_table

KEY = "test-key-0123456789abcdef-0123456789"  # >= 32 bytes


def test_same_key_same_pseudonym_other_key_other_pseudonym():
    a = pseudonymise(["X1", "X2", "X1"], key=KEY)
    b = pseudonymise(["X1"], key=KEY + "!")
    assert a[0] == a[2] != a[1]
    assert a[0] != b[0]
    assert all(p.startswith("P") and "X1" not in p for p in a)


def test_missing_values_stay_missing():
    out = pseudonymise(pd.Series(["A", None, np.nan]), key=KEY)
    assert out[0] is not None and out[1] is None and out[2] is None


def test_key_from_environment_and_errors(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=rf"set the environment variable {KEY_ENV}"):
        pseudonymise(["A"])
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError, match="at least 32 bytes; got 5"):
        pseudonymise(["A"])
    with pytest.raises(ConfigError, match="at least 32 bytes; got 31"):
        pseudonymise(["A"], key="x" * 31)  # 16 bytes was enough before
    monkeypatch.setenv(KEY_ENV, KEY)
    assert pseudonymise(["A"])[0] == pseudonymise(["A"], key=KEY)[0]


def test_table_keeps_joins(small_data):
    c = small_data.crossings.head(3000)
    p = pseudonymise_table(c, key=KEY)
    assert not set(p["traveller_id"]) & set(c["traveller_id"])
    assert p["traveller_id"].nunique() == c["traveller_id"].nunique()
    assert (p.groupby("traveller_id").size().sort_values().to_numpy() == c.groupby("traveller_id").size().sort_values().to_numpy()).all()


def test_audit_appends_whole_lines_from_many_threads(tmp_path, monkeypatch):
    monkeypatch.setenv(audit.AUDIT_ENV, str(tmp_path / "audit.jsonl"))

    def work(i):
        for j in range(50):
            audit.append("score", model_name="m", model_version=str(i), rows=j, purpose="test")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = audit.read()
    assert len(records) == 400
    assert sorted((r["model_version"], r["rows"]) for r in records) == sorted((str(i), j) for i in range(8) for j in range(50))


def test_digest_changes_with_content():
    a = np.array([[1.0, 2.0]])
    assert audit.digest(a) == audit.digest(a.copy())
    assert audit.digest(a) != audit.digest(a + 1)


def test_cli_pseudonymise(tmp_path, small_data, monkeypatch, capsys):
    from riskmodel.apps.cli import main

    monkeypatch.setenv(KEY_ENV, KEY)
    small_data.crossings.head(500).to_parquet(tmp_path / "raw.parquet", index=False)
    assert main(["pseudonymise", str(tmp_path / "raw.parquet"), str(tmp_path / "safe.parquet")]) == 0
    safe = pd.read_parquet(tmp_path / "safe.parquet")
    raw = small_data.crossings.head(500)
    assert not set(safe["traveller_id"]) & set(raw["traveller_id"])
    assert not set(safe["document_id"].dropna()) & set(raw["document_id"].dropna())
    monkeypatch.delenv(KEY_ENV)
    assert main(["pseudonymise", str(tmp_path / "raw.parquet"), str(tmp_path / "x.parquet")]) == 2
    assert KEY_ENV in capsys.readouterr().err


def test_digest_of_a_large_input_still_changes_with_content():
    big = np.random.default_rng(0).random((200_000, 5))
    changed = big.copy()
    changed[1234, 2] += 1e-6  # a row the sampled part does not cover
    assert audit.digest(big) == audit.digest(big.copy())
    assert audit.digest(big) != audit.digest(changed)


def test_digest_does_not_depend_on_memory_layout():
    # the batch path encodes column-major, the single-record path row-major: same values, same digest
    big = np.random.default_rng(1).random((100_000, 7))
    assert audit.digest(big) == audit.digest(np.asfortranarray(big))
    small = big[:10]
    assert audit.digest(small) == audit.digest(np.asfortranarray(small))


def test_category_ids_keep_their_values(small_data):
    c = small_data.crossings.head(1000)
    cat = c.astype({"traveller_id": "category", "document_id": "category"})
    p = pseudonymise_table(cat, key=KEY)
    assert isinstance(p["traveller_id"].dtype, pd.CategoricalDtype)
    assert p["traveller_id"].notna().all()  # the old cast back to the raw categories made every id NaN
    assert (p["document_id"].isna() == c["document_id"].isna()).all()
    plain = pseudonymise_table(c, key=KEY)
    assert list(p["traveller_id"].astype(str)) == list(plain["traveller_id"].astype(str))


def test_every_dtype_gives_the_same_pseudonym_for_the_same_id():
    ids = {"int": pd.Series([123, 7, 123]), "float": pd.Series([123.0, 7.0, 123.0]), "text": pd.Series(["123", "7", "123"])}
    out = {k: list(pseudonymise_table(pd.DataFrame({"traveller_id": v}), key=KEY)["traveller_id"]) for k, v in ids.items()}
    assert out["int"] == out["float"] == out["text"]
    assert out["int"][0] == out["int"][2] != out["int"][1]


def test_misspelt_or_absent_column_is_refused_never_skipped(small_data):
    c = small_data.crossings.head(50)
    with pytest.raises(SchemaError, match=r"column `traveler_id`: column to pseudonymise does not exist.*did you mean `traveller_id`\?"):
        pseudonymise_table(c, ["traveler_id"], key=KEY)
    with pytest.raises(SchemaError, match=r"none of the identifier columns \['traveller_id', 'document_id'\] is present"):
        pseudonymise_table(c[["crossing_id", "port"]], key=KEY)


def test_default_covers_every_pseudonymised_column_of_the_contract(small_data):
    from riskmodel.core.schema import CROSSINGS, STAYS

    described = {col.name for col in CROSSINGS + STAYS if "pseudonymised" in col.description.lower()}
    assert described == set(IDENTIFIER_COLUMNS)
    stays = small_data.stays.head(50)  # no document_id: the identifiers present are pseudonymised
    p = pseudonymise_table(stays, key=KEY)
    assert not set(p["traveller_id"]) & set(stays["traveller_id"])


def test_file_reads_ids_as_text_and_matches_parquet(tmp_path):
    raw = pd.DataFrame({"traveller_id": ["00123", "0123", "123", None], "document_id": ["D1", "D2", "D3", "D4"], "n": [1, 2, 3, 4]})
    raw.to_csv(tmp_path / "raw.csv", index=False)
    raw.to_parquet(tmp_path / "raw.parquet", index=False)
    rows, cols = pseudonymise_file(tmp_path / "raw.csv", tmp_path / "safe.csv", key=KEY)
    assert rows == 4 and cols == ["traveller_id", "document_id"]
    pseudonymise_file(tmp_path / "raw.parquet", tmp_path / "safe.parquet", key=KEY)
    from_csv = pd.read_csv(tmp_path / "safe.csv", dtype=str)
    from_parquet = pd.read_parquet(tmp_path / "safe.parquet")
    assert from_csv["traveller_id"].iloc[:3].nunique() == 3  # three people stay three people
    assert list(from_csv["traveller_id"].iloc[:3]) == list(from_parquet["traveller_id"].iloc[:3])
    assert pd.isna(from_csv["traveller_id"].iloc[3]) and pd.isna(from_parquet["traveller_id"].iloc[3])
    with pytest.raises(SchemaError, match=r"`traveler_id`: column to pseudonymise does not exist"):
        pseudonymise_file(tmp_path / "raw.csv", tmp_path / "x.csv", ["traveler_id"], key=KEY)
    assert not (tmp_path / "x.csv").exists() and not list(tmp_path.glob(".*.tmp-*"))


def test_a_repeated_id_column_in_a_csv_header_is_refused_not_left_raw(tmp_path):
    """pandas reads a second `traveller_id` header as `traveller_id.1`, which was written out with the raw ids."""
    (tmp_path / "dup.csv").write_text("traveller_id,n,traveller_id\nT1,1,T9\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"`traveller_id`: column name appears 2 times in the header"):
        pseudonymise_file(tmp_path / "dup.csv", tmp_path / "safe.csv", key=KEY)
    assert not (tmp_path / "safe.csv").exists()


def test_a_repeated_id_column_behind_a_byte_order_mark_is_refused_not_left_raw(tmp_path):
    """A CSV saved as Excel's "CSV UTF-8" starts with a byte-order mark: the header check compared '\\ufefftraveller_id'
    with 'traveller_id' (two names) while pandas drops the mark and renamed the copy `traveller_id.1`, written out with
    the raw ids beside the pseudonymised column."""
    (tmp_path / "dup.csv").write_bytes("\ufefftraveller_id,n,traveller_id\nT1,1,T9\n".encode("utf-8"))
    with pytest.raises(SchemaError, match=r"`traveller_id`: column name appears 2 times in the header"):
        pseudonymise_file(tmp_path / "dup.csv", tmp_path / "safe.csv", key=KEY)
    assert not (tmp_path / "safe.csv").exists()


def test_a_csv_cut_off_mid_row_is_refused_before_pseudonymising(tmp_path):
    (tmp_path / "cut.csv").write_text("traveller_id,document_id,n\nT1,D1,1\nT2,D2", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match="cut off"):
        pseudonymise_file(tmp_path / "cut.csv", tmp_path / "safe.csv", key=KEY)
    assert not (tmp_path / "safe.csv").exists()


@pytest.mark.parametrize(("name", "content"), [("absent.csv", None), ("broken.parquet", b"PAR1 not parquet"), ("empty.csv", b"")])
def test_an_unreadable_input_is_a_library_error_naming_the_file(tmp_path, name, content):
    """pseudonymise_file raised FileNotFoundError, ArrowInvalid or EmptyDataError from its readers."""
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableFileError, match=rf"cannot read `{tmp_path / name}`"):
        pseudonymise_file(tmp_path / name, tmp_path / "safe.parquet", key=KEY)
    assert not (tmp_path / "safe.parquet").exists()


def test_default_refuses_an_identifier_spelt_otherwise_instead_of_leaving_it_raw():
    """With `traveller_id` present, the default pseudonymised it and wrote `Document_ID` out raw."""
    df = pd.DataFrame({"traveller_id": ["T1"], "Document_ID": ["D1"], "n": [1]})
    with pytest.raises(SchemaError, match=r"`Document_ID`: looks like the identifier column `document_id`"):
        pseudonymise_table(df, key=KEY)
    named = pseudonymise_table(df, ["traveller_id", "Document_ID"], key=KEY)  # naming them is the caller's choice
    assert named.loc[0, "Document_ID"] != "D1" and named.loc[0, "traveller_id"] != "T1"


def test_an_empty_key_in_the_environment_is_no_key(monkeypatch):
    monkeypatch.setenv("RISKMODEL_PSEUDONYM_KEY", "")
    with pytest.raises(ConfigError, match="no pseudonymisation key: set the environment variable RISKMODEL_PSEUDONYM_KEY"):
        pseudonymise(["A1"])


@pytest.mark.parametrize(("bad", "problem"), [("T1 ", "ids with spaces around them"), ("T1\u200b", "ids with characters that do not print"),
                                              ("", "blank ids"), ("  ", "blank ids"), ("\ufeffT1", "ids with characters that do not print")])
def test_ids_the_contract_refuses_are_refused_before_hashing_not_laundered(bad, problem):
    """The crossings contract refuses 'T1 ', 'T1' with a zero-width space and blank ids by name, because they part one
    traveller's records or merge strangers. Hashed first, each became a clean pseudonym (a blank one, one shared by every
    blank id) and the contract never saw them. Refused before hashing, naming the column and the rows by position (never
    by the raw id)."""
    df = pd.DataFrame({"crossing_id": ["C1", "C2", "C3"], "traveller_id": ["T1", bad, "T2"], "document_id": ["D1", "D2", "D3"]})
    with pytest.raises(SchemaError, match=rf"column `traveller_id`: {problem}.*\(1 row: row 1\)") as caught:
        pseudonymise_table(df, key=KEY)
    assert "T2" not in str(caught.value) and "D1" not in str(caught.value)
    # missing stays missing, as before; whole numbers are still one id in any dtype
    fine = pd.DataFrame({"traveller_id": ["T1", None, "T2"], "document_id": [123, 123.0, None]}).astype({"document_id": object})
    out = pseudonymise_table(fine, key=KEY)
    assert out["traveller_id"].isna().tolist() == [False, True, False] and out.loc[0, "document_id"] == out.loc[1, "document_id"]
    with pytest.raises(SchemaError, match=r"column `values`: ids with spaces around them"):
        pseudonymise(["T1", "T1 "], key=KEY)


def test_a_csv_keeps_its_other_ids_as_written(tmp_path):
    """Only the pseudonymised columns were read as text: the file's other ids (crossing_id, stay_id, a source's
    record id) were read as numbers and written back so, "000123", "0123" and "123" as 123: three crossings one."""
    ids = ["000123", "0123", "123"]
    raw = pd.DataFrame({"crossing_id": ids, "stay_id": ids, "report_id": ids, "traveller_id": ["T1", "T2", "T3"]})
    raw.to_csv(tmp_path / "raw.csv", index=False)
    for out in ("safe.csv", "safe.parquet"):
        pseudonymise_file(tmp_path / "raw.csv", tmp_path / out, key=KEY)
        got = pd.read_csv(tmp_path / out, dtype=str) if out.endswith(".csv") else pd.read_parquet(tmp_path / out)
        for column in ("crossing_id", "stay_id", "report_id"):
            assert list(got[column]) == ids, (out, column)


@pytest.mark.parametrize("mangled", ["1.23457E+10", "1.23E+15", "9E+11", "1.2345678901e+11"])
def test_ids_a_spreadsheet_wrote_in_scientific_notation_are_refused_not_merged(tmp_path, mangled):
    """A column of long numeric ids saved by Excel holds 12345678901 and 12345698765 both as "1.23457E+10": the digits
    are gone, and two travellers are one text. Pseudonymised, they became one person with both histories (the contract's
    id rule, checked before hashing, let them through as plain text); validated, two stays one id. Refused, naming the
    column and the rows by position (the value names nobody), with the fix."""
    from riskmodel.core.schema import validate_crossings

    raw = pd.DataFrame({"crossing_id": ["C1", "C2", "C3"], "traveller_id": [mangled, mangled, "T3"], "document_id": ["A1", "A2", "A3"]})
    raw.to_csv(tmp_path / "raw.csv", index=False)
    with pytest.raises(SchemaError, match=r"column `traveller_id`: ids a spreadsheet wrote in scientific notation .*\(2 rows: row 0, row 1\)\. Fix: re-export .*as text"):
        pseudonymise_file(tmp_path / "raw.csv", tmp_path / "safe.csv", key=KEY)
    assert not (tmp_path / "safe.csv").exists()
    log = make_crossings_for_ids()
    log.loc[log.index[:2], "traveller_id"] = mangled
    with pytest.raises(SchemaError, match=r"`traveller_id`: ids a spreadsheet wrote in scientific notation"):
        validate_crossings(log)
    # ids that merely hold an E and digits stay ids
    fine = pd.DataFrame({"traveller_id": ["E10", "1E5X", "A1.2E+"], "document_id": ["D1", "D2", "D3"]})
    assert pseudonymise_table(fine, key=KEY)["traveller_id"].notna().all()


def make_crossings_for_ids() -> pd.DataFrame:
    from riskmodel.core.datasets import make_crossings

    return make_crossings(30, "2022-01-01", "2022-03-31", seed=2).crossings.copy()


def test_pseudonymising_pseudonyms_again_is_refused_naming_the_column_and_the_fix(tmp_path):
    """A pipeline run twice hashed the pseudonyms again, silently: every traveller got a new id that joined nothing
    pseudonymised once (the other sources, earlier extracts). Pseudonyms (P and 20 hex digits, as written here) are refused
    by the table, file and value forms, and a file so refused is not written."""
    df = pd.DataFrame({"crossing_id": ["C1", "C2", "C3"], "traveller_id": ["T1", "T2", "T1"], "document_id": ["D1", "D2", None]})
    once = pseudonymise_table(df, key=KEY)
    with pytest.raises(SchemaError, match=r"column `traveller_id`: already pseudonymised \(3 rows: row 0, row 1, row 2\)\. "
                                          r"Fix: .*use the table as it is") as caught:
        pseudonymise_table(once, key=KEY)
    assert [p.column for p in caught.value.problems] == ["traveller_id", "document_id"]
    with pytest.raises(SchemaError, match=r"column `values`: already pseudonymised"):
        pseudonymise(once["traveller_id"], key=KEY)
    # one pseudonym among raw ids (a pseudonymised extract appended to a raw one) is refused too, by its row
    mixed = pd.DataFrame({"traveller_id": ["T9", once.loc[1, "traveller_id"], "T8"]})
    with pytest.raises(SchemaError, match=r"column `traveller_id`: already pseudonymised \(1 row: row 1\)"):
        pseudonymise_table(mixed, key=KEY)
    for suffix in (".csv", ".parquet"):
        src, dst = tmp_path / f"once{suffix}", tmp_path / f"twice{suffix}"
        once.to_csv(src, index=False) if suffix == ".csv" else once.to_parquet(src, index=False)
        with pytest.raises(SchemaError, match=r"column `traveller_id`: already pseudonymised"):
            pseudonymise_file(src, dst, key=KEY)
        assert not dst.exists()
    # raw ids that merely start with P, or hold fewer or other characters, are ids as before
    raw = pd.DataFrame({"traveller_id": ["P1234", "P0123456789abcdef012", "PABCDEF0123456789ABCD", "P0123456789abcdef01234"]})
    assert pseudonymise_table(raw, key=KEY)["traveller_id"].str.fullmatch(r"P[0-9a-f]{20}").all()


def test_a_killed_runs_half_written_copy_is_removed_by_the_next_run(tmp_path):
    """A run killed while it wrote the pseudonymised copy left `.safe.csv.tmp-<pid>` beside it, and every later run
    (another pid) left it there: a stray half copy of the data. The next run removes those of processes no longer
    running (as the batch jobs do); another run's write still going is left alone."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        pd.DataFrame({"traveller_id": ["T1", "T2"], "n": [1, 2]}).to_csv(tmp_path / "raw.csv", index=False)
        stale, going = tmp_path / f".safe.csv.tmp-{int(done.stdout)}", tmp_path / f".safe.csv.tmp-{live.pid}"
        for p in (stale, going):
            p.write_text("half a copy")
        pseudonymise_file(tmp_path / "raw.csv", tmp_path / "safe.csv", key=KEY)
        assert sorted(p.name for p in tmp_path.glob(".*tmp*")) == [going.name]
    finally:
        live.kill()
        live.wait()
