"""Signed manifests (riskmodel.core.artifacts) and the LightGBM text check, without a tracking store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from riskmodel.core import artifacts
from riskmodel.core.artifacts import MANIFEST, signing_key, verify_manifest, write_manifest
from riskmodel.core.exceptions import ArtifactIntegrityError, ModelLoadError
from riskmodel.core.risk.model import RiskModel

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "model"
    (d / "data").mkdir(parents=True)
    (d / "MLmodel").write_text("flavors: {}\n")
    (d / "data" / "model.txt").write_text("tree\n")
    (d / "data" / "meta.json").write_text('{"bands": [0.1, 0.3]}')
    write_manifest(d, key=KEY)
    return d


def _old_style_manifest(folder):
    """What the helper wrote before manifests were signed: digests only (an attacker can regenerate this)."""
    files = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({"algorithm": "sha256", "files": files}))


def test_signed_manifest_round_trip_and_every_file_is_listed(folder):
    verify_manifest(folder, key=KEY)
    listed = set(json.loads((folder / MANIFEST).read_text())["files"])
    assert listed == {"MLmodel", "data/model.txt", "data/meta.json"}


@pytest.mark.parametrize("name", ["MLmodel", "data/model.txt", "data/meta.json"])
def test_each_changed_file_is_refused(folder, name):
    with open(folder / name, "a") as fh:
        fh.write(" ")
    with pytest.raises(ArtifactIntegrityError, match=f"content of {name} changed"):
        verify_manifest(folder, key=KEY)


def test_added_and_missing_files_are_refused(folder):
    (folder / "data" / "extra.py").write_text("import os")
    with pytest.raises(ArtifactIntegrityError, match="unexpected file data/extra.py"):
        verify_manifest(folder, key=KEY)
    (folder / "data" / "extra.py").unlink()
    (folder / "MLmodel").unlink()
    with pytest.raises(ArtifactIntegrityError, match="missing file MLmodel"):
        verify_manifest(folder, key=KEY)


def test_regenerated_unsigned_manifest_is_refused(folder):
    (folder / "data" / "meta.json").write_text('{"bands": [2.0, 3.0]}')  # every row "low"
    _old_style_manifest(folder)
    with pytest.raises(ArtifactIntegrityError, match="is not signed"):
        verify_manifest(folder, key=KEY)


def test_manifest_rehashed_keeping_the_old_signature_is_refused(folder):
    (folder / "data" / "meta.json").write_text('{"bands": [2.0, 3.0]}')
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"]["data/meta.json"] = hashlib.sha256((folder / "data" / "meta.json").read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactIntegrityError, match="signature .* does not match"):
        verify_manifest(folder, key=KEY)


def test_manifest_signed_with_another_key_is_refused(folder):
    (folder / "data" / "meta.json").write_text('{"bands": [2.0, 3.0]}')
    write_manifest(folder, key=OTHER_KEY)
    with pytest.raises(ArtifactIntegrityError, match="signed with another key"):
        verify_manifest(folder, key=KEY)


@pytest.mark.parametrize("edit", [lambda t: t + "\n ", lambda t: " " + t, lambda t: t.replace("\n", "\r\n")])
def test_a_manifest_changed_only_in_its_bytes_is_refused(folder, edit):
    """Whitespace keeps the signed meaning; the file is still not the one signed (it was accepted before)."""
    (folder / MANIFEST).write_bytes(edit((folder / MANIFEST).read_text()).encode())
    with pytest.raises(ArtifactIntegrityError, match="was changed after it was signed"):
        verify_manifest(folder, key=KEY)


def test_a_part_of_a_model_folder_is_checked_against_the_signed_entries(folder, tmp_path):
    """What the store's scheme checks when MLflow fetches one file (MLmodel) or a subfolder of a model."""
    recorded = artifacts.signed_files(folder / MANIFEST, key=KEY)
    artifacts.verify_part(recorded, folder / "MLmodel", "MLmodel", where="m")
    artifacts.verify_part(recorded, folder / "data", "data", where="m")
    copy = shutil.copytree(folder / "data", tmp_path / "data")
    (copy / "meta.json").write_text('{"bands": [2.0, 3.0]}')
    with pytest.raises(ArtifactIntegrityError, match="content of data/meta.json changed"):
        artifacts.verify_part(recorded, copy, "data", where="m")
    (copy / "meta.json").unlink()
    (copy / "planted.py").write_text("import os")
    with pytest.raises(ArtifactIntegrityError, match="missing file data/meta.json; unexpected file data/planted.py"):
        artifacts.verify_part(recorded, copy, "data", where="m")
    with pytest.raises(ArtifactIntegrityError, match="unexpected file python_model.pkl"):
        artifacts.verify_part(recorded, copy / "planted.py", "python_model.pkl", where="m")


