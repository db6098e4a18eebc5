"""Spec fields computed on first read.

Parsing a 650 KB object must take milliseconds, but decoding its 40,000 instructions into
:class:`~pybpf.asm.instruction.Instruction` values alone takes a quarter of a second. So the
loader hands the heavy fields of a spec (instructions, func_info, line_info, CO-RE records)
over as :class:`Deferred` values: recipes that are run the first time the field is read, the
result then stored in place of the recipe. To the user the field is a plain, editable
``list`` (``spec.instructions.append(...)`` works), and assigning a list replaces it.

Copies (:func:`copy.deepcopy`, ``spec.copy()``) share a recipe that has not run yet (it is
immutable); pickling runs it and pickles the result.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any, Generic, TypeVar, overload

    _T = TypeVar("_T")
else:
    from pybpf._util import Generic, overload

    _T = None

__all__ = ["Deferred", "Lazy"]


class Deferred(Generic[_T]):
    """A value to compute on first use: ``make()`` is called once, by :class:`Lazy`.

    ``make`` must not depend on mutable state: the recipe may run long after it was made.
    ``count`` is a size the producer knows without running it (for instructions: the number
    of 8-byte slots), or ``None``.
    """

    __slots__ = ("_make", "count")

    def __init__(self, make: Callable[[], _T], count: int | None = None) -> None:
        self._make = make
        self.count = count

    def __call__(self) -> _T:
        return self._make()

    def __copy__(self) -> Deferred[_T]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Deferred[_T]:
        return self

    def __reduce__(self) -> tuple[Callable[[_T], _T], tuple[_T]]:
        return _ready, (self(),)

    def __repr__(self) -> str:
        return "<Deferred>"


def _ready(value: _T) -> _T:
    return value


class Lazy(Generic[_T]):
    """A record field (a data descriptor) whose value may be given as a :class:`Deferred`.

    Example::

        @record
        class ProgramSpec:
            instructions: Lazy[list[Instruction]] = Lazy(list)

    Reading the field runs a pending recipe once and keeps the result; the default is a
    fresh ``factory()`` per instance, as with ``field(default_factory=...)``.
    """

    def __init__(self, factory: Callable[[], _T]) -> None:
        self._default: Deferred[_T] = Deferred(factory)
        self._attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._attr = f"_lazy_{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Deferred[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...  # noqa: F811
    def __get__(self, obj: object | None, owner: type | None = None) -> _T | Deferred[_T]:  # noqa: F811
        if obj is None:
            return self._default  # the record machinery asks for the default here
        stored = obj.__dict__
        value = stored[self._attr]
        if isinstance(value, Deferred):
            value = value()
            stored[self._attr] = value
        return value  # type: ignore[no-any-return]

    def __set__(self, obj: object, value: _T | Deferred[_T]) -> None:
        obj.__dict__[self._attr] = value

    def pending(self, obj: object) -> Deferred[_T] | None:
        """The recipe of ``obj``'s field if it has not run yet, else ``None``."""
        value = obj.__dict__.get(self._attr)
        return value if isinstance(value, Deferred) else None
