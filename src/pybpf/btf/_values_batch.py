"""Decoding many values packed back to back (a map's batch of keys or values) at C speed.

A batch of ``count`` values of ``size`` bytes each::

    data   | value 0 (size bytes) | value 1 | ... | value count-1 | (anything after: ignored)

Most map keys and values are *plain* structs: whole integers (or floats, or byte arrays), each
its own field, perhaps with padding between them (``struct flow { __u32 saddr, daddr; __u16
sport, dport; __u8 proto; /* 3 bytes padding */ }``). Their values are made without a Python
call per value:

* the padding of the whole batch is checked at once: one strided view per padding byte
  (``view[13::16]`` holds byte 13 of every value) compared with zeros;
* the fields are unpacked by one ``struct`` call over the batch (a flat run of one code,
  ``"<200000Q"``, regrouped by ``zip``) or by ``iter_unpack`` (mixed codes);
* each value is ``tuple.__new__(cls, fields)``, called by ``map`` from C.

A batch where some padding is not zero takes the per-value path, which remembers those bytes
(as single values do). Other layouts (enums, bools, strings, nested structs, arrays) build
each value with the generated builder; bitfields and unions take the general path.

The cyclic garbage collector is paused while a batch of struct values is made: they hold no
cycles, and collections set off by their number would rescan the growing batch again and again.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from itertools import repeat
from typing import Any

from pybpf._util import paused_gc
from pybpf.btf._values_flat import Compiled, many_struct
from pybpf.errors import CodecError

__all__ = ["MAX_PAD_CHECKS", "ManyDecoder", "check_size", "plain_many"]

ManyDecoder = Callable[[bytes, int], list[Any]]

MAX_PAD_CHECKS = 16
"""Plain structs with more padding bytes than this check it value by value."""

_new = tuple.__new__
_CODES = frozenset("bBhHiIlLqQefd?")  # one item per code letter, no count


def check_size(data: object, count: int, size: int) -> memoryview:
    """The first ``count * size`` bytes of ``data`` as a byte view.

    Raises:
        CodecError: ``data`` is shorter.
    """
    view = memoryview(data).cast("B")  # type: ignore[arg-type]
    need = count * size
    if len(view) < need:
        raise CodecError(f"{count} values of {size} bytes need {need} bytes; {len(view)} given")
    return view[:need]


def _uniform(fmt: str) -> str | None:
    """The one code of a format like ``"<QQ"`` or ``"<III"`` (whole items, no counts, no
    padding), else None."""
    codes = fmt[1:]
    if codes and codes[0] in _CODES and codes == codes[0] * len(codes):
        return codes[0]
    return None


def plain_many(c: Compiled) -> ManyDecoder | None:
    """A ``decode_many`` for a plain struct (see the module docstring), or None."""
    if not c.plain or len(c.pad_bytes) > MAX_PAD_CHECKS:
        return None
    cls: type = c.node.cls  # type: ignore[attr-defined]
    size, pads = c.node.size, c.pad_bytes
    rec, build, dec = c.enc, c.build, c.dec
    order, code = rec.format[0], _uniform(rec.format)
    fields = struct.calcsize(rec.format) // struct.calcsize(order + code) if code else 0

    def decode_many(data: bytes, count: int) -> list[Any]:
        view = check_size(data, count, size)
        with paused_gc():
            if pads and not _zero_at(view, pads, size, count):
                return list(map(build, dec.iter_unpack(view)))
            if code is not None:
                it = iter(many_struct(order, count * fields, code).unpack_from(view))
                return list(map(_new, repeat(cls, count), zip(*[it] * fields, strict=True)))
            return list(map(_new, repeat(cls, count), rec.iter_unpack(view)))

    return decode_many


@functools.lru_cache(maxsize=8)
def _zeros(count: int) -> bytes:
    return bytes(count)


def _zero_at(view: memoryview, offsets: tuple[int, ...], size: int, count: int) -> bool:
    """Whether byte ``off`` of every value is zero, for each of ``offsets``."""
    zeros = _zeros(count)
    return all(view[off::size] == zeros for off in offsets)
