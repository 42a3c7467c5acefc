"""Where a run's code and data came from: the git commit of the library, and its datasets as MLflow inputs.

* :func:`git_tags`: ``mlflow.source.git.commit`` and ``mlflow.source.git.dirty`` of the
  repository holding the installed riskmodel package (an editable install from a clone).
  MLflow's own git tag describes the repository of the *main script*, which for the
  ``riskmodel`` command or a test runner says nothing about the library's code. Outside a
  git repository (a wheel install), or without ``git``, it returns no tags and the run
  carries ``riskmodel.version`` alone.
* :func:`log_datasets`: each frame a model was fitted or scored on, logged with
  :func:`mlflow.log_input` under its context (``training``, ``holdout``, ``backtest``)
  as a :class:`FrameDataset`: name, digest, source, schema (column names and types) and
  profile (row and element counts), never its rows; the frames given here hold only the
  model's columns (no record or traveller ids), and the digest is a SHA-256 over every
  row (MLflow's own pandas digest reads the first 10,000 rows only), cut to the 32 hex
  digits the store keeps.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import json
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.data.dataset import Dataset
from mlflow.data.dataset_source import DatasetSource
from mlflow.types.schema import ColSpec, Schema
from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT, MLFLOW_GIT_DIRTY

__all__ = ["git_tags", "run_tags", "frame_digest", "FrameDataset", "log_datasets"]

#: The store keeps 36 characters of a dataset digest; 32 hex digits are 128 bits of SHA-256.
DIGEST_CHARS = 32
#: The riskmodel package folder (riskmodel/integrations/tracking/provenance.py -> riskmodel/).
PACKAGE = Path(__file__).resolve().parents[2]


def _git(folder: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run([git, "-C", str(folder), *args], capture_output=True, text=True, timeout=20, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def git_tags(folder: str | Path | None = None) -> dict[str, str]:
    """The git commit and dirty flag of the repository holding ``folder`` (default: the riskmodel package).

    Returns
    -------
    dict of str to str
        ``{"mlflow.source.git.commit": <40 hex digits>, "mlflow.source.git.dirty": "true" | "false"}``,
        or an empty dict when ``folder`` is not in a git work tree, holds no file that work
        tree tracks (a package installed into an ignored folder of another repository), or
        ``git`` is not installed.
        Dirty means tracked files differ from the commit (untracked files do not count, as
        with ``git describe --dirty``).
    """
    folder = Path(folder) if folder is not None else PACKAGE
    commit = _git(folder, "rev-parse", "--verify", "HEAD")
    # a folder whose files the repository does not track (a wheel in a git-ignored .venv of another project's work
    # tree) is not that commit's code: no commit is claimed for it
    if not commit or not _git(folder, "ls-files", "--", "."):
        return {}
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    tags = {MLFLOW_GIT_COMMIT: commit}
    if status is not None:
        tags[MLFLOW_GIT_DIRTY] = "true" if status else "false"
    return tags


def run_tags() -> dict[str, str]:
    """Tags every training run carries: the library's version and, when known, its git commit and dirty flag."""
    try:
        version = importlib.metadata.version("riskmodel")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {"riskmodel.version": version, **git_tags()}


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of every value of ``frame`` (row order and column names included), hex."""
    h = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


_TYPES = (("b", "boolean"), ("i", "long"), ("u", "long"), ("f", "double"), ("M", "datetime"))


def _column_type(col: pd.Series) -> str:
    for kind, name in _TYPES:
        if col.dtype.kind == kind:
            return name
    return "string"  # categories, strings and objects


class FrameDataset(Dataset):
    """An MLflow dataset that describes a frame without holding it: schema, row count, digest.

    :func:`mlflow.data.from_pandas` keeps the frame and infers the schema value by value in
    Python (minutes for a million rows); this one reads the dtypes and counts missing values
    with pandas, once, and keeps nothing of the rows.
    """

    def __init__(self, frame: pd.DataFrame, *, source: DatasetSource, name: str, targets: str | None = None):
        self._schema = Schema([ColSpec(_column_type(frame[c]), str(c), required=not bool(frame[c].isna().any())) for c in frame.columns])
        self._profile = {"num_rows": int(len(frame)), "num_elements": int(frame.size)}
        self._targets = targets
        super().__init__(source=source, name=name, digest=frame_digest(frame)[:DIGEST_CHARS])

    def _compute_digest(self) -> str:
        return self._digest  # always given by the constructor

    @property
    def profile(self) -> dict[str, int]:
        return dict(self._profile)

    @property
    def schema(self) -> Schema:
        return self._schema

    def to_dict(self) -> dict[str, str]:
        config = super().to_dict()
        config.update({"schema": json.dumps({"mlflow_colspec": self._schema.to_dict()}), "profile": json.dumps(self._profile)})
        return config


def log_datasets(frames: dict[str, pd.DataFrame], *, name: str, targets: str | None = None, source: str | None = None) -> None:
    """Log each frame of ``{context: frame}`` as an MLflow dataset input of the active run.

    Parameters
    ----------
    frames : dict of str to DataFrame
        Context (``training``, ``holdout``, ``backtest``) to frame; give only model columns,
        never record or person identifiers (the schema names every column).
    name : str
        Dataset name prefix; each input is named ``<name>-<context>``.
    targets : str, optional
        The target column, when the frame has one.
    source : str, optional
        Where the data came from (a file path, or how synthetic data was drawn); recorded
        in the dataset's source with the library's version and git commit.
    """
    # the frames are built by riskmodel from the source: the code (version, commit) and the source it read
    origin = CodeDatasetSource(tags={**run_tags(), **({"riskmodel.data.source": str(source)} if source else {})})
    for context, frame in frames.items():
        dataset = FrameDataset(frame, source=origin, name=f"{name}-{context}", targets=targets if targets in frame.columns else None)
        mlflow.log_input(dataset, context=context)
