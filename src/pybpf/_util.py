"""Small helpers shared by every layer (standard library only)."""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom):
if TYPE_CHECKING:  # ``import pybpf`` loads this module, and should load little else
    from collections.abc import Callable, Mapping
    from types import TracebackType
    from typing import TypeVar

    _T = TypeVar("_T")


__all__ = [
    "Generic",
    "align",
    "lazy_exports",
    "overload",
    "paused_gc",
    "s16",
    "s32",
    "s64",
    "u32",
    "u64",
]


def align(value: int, to: int) -> int:
    """``value`` rounded up to a multiple of ``to`` (a power of two)."""
    return (value + to - 1) & ~(to - 1)


def s16(v: int) -> int:
    """The low 16 bits of ``v`` as a signed integer."""
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def s32(v: int) -> int:
    """The low 32 bits of ``v`` as a signed integer."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def s64(v: int) -> int:
    """The low 64 bits of ``v`` as a signed integer."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


def u32(v: int) -> int:
    """The low 32 bits of ``v``."""
    return v & 0xFFFFFFFF


def u64(v: int) -> int:
    """The low 64 bits of ``v``."""
    return v & 0xFFFFFFFFFFFFFFFF


# -- typing at run time, without typing -------------------------------------------------------
# ``typing`` takes ~2 ms to import; annotations are strings (``from __future__ import
# annotations``) and ``if TYPE_CHECKING:`` blocks hold what only type checkers read. Two names
# are needed at run time by generic classes: ``Generic`` (a base, subscripted) and
# ``overload`` (a decorator); a module imports these under ``else:`` of its TYPE_CHECKING.


class Generic:
    """``typing.Generic`` at run time: subscripting a subclass gives the class itself
    (``Deferred[list[int]]`` is ``Deferred``)."""

    __slots__ = ()

    def __class_getitem__(cls, params: object) -> type:
        return cls


def overload(func: _T) -> _T:
    """``typing.overload`` at run time: the signatures are for type checkers only (the
    implementation that follows replaces each)."""
    return func


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` (PEP 562) importing each exported name's module on first use.

    A package ``__init__`` that imported every submodule up front would make ``import
    pybpf.spec.loader`` (or ``pybpf prog loadall``) pay for the assembler, the builder and
    every other sibling: Python runs a package's ``__init__`` before any of its submodules.
    So the ``__init__``\\s name their exports here (module -> space-separated names) and
    import nothing::

        __getattr__ = lazy_exports(__name__, {"pybpf.asm.assembler": "assemble detect_syntax"})

    The first access imports the module and stores the value in the package's namespace,
    so later accesses are plain attribute lookups. (Type checkers see the names through an
    ``if TYPE_CHECKING:`` import block beside the table.)
    """
    where = {name: module for module, names in exports.items() for name in names.split()}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        __import__(module)  # not importlib.import_module: -X importtime does not see that
        value = getattr(sys.modules[module], name)
        namespace[name] = value
        return value

    return __getattr__


class _PausedGC:
    __slots__ = ("_was_enabled",)

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._was_enabled:
            gc.enable()


def paused_gc() -> _PausedGC:
    """A context manager pausing the cyclic garbage collector (if it runs) meanwhile: while a
    batch of new, cycle-free objects is built, collections triggered by their sheer number
    would rescan them over and over (a third of the decoding time of a 100k-entry walk)."""
    return _PausedGC()
