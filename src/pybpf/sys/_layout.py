"""Declare a C layout once, as annotations, and get a ctypes structure from it.

A layout class lists its fields in order as ``name: Annotated[python type, ctypes type]``
(optionally a third item, the bit width of a bit field), or ``name: OtherLayout`` for a nested
structure or union. :func:`layout` turns the annotations
into ``_fields_``, so the field list is written once and mypy still sees plain ``int``/``bytes``
attributes. Padding the C compiler would insert is written out (``_pad*`` fields), so every
offset is explicit and the same on every host; ``tests/sys/test_sys_layouts.py`` compares each
offset with the C compiler's.

:mod:`typing` is not imported at run time (it is a tenth of ``pybpf prog loadall``'s import
time): the annotations are read as the strings they are (``from __future__ import
annotations``), the names of this module's aliases (``U32`` …) looked up directly and anything
else evaluated with a stand-in ``Annotated`` that keeps only the metadata.
"""

from __future__ import annotations

import ctypes
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Annotated, Any, TypeVar

    _C = TypeVar("_C", bound=type)

    U8 = Annotated[int, ctypes.c_uint8]
    U16 = Annotated[int, ctypes.c_uint16]
    U32 = Annotated[int, ctypes.c_uint32]
    S32 = Annotated[int, ctypes.c_int32]
    U64 = Annotated[int, ctypes.c_uint64]  # __u64 and __aligned_u64 (pointers: u64)
    Name = Annotated[bytes, ctypes.c_char * 16]  # char name[BPF_OBJ_NAME_LEN]
    Tag = Annotated[Any, ctypes.c_uint8 * 8]  # __u8 tag[BPF_TAG_SIZE]: read with bytes(...)
else:

    class Annotated:
        """``typing.Annotated`` at run time: ``Annotated[T, *meta]`` is ``meta`` (a tuple)."""

        def __class_getitem__(cls, params: tuple[object, ...]) -> tuple[object, ...]:
            return tuple(params[1:])

    U8 = (ctypes.c_uint8,)
    U16 = (ctypes.c_uint16,)
    U32 = (ctypes.c_uint32,)
    S32 = (ctypes.c_int32,)
    U64 = (ctypes.c_uint64,)
    Name = (ctypes.c_char * 16,)
    Tag = (ctypes.c_uint8 * 8,)

__all__ = ["S32", "U8", "U16", "U32", "U64", "Annotated", "Name", "Tag", "fields_of", "layout"]

_NESTED = (ctypes.Structure, ctypes.Union, ctypes.Array)


def layout(cls: _C) -> _C:
    """Class decorator: set ``_fields_`` from the class's own ``Annotated`` annotations."""
    module = sys.modules[cls.__module__].__dict__
    fields: list[Any] = []
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect costs 5 ms
    for name, text in annotations.items():
        hint = module.get(text) if isinstance(text, str) else text
        if hint is None:  # an expression (``Annotated[int, ctypes.c_uint32, 1]``)
            scope = {**module, "Annotated": Annotated, "Any": object, "ctypes": ctypes}
            hint = eval(text, scope)  # (our own annotations)
        if isinstance(hint, tuple):
            fields.append((name, *hint))
        elif isinstance(hint, type) and issubclass(hint, _NESTED):
            fields.append((name, hint))
    cls._fields_ = fields  # type: ignore[attr-defined]
    return cls


def fields_of(cls: type) -> list[tuple[str, int, int]]:
    """``(name, offset, size)`` of every field of a layout, padding included (for tests)."""
    out = []
    for spec in cls._fields_:  # type: ignore[attr-defined]
        # A bit field's descriptor packs its bit width into .size: report its storage unit.
        out.append((spec[0], getattr(cls, spec[0]).offset, ctypes.sizeof(spec[1])))
    return out
