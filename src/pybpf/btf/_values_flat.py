"""Compiling flat layouts: one :class:`struct.Struct` and a few lines of generated Python per
type, so that decoding a struct value is one ``unpack`` and one tuple construction.

A layout is flat when it is a run of whole, byte-aligned scalars and byte strings: no
bitfields, no unions (whose members overlap). For ``struct flow { __u32 saddr; __u16 port;
/* 2 bytes padding */ __u64 bytes; }`` in little-endian BTF::

    decode format  "<IH2sQ"   the padding read as an item, to check that it is zero
    encode format  "<IH2xQ"   the padding written as zeros
    build          t[2] == b'\\0\\0' and _new(flow, (t[0], t[1], t[3]))   (else: general path)
    pack args      o[0], o[1], o[2]

Generated source refers to nothing but indexes and constants handed in through a namespace
(:class:`~pybpf.btf._values_nodes.Emitter`): no name from the BTF ever becomes code.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pybpf.btf._values_nodes import ArrayNode, Emitter, Node
from pybpf.btf.kinds import ByteOrder

__all__ = ["MAX_ITEMS", "Compiled", "compiled", "flat_ok", "many_struct"]

MAX_ITEMS = 4096
"""Layouts unpacking to more items than this are decoded by the general path."""

_Build = Callable[[tuple[Any, ...]], object]


@dataclass(frozen=True)
class Compiled:
    """What a flat node compiles to.

    ``build`` makes the value from a tuple unpacked with ``dec`` (falling back to the general
    path when padding is not zero, so that it is remembered); ``args`` gives the items to pack
    with ``enc`` from a canonical value; ``source`` is the generated code, for reading.
    """

    node: Node
    dec: struct.Struct
    enc: struct.Struct
    build: _Build
    args: Callable[[Any], tuple[Any, ...]]
    ns: dict[str, object]  # the constants the sources below refer to
    expr: str  # builds the value from ``t`` (when the pad checks pass)
    checks: str  # pad checks ("" when there is no padding)
    slow: str  # name of the general path's builder from ``t``
    pack: str  # the pack arguments of ``o``, comma-separated
    trivial: bool  # the unpacked tuple is the value's tuple (no padding, no conversions)
    pads: tuple[tuple[int, bytes], ...]  # (item index, its zero bytes) of every pad item
    plain: bool  # when its padding is zero, the value is ``_new(cls, enc.unpack(...))``
    pad_bytes: tuple[int, ...]  # offsets of the padding bytes (those ``pads`` cover)


def _prefix(node: Node) -> str:
    return "<" if getattr(node, "order", "little") == "little" else ">"


def flat_ok(node: Node) -> bool:
    """Whether ``node`` compiles to a flat layout of a reasonable size."""
    return node.flat and node.items(True) <= MAX_ITEMS


def compiled(node: Node) -> Compiled:
    """The compiled layout of a flat node (cached on the node)."""
    done: Compiled | None = node.__dict__.get("_compiled")
    if done is None:
        done = _compile(node)
        node.__dict__["_compiled"] = done
    return done


def _compile(node: Node) -> Compiled:
    order = _order_of(node)
    dec = struct.Struct(order + node.fmt(True))
    enc = struct.Struct(order + node.fmt(False))
    em = Emitter()
    pads: list[tuple[int, bytes]] = []
    expr = node.emit_build(em, 0, pads)
    n = node.items(True)
    trivial = not pads and expr == _trivial(em, node, range(n))
    slow = em.const(lambda t: node.decode(dec.pack(*t), 0))
    if pads:
        tests = " and ".join(f"t[{i}] == {em.const(z)}" for i, z in pads)
        build_src = f"lambda t: ({expr}) if {tests} else {slow}(t)"
    else:
        build_src = f"lambda t: {expr}"
    checks = " and ".join(f"t[{i}] == {em.const(z)}" for i, z in pads)
    pack = "".join(p + ", " for p in node.emit_pack(em, "o"))
    build = eval(build_src, em.ns)
    args = eval(f"lambda o: ({pack})", em.ns)
    if trivial:
        build = functools.partial(tuple.__new__, node.cls)  # type: ignore[attr-defined]
    kept = [i for i in range(n) if i not in {at for at, _ in pads}]
    plain = expr == _trivial(em, node, kept)
    done = (node, dec, enc, build, args, em.ns, expr, checks, slow, pack, trivial, tuple(pads))
    return Compiled(*done, plain, _pad_bytes(node) if pads else ())


def _order_of(node: Node) -> str:
    while isinstance(node, ArrayNode):
        node = node.elem
    return _prefix(node)


def _trivial(em: Emitter, node: Node, items: Iterable[int]) -> str | None:
    """The source of a struct value made of the unpacked ``items`` as they are."""
    cls = getattr(node, "cls", None)
    if cls is None or getattr(node, "union", True):
        return None
    inner = "".join(f"t[{i}], " for i in items)
    return f"_new({em.const(cls)}, ({inner}))"


def _pad_bytes(node: Node) -> tuple[int, ...]:
    """The offsets of a flat struct's padding bytes: the bytes no member covers (a flat
    layout has no bitfields, so padding is whole bytes)."""
    mask: int = getattr(node, "padmask", 0)
    order: ByteOrder = "little" if _prefix(node) == "<" else "big"
    return tuple(i for i, b in enumerate(mask.to_bytes(node.size, order)) if b)


@functools.lru_cache(maxsize=64)
def many_struct(order: str, count: int, code: str) -> struct.Struct:
    """A format of ``count`` items of a one-character ``code`` (for batches of scalars)."""
    return struct.Struct(f"{order}{count}{code}")
