"""Global variables of a loaded collection: slices of a global-data map's single value.

``.data``, ``.rodata`` and ``.bss`` are array maps of one element; each global variable is
``size`` bytes at ``offset`` in that element. :class:`Variable` reads and writes those bytes
through the map (``.rodata`` is frozen after load: reading works, writing raises). Typed access
(ints, structs) comes with BTF-typed codecs.
"""

from __future__ import annotations

import errno

from pybpf.errors import SyscallError
from pybpf.objects._errors import CodecError
from pybpf.objects.codec import encode_exact
from pybpf.objects.kv import KeyValueMap
from pybpf.spec import VariableSpec

__all__ = ["Variable"]


class Variable:
    """A global variable: ``size`` bytes at ``offset`` in the value of its map."""

    def __init__(self, spec: VariableSpec, map: KeyValueMap) -> None:
        self.name = spec.name
        self.offset = spec.offset
        self.size = spec.size
        self.constant = spec.constant
        self.map = map

    def get(self) -> bytes:
        """The variable's current bytes."""
        value = self.map._lookup_raw(0)
        return value[self.offset : self.offset + self.size]

    def set(self, value: object) -> None:
        """Store ``value`` (``size`` bytes, or an int that fits, in host byte order).

        Raises:
            CodecError: the value does not fit the variable.
            SyscallError: EPERM when the map is frozen (``.rodata`` after load).
        """
        data = encode_exact(value, self.size, f"variable {self.name!r}")
        whole = bytearray(self.map._lookup_raw(0))
        whole[self.offset : self.offset + self.size] = data
        try:
            self.map[0] = bytes(whole[: self.map.value_size])
        except SyscallError as exc:
            if exc.errno == errno.EPERM and self.constant:
                raise CodecError(f"variable {self.name!r} is constant (its map is frozen)") from exc
            raise

    def __repr__(self) -> str:
        where = f"map={self.map.name!r}, offset={self.offset}, size={self.size}"
        return f"Variable({self.name!r}, {where})"
