"""Load YAML configuration into validated, frozen dataclasses.

Configs in ``configs/`` mirror constructor and ``fit`` arguments. The defaults ship inside the package
(:data:`SHIPPED_CONFIGS`, ``riskmodel/configs``; a clone's ``configs/`` is a link to it), so an installed wheel
runs the main job and the monitor on them with no clone beside it. Unknown keys
are an error, so a typo never silently does nothing, and so is a key given twice
in one mapping (YAML would keep the second copy without a word). Where the tracking server
lives is never a config value: it comes from ``MLFLOW_TRACKING_URI``.

A config class is any frozen dataclass; nested dataclass fields, ``tuple`` and
``dict`` fields and ``X | None`` fields are supported. A nested section given in
part keeps the other values of its parent's default for that section (so
``tracking: {experiment: x}`` keeps the model kind's default registered name).

:class:`TrackingConfig` is the ``tracking`` section shared by every model kind.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import difflib
import inspect
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from riskmodel.core.exceptions import ConfigError

__all__ = ["SHIPPED_CONFIGS", "TrackingConfig", "config_from_signature", "load_config", "from_dict", "to_dict",
           "unknown_key_error"]

T = TypeVar("T")

#: The configs riskmodel ships (package data): the main job's and the monitor's defaults, and what the README's
#: ``configs/...`` paths name in a clone (``configs`` there links to this folder).
SHIPPED_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow experiment and registered model name (the server comes from ``MLFLOW_TRACKING_URI``).

    Shared by the risk and the forecasting configs; each gives its own default
    (``overstay-risk``, ``arrival-forecast``).
    """

    experiment: str
    registered_name: str


def config_from_signature(
    func: Callable,
    name: str,
    *,
    exclude: tuple[str, ...] = (),
    doc: str = "",
    module: str | None = None,
    namespace: dict[str, Any] | None = None,
) -> type:
    """A frozen config dataclass with one field per keyword parameter of ``func``.

    Names, types (the annotations) and defaults are read from ``func``'s
    signature, so a constructor and its config section are written once: a new
    constructor parameter is a config key, and :func:`from_dict` checks its type.

    Parameters
    ----------
    func : callable
        Typically a class's ``__init__`` (``self`` is skipped).
    name : str
        Name of the new class.
    exclude : tuple of str, default=()
        Parameters that are not config keys (run-time choices).
    doc : str, default=""
        The class docstring.
    module : str, optional
        ``__module__`` of the class (for its repr and docs).
    namespace : dict, optional
        Methods of the class (e.g. ``__post_init__`` for validation).

    Returns
    -------
    type
        A frozen, keyword-only dataclass.

    Examples
    --------
    >>> def fit(self, *, rate: float = 0.1, rounds: int = 10): ...
    >>> Settings = config_from_signature(fit, "Settings")
    >>> from_dict(Settings, {"rate": 1})
    Settings(rate=1.0, rounds=10)
    """
    hints = typing.get_type_hints(func)
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self" and p.name not in exclude]
    fields = [(p.name, hints.get(p.name, Any), _field_for(p)) for p in params]
    body = {"__doc__": doc, **({"__module__": module} if module else {}), **(namespace or {})}
    return dataclasses.make_dataclass(name, fields, namespace=body, frozen=True, kw_only=True)


def _field_for(param: inspect.Parameter) -> dataclasses.Field:
    if param.default is inspect.Parameter.empty:
        return dataclasses.field()
    if isinstance(param.default, list | dict | set):  # dataclasses refuse mutable defaults
        return dataclasses.field(default_factory=lambda d=param.default: copy.deepcopy(d))
    return dataclasses.field(default=param.default)


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
        shipped = SHIPPED_CONFIGS / path.name
        start = (f" riskmodel ships a `{path.name}` to start from: copy {shipped} to {path}, or pass it as it is."
                 if shipped.is_file() and shipped.resolve() != path.resolve() else "")
        raise ConfigError(f"config file `{path}` does not exist; pass the path of a YAML file.{start}")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file `{path}` is not valid YAML: {exc}") from None
    # YAML keeps the last of two equal keys without a word: a section appended to a config replaced it whole
    _refuse_repeated_keys(yaml.compose(text, Loader=yaml.SafeLoader), str(path))
    return from_dict(cls, data if data is not None else {}, where=str(path))