def test_missing_and_unreadable_manifests_are_refused(folder):
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(ArtifactIntegrityError, match="is not readable"):
        verify_manifest(folder, key=KEY)
    (folder / MANIFEST).unlink()
    with pytest.raises(ArtifactIntegrityError, match="has no manifest.json"):
        verify_manifest(folder, key=KEY)


def test_key_from_the_environment_and_short_keys_refused(folder, monkeypatch):
    monkeypatch.setenv(artifacts.SIGNING_KEY_ENV, KEY.decode())
    verify_manifest(folder)  # the default key is the environment's
    monkeypatch.setenv(artifacts.SIGNING_KEY_ENV, OTHER_KEY.decode())
    with pytest.raises(ArtifactIntegrityError, match="does not match"):
        verify_manifest(folder)
    monkeypatch.setenv(artifacts.SIGNING_KEY_ENV, "short")
    with pytest.raises(ArtifactIntegrityError, match="has 5 bytes; expected at least 32"):
        signing_key()


def test_key_file_is_created_private_once_and_never_when_loading(tmp_path, monkeypatch):
    monkeypatch.delenv(artifacts.SIGNING_KEY_ENV, raising=False)
    path = tmp_path / "store" / artifacts.KEY_FILE
    with pytest.raises(ArtifactIntegrityError, match="no signing key"):
        signing_key(path)  # verifying never creates a key
    assert not path.exists()
    key = signing_key(path, create=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing_key(path, create=True) == key and len(key) == 64


# ----------------------------------------------------------------------------- a crafted model.txt


def _crafted(folder):
    """A model.txt that keeps every tree_sizes offset but misspells the first tree's leaf_value field."""
    text = (folder / "model.txt").read_text()
    assert "leaf_value=" in text
    (folder / "model.txt").write_text(text.replace("leaf_value=", "leaf_valuX=", 1))


def test_crafted_model_text_is_a_library_error_not_a_dead_process(fitted, tmp_path):
    _, saved, _ = fitted
    folder = tmp_path / "crafted"
    shutil.copytree(saved, folder)
    _crafted(folder)
    # the premise: LightGBM itself kills the interpreter on this file (std::terminate, SIGABRT)
    raw = subprocess.run([sys.executable, "-c", f"import lightgbm; lightgbm.Booster(model_file={str(folder / 'model.txt')!r})"],
                         capture_output=True, timeout=120)
    assert raw.returncode not in (0, 1), raw.stderr[-500:]
    code = ("from riskmodel.core.risk.model import RiskModel\n"
            "from riskmodel.core.exceptions import ModelLoadError\n"
            f"try:\n    RiskModel.load({str(folder)!r})\nexcept ModelLoadError as exc:\n    print('refused:', exc)\n")
    safe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert safe.returncode == 0, safe.stderr[-2000:]
    assert "refused:" in safe.stdout and "field `leaf_value` is missing" in safe.stdout


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda t: t[: len(t) // 2], "not where tree_sizes puts it"),
        (lambda t: t.replace("split_feature=", "split_feature=99", 1), "not where tree_sizes puts it"),
        (lambda t: t.replace("tree_sizes=", "tree_sizes=1", 1), "not where tree_sizes puts it"),
        (lambda t: t.replace("max_feature_idx=", "max_feature_idx=1", 1), "feature_names for max_feature_idx"),
        (lambda t: "garbage\n", "expected a header"),
    ],
)
def test_malformed_model_text_is_refused(fitted, tmp_path, edit, match):
    _, saved, _ = fitted
    folder = tmp_path / "bad"
    shutil.copytree(saved, folder)
    (folder / "model.txt").write_text(edit((folder / "model.txt").read_text()))
    with pytest.raises(ModelLoadError, match=match):
        RiskModel.load(folder)


