"""Structural check of a LightGBM text model before LightGBM reads it.

LightGBM parses the trees of a text model in parallel threads; a format error
there ends in ``std::terminate`` and kills the whole process (exit 134) instead
of raising, and out-of-range child or feature indices that parse fine make
prediction read out of bounds or loop. :func:`check_model_text` checks, in
Python, everything the tree parser and the predictor rely on: the header, the
byte ranges given by ``tree_sizes``, every tree's fields and array lengths,
that child indices form one tree, and that feature and category indices are in
range. A file that passes is one LightGBM parses without aborting; anything
else is a :class:`~riskmodel.core.exceptions.ModelLoadError`.
"""

from __future__ import annotations

import math
from pathlib import Path

from riskmodel.core.exceptions import ModelLoadError

__all__ = ["check_model_text", "check_model_bytes"]

_MAX_LEAVES = 1 << 17
_NODE_ARRAYS = ("split_feature", "split_gain", "threshold", "decision_type", "left_child", "right_child", "internal_value", "internal_weight", "internal_count")
_LEAF_ARRAYS = ("leaf_value", "leaf_weight", "leaf_count")


class _Bad(Exception):
    pass


def check_model_text(path: str | Path) -> None:
    """Refuse a LightGBM text model that LightGBM could not parse safely.

    Raises
    ------
    ModelLoadError
        Naming the file and the first problem found.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read `{path}`: {exc}") from None
    check_model_bytes(data, path)


def check_model_bytes(data: bytes, where: str | Path) -> None:
    """:func:`check_model_text` of a model's bytes already read (LightGBM then parses these bytes, not the file again).

    Parameters
    ----------
    data : bytes
        The text model, as ``model.txt`` holds it.
    where : str or Path
        The file it came from, for the message.

    Raises
    ------
    ModelLoadError
        Naming ``where`` and the first problem found.
    """
    try:
        _check(data)
    except _Bad as exc:
        raise ModelLoadError(f"`{where}` is not a valid LightGBM text model: {exc}. Re-save the model with RiskModel.save or re-log it.") from None


def _fields(lines: list[bytes], where: str) -> dict[str, str]:
    out = {}
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(b"=")
        if not sep:
            raise _Bad(f"{where}: line {line[:40]!r} is not key=value")
        try:
            out[key.decode("ascii")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad(f"{where}: line {line[:40]!r} is not text") from None
    return out


def _ints(fields: dict[str, str], key: str, n: int, where: str) -> list[int]:
    values = _array(fields, key, n, where)
    try:
        return [int(v) for v in values]
    except ValueError:
        raise _Bad(f"{where}: `{key}` holds a value that is not an integer") from None


def _array(fields: dict[str, str], key: str, n: int, where: str) -> list[str]:
    if key not in fields:
        raise _Bad(f"{where}: field `{key}` is missing")
    values = fields[key].split()
    if len(values) != n:
        raise _Bad(f"{where}: `{key}` has {len(values)} values; expected {n}")
    return values


def _floats(fields: dict[str, str], key: str, n: int, where: str) -> None:
    try:
        [float(v) for v in _array(fields, key, n, where)]
    except ValueError:
        raise _Bad(f"{where}: `{key}` holds a value that is not a number") from None


def _check(data: bytes) -> None:
    first = data.find(b"\nTree=")
    if not data.startswith(b"tree\n") or first < 0:
        raise _Bad("expected a header starting with `tree` followed by `Tree=0`")
    header = _fields(data[:first].split(b"\n")[1:], "header")
    for key in ("version", "num_class", "num_tree_per_iteration", "max_feature_idx", "feature_names", "tree_sizes"):
        if key not in header:
            raise _Bad(f"header: field `{key}` is missing")
    try:
        num_class, per_iter, max_feature = int(header["num_class"]), int(header["num_tree_per_iteration"]), int(header["max_feature_idx"])
        sizes = [int(s) for s in header["tree_sizes"].split()]
    except ValueError:
        raise _Bad("header: num_class, num_tree_per_iteration, max_feature_idx and tree_sizes must be integers") from None
    if num_class < 1 or per_iter < 1 or max_feature < 0 or any(s <= 0 for s in sizes):
        raise _Bad("header: num_class, num_tree_per_iteration and tree_sizes must be >= 1, max_feature_idx >= 0")
    if len(header["feature_names"].split()) != max_feature + 1:
        raise _Bad(f"header: {len(header['feature_names'].split())} feature_names for max_feature_idx={max_feature}")
    if not sizes or len(sizes) % per_iter:
        raise _Bad(f"header: {len(sizes)} trees is not a multiple of num_tree_per_iteration={per_iter}")
    start = offset = first + 1
    for i, size in enumerate(sizes):
        block = data[offset:offset + size]
        if len(block) != size or not block.startswith(f"Tree={i}\n".encode()) or not block.endswith(b"\n\n"):
            raise _Bad(f"tree {i} is not where tree_sizes puts it (the file was cut or edited)")
        _check_tree(_fields(block.split(b"\n")[1:], f"tree {i}"), max_feature, f"tree {i}")
        offset += size
    if not data[offset:].lstrip().startswith(b"end of trees"):
        raise _Bad(f"`end of trees` expected after the {len(sizes)} trees (byte {offset - start} of the trees)")


def _check_tree(t: dict[str, str], max_feature: int, where: str) -> None:
    try:
        leaves, n_cat = int(t.get("num_leaves", "")), int(t.get("num_cat", ""))
    except ValueError:
        raise _Bad(f"{where}: num_leaves and num_cat must be integers") from None
    if not 1 <= leaves <= _MAX_LEAVES or not 0 <= n_cat < max(leaves, 1):
        raise _Bad(f"{where}: num_leaves={leaves}, num_cat={n_cat} out of range")
    if t.get("is_linear", "0") != "0":
        raise _Bad(f"{where}: linear trees are not used by riskmodel")
    if "shrinkage" not in t:
        raise _Bad(f"{where}: field `shrinkage` is missing")
    _floats(t, "shrinkage", 1, where)
    if leaves == 1:
        _floats(t, "leaf_value", 1, where)
        return
    n = leaves - 1
    for key in _NODE_ARRAYS:
        _floats(t, key, n, where)
    for key in _LEAF_ARRAYS:
        _floats(t, key, leaves, where)
    features = _ints(t, "split_feature", n, where)
    if any(not 0 <= f <= max_feature for f in features):
        raise _Bad(f"{where}: split_feature outside 0..{max_feature}")
    _check_children(_ints(t, "left_child", n, where) + _ints(t, "right_child", n, where), leaves, where)
    decisions = _ints(t, "decision_type", n, where)
    if any(not 0 <= d < 16 or (d >> 2) & 3 == 3 for d in decisions):
        raise _Bad(f"{where}: decision_type outside the values LightGBM writes")
    if n_cat:
        bounds = _ints(t, "cat_boundaries", n_cat + 1, where)
        if bounds[0] != 0 or any(b > a for b, a in zip(bounds, bounds[1:], strict=False)):
            raise _Bad(f"{where}: cat_boundaries must start at 0 and never decrease")
        _ints(t, "cat_threshold", bounds[-1], where)
    thresholds = [float(v) for v in t["threshold"].split()]
    for d, th in zip(decisions, thresholds, strict=True):
        if d & 1 and (not math.isfinite(th) or th != int(th) or not 0 <= int(th) < n_cat):
            raise _Bad(f"{where}: a categorical split points at category set {th}, outside 0..{n_cat - 1}")


def _check_children(children: list[int], leaves: int, where: str) -> None:
    """Every internal node but the root and every leaf is the child of exactly one node: one tree, no cycle."""
    internal = sorted(c for c in children if c >= 0)
    leaf = sorted(~c for c in children if c < 0)
    if internal != list(range(1, leaves - 1)) or leaf != list(range(leaves)):
        raise _Bad(f"{where}: left_child/right_child do not form one tree over {leaves} leaves")
