"""Typed test parameters: RIME's config keys, their defaults and their checks.

Each test declares its parameters as a frozen dataclass derived from :class:`TestParams`,
one field per key of ``individual_tests_config.<test>``, with RIME's default::

    @dataclass(frozen=True)
    class SubsetParams(TestParams):
        num_subsets: Annotated[int, Range(2, 100)] = 5
        drift_scoring_method: Literal["psi", "ks"] = "psi"
        severity_thresholds: Thresholds = (0.05, 0.1)

:meth:`TestParams.parse` turns the user's JSON object into that class before the run starts:
the field's type says what is accepted (``int``, ``float`` with an optional :class:`Range`,
a ``Literal`` of choices, :data:`Thresholds`, ``float | None``, ``bool | None``, a tuple of
column names or ``None``). Unknown keys, wrong types and out-of-range values raise
``ValueError`` naming the key; the test function receives the typed instance, which also
remembers which keys the user gave (:meth:`TestParams.given`): a test can keep RIME's rule
when a RIME key is set explicitly and use its own default otherwise.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from collections.abc import Mapping
from typing import Annotated
from typing import Any
from typing import Literal
from typing import TypeVar

#: ``[warning, alert]``: the value at which a test warns, and the one at which it alerts.
Thresholds = tuple[float, float]

P = TypeVar("P", bound="TestParams")
_Check = Callable[[str, Any], Any]


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a number parameter, both included (``None``: unbounded)."""

    low: float | None = None
    high: float | None = None

    def __contains__(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in [{self.low}, {self.high}]"
        return f">= {self.low}" if self.low is not None else f"<= {self.high}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(bounds: Range) -> _Check:
    def check(name: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value not in bounds:
            raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
        return value

    return check


def _number(bounds: Range) -> _Check:
    def check(name: str, value: Any) -> float:
        if not _is_number(value):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if value not in bounds:
            raise ValueError(f"{name} must be {bounds}, got {value!r}")
        return float(value)

    return check


def _optional_number(name: str, value: Any) -> float | None:
    # Kept as given: an integer bound stays an integer in the explanation that quotes it.
    if value is not None and not _is_number(value):
        raise ValueError(f"{name} must be a number or null, got {value!r}")
    return value  # type: ignore[no-any-return]


def _choice(options: tuple[str, ...]) -> _Check:
    def check(name: str, value: Any) -> str:
        if value not in options:
            raise ValueError(f"{name} must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return check


def _thresholds(name: str, value: Any) -> Thresholds:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
        raise ValueError(f"{name} must be [warning, alert] numbers, got {value!r}")
    return float(value[0]), float(value[1])


def _column_names(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ValueError(f"{name} must be a list of column names, got {value!r}")
    return tuple(value)


def _boolean(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value  # type: ignore[no-any-return]


_CHECKS_BY_TYPE: dict[Any, _Check] = {
    Thresholds: _thresholds,
    float | None: _optional_number,
    bool | None: _boolean,
    tuple[str, ...] | None: _column_names,
}


def _check_for(hint: Any, where: str) -> _Check:
    bounds = Range()
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        bounds = next((e for e in extras if isinstance(e, Range)), bounds)
    if hint is int:
        return _integer(bounds)
    if hint is float:
        return _number(bounds)
    if typing.get_origin(hint) is Literal:
        return _choice(tuple(str(v) for v in typing.get_args(hint)))
    if hint in _CHECKS_BY_TYPE:
        return _CHECKS_BY_TYPE[hint]
    raise TypeError(f"{where}: no check for parameters of type {hint!r}")


@dataclasses.dataclass(frozen=True)
class TestParams:
    """The parameters every test accepts; a test's own class adds its keys.

    ``enabled`` switches a test on or off (``None``: the test's default, see
    ``TestSpec.enabled_by_default``).
    """

    __test__ = False  # not a pytest class

    enabled: bool | None = None

    @classmethod
    def keys(cls) -> list[str]:
        """The config keys this test accepts, sorted."""
        return sorted(f.name for f in dataclasses.fields(cls))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each key's default, as a JSON config spells it (tuples as lists)."""
        return {
            f.name: list(f.default) if isinstance(f.default, tuple) else f.default
            for f in dataclasses.fields(cls)
        }

    @classmethod
    def parse(cls: type[P], config: Mapping[str, Any]) -> P:
        """The typed parameters of ``config`` (a test's ``individual_tests_config`` object).

        Keys left out take their defaults.

        Raises
        ------
        ValueError
            A key the test does not accept, or a value of the wrong type or out of range;
            the message names the key.
        """
        unknown = set(config) - set(cls.keys())
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(sorted(map(str, unknown)))}; "
                f"this test accepts: {', '.join(cls.keys())}"
            )
        checks = _checks(cls)
        params = cls(**{key: checks[key](key, value) for key, value in config.items()})
        # Not a field: the keys and defaults stay the config's; frozen, hence object.__setattr__.
        object.__setattr__(params, "_given", frozenset(config))
        return params

    def given(self, *keys: str) -> bool:
        """Whether the user's config set any of ``keys`` (even to its default value)."""
        given: frozenset[str] = getattr(self, "_given", frozenset())
        return not given.isdisjoint(keys)


_CHECKS: dict[type[TestParams], dict[str, _Check]] = {}


def _checks(cls: type[TestParams]) -> dict[str, _Check]:
    """Each field's check, from its type (resolved once per class)."""
    if cls not in _CHECKS:
        hints = typing.get_type_hints(cls, include_extras=True)
        _CHECKS[cls] = {
            f.name: _check_for(hints[f.name], f"{cls.__name__}.{f.name}") for f in dataclasses.fields(cls)
        }
    return _CHECKS[cls]
