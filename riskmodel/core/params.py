"""Settings of an estimator, the scikit-learn way, written once: in the constructor's signature.

:class:`SettingsMixin` gives a class whose ``__init__(self, *, ...)`` only stores
its keyword arguments under the same names the ``get_params`` / ``set_params``
pair that ``sklearn.base.clone``, ``Pipeline`` and the model-selection tools
call. The names are read from the signature, so a new setting needs no second list.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from riskmodel.core.exceptions import ConfigError

__all__ = ["SettingsMixin"]


class SettingsMixin:
    """``get_params`` / ``set_params`` over the keyword-only arguments of ``__init__``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        """The settings: the constructor's keyword-only arguments, in signature order."""
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings, by constructor argument name.

        Parameters
        ----------
        deep : bool, default=True
            Accepted for scikit-learn; settings here hold no nested estimators.

        Returns
        -------
        dict of str to object
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Change settings by constructor argument name; they take effect at the next ``fit``.

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            If a name is not a setting of the class; the message names the nearest one.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                near = difflib.get_close_matches(name, valid, n=1)
                hint = f"did you mean `{near[0]}`?" if near else f"valid settings: {', '.join(valid)}."
                raise ConfigError(f"`{name}` is not a {type(self).__name__} setting; {hint}")
            setattr(self, name, value)
        return self
