"""Keyed pseudonyms and the append-only audit log."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from riskmodel import ConfigError
from riskmodel.core import audit
from riskmodel.core.privacy import KEY_ENV, pseudonymise, pseudonymise_table

KEY = "test-key-0123456789abcdef"


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
    with pytest.raises(ConfigError, match="at least 16 bytes; got 5"):
        pseudonymise(["A"])
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
