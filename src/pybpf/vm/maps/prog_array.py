"""``BPF_MAP_TYPE_PROG_ARRAY``: the jump table of ``bpf_tail_call``.

Values are programs loaded in the same VM (:class:`~pybpf.vm.VMProgram`); reading back gives
the program. A program cannot look elements up, only tail-call through them.
"""

from __future__ import annotations

from typing import Any

from pybpf.vm.maps._objects import ObjectMap

__all__ = ["ProgArrayMap"]


class ProgArrayMap(ObjectMap):
    """Index → program, for tail calls."""

    def _accept(self, value: object) -> object:
        if not callable(getattr(value, "tail_call", None)):
            raise self.refuse(f"a prog array holds VM programs, not {type(value).__name__}")
        return value

    def bpf_lookup(self, key: bytes) -> int:
        return 0

    def program(self, index: int) -> Any:
        """The program at ``index``, or ``None``."""
        if not 0 <= index < self.max_entries:
            return None
        return self._items.get(index.to_bytes(4, self._order))
