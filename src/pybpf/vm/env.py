"""What a helper sees while a program runs: memory, maps, the packet, the run's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pybpf.errors import VMError
from pybpf.vm.memory import (
    CODE_REGION,
    MAPS_REGION,
    OFFSET_MASK,
    REGION_SHIFT,
    AddressSpace,
    region_base,
)

if TYPE_CHECKING:
    from pybpf.vm._machine import VM
    from pybpf.vm._program import VMProgram
    from pybpf.vm.context import Entry
    from pybpf.vm.maps.base import VMMap

__all__ = ["MAX_LOOPS", "MAX_TAIL_CALLS", "Env", "Runner", "code_address", "map_handle"]

MAX_TAIL_CALLS = 33
"""How many tail calls one run may make (the kernel's MAX_TAIL_CALL_CNT)."""

MAX_LOOPS = 8 * 1024 * 1024
"""``may_goto`` budget per run (the kernel's BPF_MAX_LOOPS)."""


class Runner(Protocol):
    """A program compiled by one tier."""

    def run(self, r1: int, r2: int = 0, depth: int = 0) -> int:
        """Run from the entry with r1, r2 at call depth ``depth``; returns r0."""
        ...

    def call(self, addr: int, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        """Call the function at code address ``addr`` (a helper's callback)."""
        ...

    def depth(self) -> int:
        """The call depth of the running frame."""
        ...


def code_address(pc: int) -> int:
    """The address a program sees for the function starting at slot ``pc``."""
    return region_base(CODE_REGION) | pc


def map_handle(index: int) -> int:
    """The address ``lddw MAP_FD`` loads for the VM's map number ``index``."""
    return region_base(MAPS_REGION) | index


class Env:
    """The state of the VM's current run, shared by the tier running it and the helpers.

    ``runner`` is the tier object executing now (it answers :meth:`call` for ``bpf_loop``
    callbacks and :meth:`depth`); ``unwind`` set by a helper (a successful tail call) makes
    the running frame return ``retval`` at once; ``budget`` is the number of instructions
    the run may still execute, kept up to date across nested runs.
    """

    __slots__ = (
        "budget",
        "entry",
        "loops",
        "machine",
        "mem",
        "program",
        "retval",
        "runner",
        "tail_calls",
        "unwind",
    )

    def __init__(self, machine: VM, program: VMProgram | None, entry: Entry) -> None:
        self.machine = machine
        self.mem: AddressSpace = machine.mem
        self.program = program
        self.entry = entry
        self.runner: Runner | None = None
        self.unwind = False
        self.retval = 0
        self.tail_calls = 0
        self.loops = MAX_LOOPS
        self.budget = 0

    def reset(self, budget: int) -> None:
        """Start a new run with ``budget`` instructions."""
        self.unwind = False
        self.retval = 0
        self.tail_calls = 0
        self.loops = MAX_LOOPS
        self.budget = budget

    def call(self, addr: int, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
        """Call the running program's function at code address ``addr`` (for callbacks)."""
        if self.runner is None:
            raise VMError("no program is running")
        return self.runner.call(addr, r1, r2, r3, r4, r5)

    def depth(self) -> int:
        """The call depth of the running frame (0 in the entry function)."""
        return self.runner.depth() if self.runner is not None else 0

    def map_at(self, addr: int) -> VMMap:
        """The map whose handle is ``addr``.

        Raises:
            VMError: ``addr`` is not a map handle of this VM.
        """
        if addr >> REGION_SHIFT == MAPS_REGION:
            index = addr & OFFSET_MASK
            maps = self.machine.maps_by_index
            if index < len(maps):
                found = maps[index]
                if found is not None:
                    return found
        raise VMError(f"{addr:#x} is not a map pointer")
