"""Run eBPF in user space: an interpreter, a pure-Python fast tier and an llvmlite JIT, with
user-space maps and helpers, behind a ``test_run`` like the kernel's.

Raw instructions (from the assembler, the builder or bytes) or a ``ProgramSpec`` load into a
:class:`VM`; every memory access is checked, every run has an instruction budget::

    from pybpf.vm import VM
    prog = VM().load(instructions)             # r1 = data, r2 = its length
    prog.run(b"\\x01\\x02")                     # -> r0
    prog.test_run(data=pkt, repeat=100, tier="jit")

Addresses a program sees are virtual (see :mod:`pybpf.vm.memory`); the VM is not
thread-safe (one run at a time per VM).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pybpf._util import lazy_exports

if TYPE_CHECKING:
    from pybpf.vm._interp import Stepper
    from pybpf.vm._machine import VM, Task, VMCollection
    from pybpf.vm._program import TIERS, TestRunResult, Tier, VMProgram
    from pybpf.vm.context import (
        ContextEntry,
        Entry,
        FixedMbuffEntry,
        MbuffEntry,
        MemoryEntry,
        NoDataEntry,
        SkbEntry,
        XdpEntry,
    )
    from pybpf.vm.env import Env
    from pybpf.vm.helpers import DEFAULT_HELPERS, HelperRegistry
    from pybpf.vm.maps import UpdateFlags, VMMap, create_map
    from pybpf.vm.memory import PACKET_BASE
    from pybpf.vm.verifier import Verifier, verify

__all__ = [
    "DEFAULT_HELPERS",
    "PACKET_BASE",
    "TIERS",
    "VM",
    "ContextEntry",
    "Entry",
    "Env",
    "FixedMbuffEntry",
    "HelperRegistry",
    "MbuffEntry",
    "MemoryEntry",
    "NoDataEntry",
    "SkbEntry",
    "Stepper",
    "Task",
    "TestRunResult",
    "Tier",
    "UpdateFlags",
    "VMCollection",
    "VMMap",
    "VMProgram",
    "Verifier",
    "XdpEntry",
    "create_map",
    "run",
    "verify",
]


def run(program: object, data: bytes = b"", *, tier: Tier = "interp", **load: object) -> int:
    """Load ``program`` in a fresh :class:`VM` and run it once over ``data``; returns r0."""
    from pybpf.vm._machine import VM  # noqa: PLC0415 - the package imports lazily

    return VM(tier=tier).load(program, **load).run(data)  # type: ignore[arg-type]


__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf.vm._interp": "Stepper",
        "pybpf.vm._machine": "VM Task VMCollection",
        "pybpf.vm._program": "TIERS TestRunResult Tier VMProgram",
        "pybpf.vm.context": (
            "ContextEntry Entry FixedMbuffEntry MbuffEntry MemoryEntry NoDataEntry SkbEntry "
            "XdpEntry"
        ),
        "pybpf.vm.env": "Env",
        "pybpf.vm.helpers": "DEFAULT_HELPERS HelperRegistry",
        "pybpf.vm.maps": "UpdateFlags VMMap create_map",
        "pybpf.vm.memory": "PACKET_BASE",
        "pybpf.vm.verifier": "Verifier verify",
    },
)
