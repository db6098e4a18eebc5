"""Where an arena's ``__arena`` globals may live: libbpf's ``FEAT_LDIMM64_FULL_RANGE_OFF``.

Kernels before 6.12 refuse an ``lddw`` of a map value at an offset past the value
("direct value offset of N is not allowed"); later ones let it reach anywhere in an arena,
so libbpf puts the globals at the end of the arena (leaving its start to the allocator).
The probe loads ``lddw r1, map_value(array, 1 << 30)`` into a socket filter: both kernels
refuse it, and the verifier's message says which rule did.
"""

from __future__ import annotations

from pybpf._uapi import MapType, ProgType
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import SyscallError
from pybpf.features import Feature
from pybpf.features._core import load_program
from pybpf.features._insns import EXIT
from pybpf.sys import MapCreateAttr, map_create

__all__ = ["FULL_RANGE_LDDW"]

_OLD_RULE = "direct value offset of"
_NEW_RULE = "invalid access to map value pointer"


def _probe() -> bool:
    attr = MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=1, max_entries=1)
    with map_create(attr) as fd:
        lddw = Instruction.lddw(1, 0, src=PseudoSrc.MAP_VALUE).with_fields(
            imm=fd.fileno(), imm_hi=1 << 30
        )
        found = load_program(ProgType.SOCKET_FILTER, (lddw, EXIT), log_size=1024)
    if _OLD_RULE in found.log:
        return False
    if _NEW_RULE in found.log:
        return True
    raise SyscallError("BPF_PROG_LOAD", found.errno or 22, "arena offset probe: unexpected log")


FULL_RANGE_LDDW = Feature("lddw of any offset into an arena", "6.12", _probe)
