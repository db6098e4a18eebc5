"""Global variables of a loaded collection, read and written in place.

A ``.data``/``.bss`` map created ``BPF_F_MMAPABLE`` is mapped into this process once, and a
variable is a slice of that memory: reading it sees what programs wrote last, writing it is
a store programs see at once (no system call either way), as with a libbpf skeleton's
``skel->bss->x``. ``.rodata`` maps are mapped read-only (they are frozen). Maps that cannot
be mapped (no ``BPF_F_MMAPABLE``, the fake kernel) are read and written through the map.

Values are typed from the variable's BTF type (:func:`pybpf.btf.values.type_codec`): ints,
bools, enums, floats, ``bytes`` for char arrays, generated classes for structs; raw bytes
are always accepted. A variable without BTF reads as bytes and takes bytes or an int.
"""

from __future__ import annotations

from functools import cached_property

from pybpf.btf._btf import BTF
from pybpf.objects._errors import CodecError
from pybpf.objects.codec import encode_exact
from pybpf.objects.kv import ArrayMap, KeyValueMap
from pybpf.objects.variable import Variable
from pybpf.spec import BPF_F_MMAPABLE, VariableSpec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GlobalVariable"]


class GlobalVariable(Variable):
    """A global variable of a loaded collection (see the module docstring).

    ``value`` reads it as a Python value, ``set(value)`` (or assigning ``value``) writes
    it; ``get()`` gives the raw bytes.
    """

    def __init__(self, spec: VariableSpec, map: KeyValueMap, *, mapped: bool) -> None:
        super().__init__(spec, map)
        self._btf = spec.btf if isinstance(spec.btf, BTF) else None
        self._type = spec.type
        self._array = map if isinstance(map, ArrayMap) and map.flags & BPF_F_MMAPABLE else None
        self._mapped = mapped and self._array is not None
        if self._mapped and self._array is not None:
            self._array.mmap()  # mapped once, now: the map's memory is shared from here on

    def _memory(self) -> memoryview | None:
        """The variable's bytes in the map's memory (``None`` when not mapped); a fresh
        slice each time, so nothing keeps the mapping alive once the map is closed."""
        if not self._mapped or self._array is None:
            return None
        self._array.fileno()  # ClosedError once the collection is closed
        return self._array.mmap()[self.offset : self.offset + self.size]

    @cached_property
    def _codec(self) -> Any:
        if self._btf is None or self._type is None:
            return None
        from pybpf.btf.values import type_codec  # noqa: PLC0415 - only typed access needs it

        codec = type_codec(self._btf, self._type)
        return codec if codec.size == self.size else None

    @property
    def mapped(self) -> bool:
        """Whether reads and writes go straight to the map's memory."""
        return self._mapped

    def get(self) -> bytes:
        """The variable's current bytes."""
        memory = self._memory()
        if memory is not None:
            return bytes(memory)
        return super().get()

    @property
    def value(self) -> Any:
        """The current value, typed from BTF (bytes when the variable has no BTF type)."""
        raw = self.get()
        codec = self._codec
        return codec.decode(raw) if codec is not None else raw

    @value.setter
    def value(self, value: Any) -> None:
        self.set(value)

    def set(self, value: object) -> None:
        """Store ``value``: a Python value of the variable's type, or its exact bytes.

        Raises:
            CodecError: the value does not fit the variable, or the variable is constant.
        """
        data = self._encode(value)
        memory = self._memory()
        if memory is None:
            super().set(data)
        elif memory.readonly:
            raise CodecError(f"variable {self.name!r} is constant (its map is frozen)")
        else:
            memory[:] = data

    def _encode(self, value: object) -> bytes:
        codec = self._codec
        if codec is None or isinstance(value, (bytes, bytearray, memoryview)):
            return encode_exact(value, self.size, f"variable {self.name!r}")
        data: bytes = codec.encode(value)
        return data
