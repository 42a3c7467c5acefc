"""Load YAML configuration into validated, frozen dataclasses.

Configs in ``configs/`` mirror constructor and ``fit`` arguments. Unknown keys
are an error, so a typo never silently does nothing. Where the tracking server
lives is never a config value: it comes from ``MLFLOW_TRACKING_URI``.

A config class is any frozen dataclass; nested dataclass fields, ``tuple`` and
``dict`` fields and ``X | None`` fields are supported.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from riskmodel.core.exceptions import ConfigError

__all__ = ["load_config", "from_dict", "to_dict"]

T = TypeVar("T")


def load_config(path: str | Path, cls: type[T]) -> T:
    """Read a YAML file into a frozen config object of type ``cls``.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    cls : type
        A frozen dataclass describing the config.

    Returns
    -------
    cls
        The validated config.

    Raises
    ------
    ConfigError
        If the file is missing, is not a YAML mapping, has unknown keys, or a
        value has the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file `{path}` does not exist; pass the path of a YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file `{path}` is not valid YAML: {exc}") from None
    return from_dict(cls, data if data is not None else {}, where=str(path))


def from_dict(cls: type[T], data: Any, *, where: str = "config") -> T:
    """Build a config object from a plain mapping, rejecting unknown keys.

    Parameters
    ----------
    cls : type
        A dataclass.
    data : mapping
        Plain values, e.g. parsed from YAML.
    where : str, default="config"
        Prefix used in error messages to locate a key.

    Returns
    -------
    cls
    """
    if not isinstance(data, dict):
        raise ConfigError(f"`{where}` must be a mapping of keys to values; got {type(data).__name__}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"`{where}` has unknown key(s) {unknown}; allowed keys are {sorted(fields)}. "
            "Check the spelling."
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(hints[name], value, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"`{where}`: {exc}") from None
    except ValueError as exc:  # __post_init__ validation
        raise ConfigError(f"`{where}`: {exc}") from None


def to_dict(obj: Any) -> Any:
    """Turn a config object back into plain YAML-friendly values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"`{where}` has an invalid value {value!r}.")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"`{where}` must be a list; got {value!r}.")
        item = args[0] if args else Any
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"`{where}` must be a mapping; got {value!r}.")
        kt, vt = args if args else (Any, Any)
        return {_convert(kt, k, where): _convert(vt, v, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"`{where}` must be one of {list(args)}; got {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"`{where}` must be a number; got {value!r}.")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"`{where}` must be an integer; got {value!r}.")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"`{where}` must be true or false; got {value!r}.")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"`{where}` must be a string; got {value!r}.")
        return value
    return value