def test_out_of_range_indices_with_valid_sizes_are_refused(fitted, tmp_path):
    _, saved, _ = fitted
    folder = tmp_path / "oob"
    shutil.copytree(saved, folder)
    text = (folder / "model.txt").read_text()
    head, tree = text.split("\nTree=0\n", 1)
    lines = tree.split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("left_child="))
    values = lines[i].split("=", 1)[1].split()
    # same length, so tree_sizes stays right: a child index far outside the tree
    values[0] = "-" + "9" * (len(values[0]) - 1) if values[0].startswith("-") and len(values[0]) > 1 else "9" * len(values[0])
    lines[i] = "left_child=" + " ".join(values)
    (folder / "model.txt").write_text(head + "\nTree=0\n" + "\n".join(lines))
    with pytest.raises(ModelLoadError, match="do not form one tree"):
        RiskModel.load(folder)


def test_a_saved_model_still_loads(fitted):
    model, saved, test = fitted
    loaded = RiskModel.load(saved)
    assert (loaded.predict_proba(test.head(50)) == model.predict_proba(test.head(50))).all()


def test_a_manifest_other_than_the_one_recorded_at_logging_is_refused(folder):
    # the digest recorded at logging (tag manifest_sha256) is checked when given, beside the signature
    recorded = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    verify_manifest(folder, key=KEY, expected_digest=recorded)
    with pytest.raises(ArtifactIntegrityError, match="differs from the one recorded at logging"):
        verify_manifest(folder, key=KEY, expected_digest="0" * 64)
    # re-signed after a change by whoever holds the key: the signature holds, the recorded digest does not
    (folder / "data" / "meta.json").write_text('{"bands": [0.5, 0.9]}')
    write_manifest(folder, key=KEY)
    verify_manifest(folder, key=KEY)
    with pytest.raises(ArtifactIntegrityError, match="differs from the one recorded at logging"):
        verify_manifest(folder, key=KEY, expected_digest=recorded)


def test_the_bytes_read_for_use_are_the_bytes_checked(folder, monkeypatch):
    """``verify_manifest(read=...)`` returns bytes for the caller to parse instead of the file: they must be the bytes
    whose digest was checked. A file holding another content when read, and put back as signed right after (before a
    check that hashed the file again), must be refused, not handed back as verified."""
    signed = (folder / "data" / "meta.json").read_bytes()
    assert verify_manifest(folder, key=KEY, read=("data/meta.json", "MLmodel", "absent")) == {
        "data/meta.json": signed, "MLmodel": b"flavors: {}\n"}
    (folder / "data" / "meta.json").write_bytes(b'{"bands": [0.0, 0.0]}')
    real = artifacts.file_digest

    def put_back_then_hash(path):
        (folder / "data" / "meta.json").write_bytes(signed)
        return real(path)

    monkeypatch.setattr(artifacts, "file_digest", put_back_then_hash)
    with pytest.raises(ArtifactIntegrityError, match="content of data/meta.json changed"):
        verify_manifest(folder, key=KEY, read=("data/meta.json",))


def test_a_key_file_others_can_read_change_or_own_is_refused(tmp_path, monkeypatch):
    """A key file planted beside a shared store (before the first training) or left readable by everyone signed and
    verified models without a word: anyone who can read it can sign a model the store then trusts, anyone who can
    write it can swap it. Refused naming the file and the fix; the 0600 file logging creates is used as before."""
    monkeypatch.delenv(artifacts.SIGNING_KEY_ENV, raising=False)
    path = tmp_path / artifacts.KEY_FILE
    key = signing_key(path, create=True)
    for mode, what in ((0o644, "others can read it"), (0o660, "others can read it"), (0o602, "others can change it")):
        os.chmod(path, mode)
        with pytest.raises(ArtifactIntegrityError, match=rf"key file `{path}`: {what}.*chmod 600"):
            signing_key(path)
    os.chmod(path, 0o600)
    assert signing_key(path) == key
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(path, 65534, 65534)
        with pytest.raises(ArtifactIntegrityError, match=rf"key file `{path}`: it belongs to another user \(uid 65534\)"):
            signing_key(path)