def _refuse_repeated_keys(node: Any, where: str, path: str = "") -> None:
    """ConfigError naming a key a mapping of the YAML gives twice, and both lines."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_repeated_keys(item, where, f"{path}[{i}]")
    if not isinstance(node, yaml.MappingNode):
        return
    seen: dict[str, int] = {}
    for key_node, value in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
        full = f"{path}.{key}" if path else key
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigError(f"config file `{where}`: `{full}` is given twice (lines {seen[key]} and {line}); YAML would keep "
                              "the second silently (a section given again replaces the first one whole): keep one, with "
                              "every value it needs.")
        seen[key] = line
        _refuse_repeated_keys(value, where, full)


def from_dict(cls: type[T], data: Any, *, where: str = "config", base: T | None = None) -> T:
    """Build a config object from a plain mapping, rejecting unknown keys.

    Parameters
    ----------
    cls : type
        A dataclass.
    data : mapping
        Plain values, e.g. parsed from YAML.
    where : str, default="config"
        Prefix used in error messages to locate a key.
    base : cls, optional
        Values for the keys ``data`` leaves out (default: the class's defaults).

    Returns
    -------
    cls
    """
    if not isinstance(data, dict):
        raise ConfigError(f"`{where}` must be a mapping of keys to values; got {type(data).__name__}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields), key=str)
    if unknown:
        raise unknown_key_error(where, unknown, fields)
    hints = typing.get_type_hints(cls)
    # keys left out keep the values of `base` (the parent's default for this section), if any
    kwargs = {f: getattr(base, f) for f in fields} if base is not None else {}
    for name, value in data.items():
        kwargs[name] = _convert(hints[name], value, f"{where}.{name}", base=_default(fields[name]))
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"`{where}`: {exc}") from None
    except ValueError as exc:  # __post_init__ validation
        raise ConfigError(f"`{where}`: {exc}") from None


def check_iso_dates(section: str, **dates: Any) -> None:
    """Refuse a config date that is not ISO 8601 (``ValueError`` naming ``<section>.<key>``); None passes.

    ``01/12/2023`` would otherwise be read month first (12 January) wherever the date is used.
    """
    from riskmodel.core.csv_files import iso_time

    for key, value in dates.items():
        if value is None:
            continue
        try:
            iso_time(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"`{section}.{key}` is {value!r}, not a date in ISO 8601: write it as 2023-12-31 (day-first "
                             "dates are not guessed).") from None


def unknown_key_error(where: str, unknown: list, allowed) -> ConfigError:
    """The error for keys a section does not know, naming the nearest allowed key of each.

    Parameters
    ----------
    where : str
        The section (e.g. ``configs/risk.yaml.model.params``).
    unknown : list of str
        The keys not allowed.
    allowed : iterable of str
        The keys allowed.

    Returns
    -------
    ConfigError
    """
    allowed = sorted(allowed)
    hints = []
    for key in unknown:
        near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        if near:
            hints.append(f"`{key}`: did you mean `{near[0]}`?")
    listed = f"allowed keys are {allowed}" if len(allowed) <= 40 else f"{len(allowed)} names are allowed"
    return ConfigError(f"`{where}` has unknown key(s) {unknown}; {listed}. " + " ".join([*hints, "Check the spelling."]))


def _default(f: dataclasses.Field) -> Any:
    """The field's default value, or None without one."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def to_dict(obj: Any) -> Any:
    """Turn a config object back into plain YAML-friendly values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _convert(tp: Any, value: Any, where: str, base: Any = None) -> Any:
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
        return from_dict(tp, value, where=where, base=base if isinstance(base, tp) else None)
    if origin in (tuple, collections.abc.Sequence):  # a constructor's Sequence[...] is read as a tuple
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
