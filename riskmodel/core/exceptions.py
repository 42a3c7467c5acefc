"""Errors and warnings raised by riskmodel.

Every error a user can cause derives from :class:`RiskModelError`. Errors about
bad input also derive from :class:`ValueError`, so callers that already catch
``ValueError`` keep working.

Messages name the argument or column, what was expected, what came, and how to
fix it. Schema errors list every problem at once, each with the first few
offending record ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "RiskModelError",
    "UnreadableFileError",
    "DatabaseUnavailableError",
    "SchemaError",
    "SchemaProblem",
    "ConfigError",
    "NotFittedError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ArtifactIntegrityError",
    "RiskModelWarning",
    "UnseenCategoryWarning",
    "FallbackWarning",
    "IntervalWarning",
    "YoungSeriesWarning",
    "BatchError",
    "GateRefusedError",
    "PromotionBusyError",
]


class RiskModelError(Exception):
    """Base class of every error raised by riskmodel."""


@dataclass(frozen=True)
class SchemaProblem:
    """One problem found by a validator.

    Attributes
    ----------
    column : str
        The column concerned (or ``"<table>"`` for problems of the whole table).
    problem : str
        What is wrong, in words.
    fix : str
        How to fix it.
    record_ids : tuple of str
        The first few offending record ids (empty when the problem is the column itself).
    n_rows : int
        How many rows have the problem (0 when the problem is the column itself).
    """

    column: str
    problem: str
    fix: str
    record_ids: tuple[str, ...] = field(default_factory=tuple)
    n_rows: int = 0

    def __str__(self) -> str:
        text = f"- column `{self.column}`: {self.problem}"
        if self.n_rows:
            shown = ", ".join(str(r) for r in self.record_ids)
            more = "" if self.n_rows <= len(self.record_ids) else ", ..."
            text += f" ({self.n_rows} row{'s' if self.n_rows != 1 else ''}: {shown}{more})"
        return f"{text}. Fix: {self.fix}"


class SchemaError(RiskModelError, ValueError):
    """A table does not meet its data contract.

    Attributes
    ----------
    problems : list of SchemaProblem
        Every problem found, not only the first.
    table : str
        Name of the contract that was checked (``"crossings"``, ``"stays"``, ...).
    """

    def __init__(self, table: str, problems: list[SchemaProblem]):
        self.table = table
        self.problems = list(problems)
        lines = [f"{table} table has {len(self.problems)} problem(s):"]
        lines += [str(p) for p in self.problems]
        super().__init__("\n".join(lines))


class ConfigError(RiskModelError, ValueError):
    """A configuration file or object is invalid (unknown key, bad value, wrong type)."""


class NotFittedError(RiskModelError, ValueError):
    """A model was used before ``fit`` was called."""


class ModelLoadError(RiskModelError, ValueError):
    """A model could not be found or loaded from the given path or URI."""


class ModelNotFoundError(ModelLoadError):
    """The model registry answered that a registered model, version or alias does not exist.

    Unlike a store that gives no answer (a plain :class:`ModelLoadError`), this is the registry's word: a
    model served from a cache behind that alias must stop being served.
    """


class ArtifactIntegrityError(ModelLoadError):
    """A model artifact's content hash does not match the one recorded when it was logged."""


class RiskModelWarning(UserWarning):
    """Base class of riskmodel's warnings.

    Silence all of them with
    ``warnings.filterwarnings("ignore", category=riskmodel.RiskModelWarning)``.
    """


class UnseenCategoryWarning(RiskModelWarning):
    """Categorical values not seen in training were scored as missing."""


class FallbackWarning(RiskModelWarning):
    """A forecasting model failed or exploded on a series and a fallback model was used."""


class BreakWarning(RiskModelWarning):
    """A series' history ends inside a structural break (declared or detected): its forecast
    continues the break's level, since nothing in the data shows the recovery yet."""


class IntervalWarning(RiskModelWarning):
    """Some forecast interval ends are the largest backtest error seen, not a quantile of their
    level: too few backtest errors fall near their horizon step for that level (fewer than 19 at
    80%, 79 at 95%), so the end covers about n/(n+1) of n errors whatever the level says; or a forecast reaches past
    the steps the forecaster was backtested at, whose interval ends are grown from the last calibrated step's, not
    calibrated."""


class YoungSeriesWarning(RiskModelWarning):
    """A series started too recently to forecast (a port that just opened): its models fit the
    zeros before its first count as its own past."""


class StaleForecastWarning(RiskModelWarning):
    """Some forecast periods are already past: the forecaster's data ends periods before today, and a forecast starts
    the period after its data, so its first rows are no outlook from today."""


class PartialPeriodWarning(RiskModelWarning):
    """The crossings log ends before the last day of its last period (a month or a week): that
    period's count is part of one, so it was left out of the series rather than read as a fall."""


class LateRowsWarning(RiskModelWarning):
    """A table holds another number of rows at or before an incremental read's saved key than the reads of that
    state file read: rows recorded late (an older watermark: never read) or deleted (still in the parts)."""


class BatchError(RiskModelError):
    """A batch job cannot run (bad input path, an output folder of another job) or lost rows."""


class PromotionBusyError(RiskModelError):
    """Another promotion of the same model holds the tracking store's promotion lease, or this one lost it."""


class GateRefusedError(RiskModelError):
    """A job needed a champion, and the promotion gate refused every candidate (see its reasons)."""


class UnreadableFileError(RiskModelError):
    """A file a library function reads is missing, unreadable, corrupt, truncated or empty.

    Parameters
    ----------
    path : str or Path
        The file.
    problem : str
        What is wrong with it.
    fix : str
        What to do about it.
    """

    def __init__(self, path, problem: str, fix: str):
        self.path = path
        super().__init__(f"cannot read `{path}`: {problem}. Fix: {fix}.")


class DatabaseUnavailableError(RiskModelError):
    """The database could not be reached or refused the login; rerun once it is back (the message never shows a password)."""
