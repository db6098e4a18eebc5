"""The VM: user-space memory, maps and helpers, and the programs loaded into it.

:class:`VM` plays the kernel's part (it owns the address space, the maps, the helpers and
the settings a helper may ask for: CPUs, clocks, the current task); :class:`VMProgram` is a
program loaded into it, run by one of three tiers with one semantics::

    vm = VM()
    counts = vm.create_map(MapSpec("counts", MapType.HASH, 4, 8, 1024))
    prog = vm.load(spec, tier="fast")          # a ProgramSpec, instructions or bytes
    result = prog.test_run(data=packet, repeat=1000)
    result.retval, result.data, counts[b"\\x0a\\0\\0\\x01"]
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pybpf._uapi import ProgType
from pybpf.asm.instruction import Instruction, decode
from pybpf.asm.opcodes import CallKind, Kind, PseudoSrc
from pybpf.errors import DecodeError, VMError
from pybpf.spec import CollectionSpec, MapSpec, ProgramSpec
from pybpf.vm._code import Code
from pybpf.vm._program import Tier, VMProgram
from pybpf.vm.context import Entry, entry_for
from pybpf.vm.env import Env, code_address, map_handle
from pybpf.vm.helpers import DEFAULT_HELPERS, HelperRegistry
from pybpf.vm.maps import VMMap, create_map
from pybpf.vm.maps.array import ArrayMap
from pybpf.vm.memory import MAX_FRAMES, STACK_REGION, STACK_SIZE, AddressSpace
from pybpf.vm.verifier import Verifier, slots, verify

__all__ = ["DEFAULT_BUDGET", "VM", "Task", "VMCollection"]

DEFAULT_BUDGET = 10_000_000
ProgramLike = ProgramSpec | Sequence[Instruction] | bytes | bytearray | memoryview

_trace_log = logging.getLogger("pybpf.vm.trace")


@dataclass
class Task:
    """The "current task" helpers report (``get_current_pid_tgid``, ``_uid_gid``, ``_comm``)."""

    pid: int = 1
    tgid: int = 1
    uid: int = 0
    gid: int = 0
    comm: bytes = b"pybpf-vm"


class VM:
    """User-space "kernel": memory, maps, helpers and settings shared by its programs.

    Args:
        ncpus: how many CPUs per-CPU maps have; ``cpu`` is the one programs run on.
        tier: the default tier of programs loaded here (``"interp"``, ``"fast"``, ``"jit"``).
        budget: the most instructions one run may execute (then :class:`VMError`).
        helpers: the helper registry to start from (a copy is kept as ``self.helpers``).
        clock, boot_clock: nanosecond clocks for the ``ktime`` helpers.
        seed: seed of the random source of ``get_prandom_u32``.
        task: the current task of the ``get_current_*`` helpers.
        endian: ``"<"`` (little) or ``">"`` (big): byte order of memory and of ``le``/``be``.
    """

    def __init__(
        self,
        *,
        ncpus: int = 1,
        cpu: int = 0,
        tier: Tier = "interp",
        budget: int = DEFAULT_BUDGET,
        helpers: HelperRegistry | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        boot_clock: Callable[[], int] | None = None,
        seed: int | None = None,
        task: Task | None = None,
        endian: str = "<",
    ) -> None:
        if not 0 <= cpu < ncpus:
            raise VMError(f"cpu {cpu} is not one of the {ncpus} CPUs")
        self.ncpus = ncpus
        self._cpu = cpu
        self.tier: Tier = tier
        self.budget = budget
        self.endian = endian
        self.mem = AddressSpace(endian)
        self.helpers = (helpers or DEFAULT_HELPERS).copy()
        self.clock = clock
        self.boot_clock = boot_clock or clock
        self.random = random.Random(seed)
        self.task = task or Task()
        self.maps: dict[str, VMMap] = {}
        self.maps_by_index: list[VMMap | None] = []
        self.redirects: list[tuple[int, int]] = []
        self.trace_lines: list[str] = []
        for depth in range(MAX_FRAMES):
            self.mem.map(bytearray(STACK_SIZE), f"stack{depth}", index=STACK_REGION + depth)
        self.env = Env(self, None, Entry())

    @property
    def cpu(self) -> int:
        """The CPU programs run on (per-CPU maps, ``get_smp_processor_id``)."""
        return self._cpu

    @cpu.setter
    def cpu(self, value: int) -> None:
        if not 0 <= value < self.ncpus:
            raise VMError(f"cpu {value} is not one of the {self.ncpus} CPUs")
        self._cpu = value

    # -- maps ------------------------------------------------------------------------------------
    def create_map(self, spec: MapSpec) -> VMMap:
        """Create the map ``spec`` describes (with its initial ``contents``).

        Raises:
            SyscallError: the VM has no such map type, or the sizes are inconsistent.
        """
        vmap = create_map(spec, self)
        vmap.handle = map_handle(len(self.maps_by_index))
        self.maps_by_index.append(vmap)
        self.maps.setdefault(spec.name, vmap)
        for key, value in spec.contents:
            if isinstance(key, (bytes, int)) and not isinstance(value, str):
                vmap[key] = value  # type: ignore[index]
        return vmap

    def map_by_fd(self, fd: int) -> VMMap:
        """The map a raw ``lddw map[fd:N]`` names: the VM's ``N``-th map.

        Raises:
            VMError: there is no such map.
        """
        if 0 <= fd < len(self.maps_by_index) and self.maps_by_index[fd] is not None:
            found = self.maps_by_index[fd]
            assert found is not None
            return found
        raise VMError(f"no map with fd {fd} in this VM")

    # -- programs --------------------------------------------------------------------------------
    def load(
        self,
        program: ProgramLike,
        *,
        maps: Mapping[str, VMMap] | Sequence[VMMap] | None = None,
        entry: Entry | None = None,
        tier: Tier | None = None,
        verifier: Verifier = verify,
        name: str = "",
    ) -> VMProgram:
        """Check ``program`` and make it runnable.

        Args:
            program: a :class:`ProgramSpec`, instructions, or instruction bytes.
            maps: maps for ``lddw`` by name (``Instruction.ref``), or in order for
                ``lddw map[idx:N]``; names not given are looked up among the VM's maps.
            entry: how a run starts (default: from the program type, else
                :class:`~pybpf.vm.context.MemoryEntry`).
            tier: the tier runs use by default.
            verifier: the load-time check (:func:`pybpf.vm.verifier.verify` by default).

        Raises:
            VMError: the verifier refused it, or a map, function or helper it names is
                unknown (with the pc).
        """
        insns, prog_type, pname, endian = _normalize(program, self.endian)
        verifier(insns)
        code = Code(insns, endian=endian)
        self._resolve(code, maps)
        return VMProgram(
            self, code, entry or entry_for(prog_type), tier or self.tier, name or pname
        )

    def _resolve(self, code: Code, maps: Mapping[str, VMMap] | Sequence[VMMap] | None) -> None:
        for pc, insn in slots(code.insns):
            op = insn.op
            assert op is not None
            if op.kind is Kind.LDDW:
                code.imm64[pc] = self._lddw(pc, insn, code, maps)
            elif op.kind is Kind.CALL and insn.src == CallKind.HELPER:
                try:
                    code.helpers[pc] = self.helpers.function(insn.imm)
                except VMError as exc:
                    raise VMError(exc.reason, pc=pc) from None
                code.helper_ids[pc] = insn.imm

    def _lddw(
        self,
        pc: int,
        insn: Instruction,
        code: Code,
        maps: Mapping[str, VMMap] | Sequence[VMMap] | None,
    ) -> int:
        src = insn.src
        if src == PseudoSrc.IMM64 and insn.ref is None:
            return insn.imm64
        if src == PseudoSrc.FUNC:
            target = insn.jump_target(pc)
            assert target is not None
            return code_address(target)
        vmap = self._map_of(pc, insn, maps)
        if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX, PseudoSrc.IMM64):
            direct = vmap.direct() if isinstance(vmap, ArrayMap) else None
            if direct is not None:
                code.direct_maps[vmap.handle] = direct
            return vmap.handle
        if not isinstance(vmap, ArrayMap) or vmap.max_entries < 1:
            raise VMError(f"map {vmap.name!r} has no direct value access", pc=pc)
        if not 0 <= insn.imm_hi < vmap.value_size:
            raise VMError(f"offset {insn.imm_hi} is outside map {vmap.name!r}'s value", pc=pc)
        return vmap.value_address(0) + insn.imm_hi

    def _map_of(
        self, pc: int, insn: Instruction, maps: Mapping[str, VMMap] | Sequence[VMMap] | None
    ) -> VMMap:
        try:
            if insn.ref is not None:
                if isinstance(maps, Mapping) and insn.ref in maps:
                    return maps[insn.ref]
                if insn.ref in self.maps:
                    return self.maps[insn.ref]
                raise VMError(f"unknown map {insn.ref!r}")
            if insn.src in (PseudoSrc.MAP_IDX, PseudoSrc.MAP_IDX_VALUE):
                if isinstance(maps, Sequence) and 0 <= insn.imm < len(maps):
                    return maps[insn.imm]
                raise VMError(f"no map at index {insn.imm} of the maps given")
            return self.map_by_fd(insn.imm)
        except VMError as exc:
            raise VMError(exc.reason, pc=pc) from None

    def load_collection(
        self,
        spec: CollectionSpec,
        *,
        tier: Tier | None = None,
        programs: Sequence[str] | None = None,
    ) -> VMCollection:
        """Create the maps of ``spec`` and load its programs (the ``autoload`` ones, or the
        ones named in ``programs``: then only the maps they use are created, as libbpf's
        partial loads do); global-data maps get their variables' values; prog arrays and
        maps of maps whose ``contents`` name programs and maps are filled.

        Raises:
            VMError: a program does not load, or a name is unknown. SpecError: a map cannot
                be created (a type the VM does not have …).
        """
        chosen = _chosen(spec, programs)
        everything = set(chosen) >= {n for n, p in spec.programs.items() if p.autoload}
        maps: dict[str, VMMap] = {}
        for name in _needed_maps(spec, chosen, everything):
            maps[name] = self.create_map(_with_variables(spec, spec.maps[name]))
        loaded = {name: self.load(spec.programs[name], maps=maps, tier=tier, name=name)
                  for name in chosen}  # fmt: skip
        for name, vmap in maps.items():
            for key, value in spec.maps[name].contents:
                if isinstance(value, str):
                    target = loaded.get(value) or maps.get(value)
                    if target is None and value not in spec.programs:
                        raise VMError(f"map {name!r}: contents name unknown {value!r}")
                    if target is not None:
                        vmap[key] = target  # type: ignore[index]
        return VMCollection(maps, loaded)

    # -- helpers' side ---------------------------------------------------------------------------
    def trace_printk(self, text: bytes) -> None:
        """Where ``bpf_trace_printk`` output goes: logger ``pybpf.vm.trace`` and
        :attr:`trace_lines`."""
        line = text.decode("utf-8", "replace").rstrip("\n")
        self.trace_lines.append(line)
        _trace_log.info("%s", line)


@dataclass
class VMCollection:
    """The maps and programs of a :class:`CollectionSpec` loaded into a VM, by name."""

    maps: dict[str, VMMap] = field(default_factory=dict)
    programs: dict[str, VMProgram] = field(default_factory=dict)


def _chosen(spec: CollectionSpec, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [n for n, p in spec.programs.items() if p.autoload]
    unknown = [n for n in names if n not in spec.programs]
    if unknown:
        raise VMError(f"no program named {', '.join(map(repr, unknown))} in the collection")
    return list(names)


def _needed_maps(spec: CollectionSpec, chosen: list[str], everything: bool) -> list[str]:
    """The maps to create: all of them, or those the chosen programs reference and the maps
    their contents name (maps of maps), in the spec's order."""
    if everything:
        return list(spec.maps)
    names = {i.ref for n in chosen for i in spec.programs[n].instructions if i.ref in spec.maps}
    todo = list(names)
    while todo:
        for _, value in spec.maps[todo.pop()].contents:
            if isinstance(value, str) and value in spec.maps and value not in names:
                names.add(value)
                todo.append(value)
    return [n for n in spec.maps if n in names]


def _with_variables(spec: CollectionSpec, mspec: MapSpec) -> MapSpec:
    """``mspec`` with the values of its global variables written into its data image."""
    if mspec.data is None:
        return mspec
    image = bytearray(mspec.data.ljust(mspec.value_size, b"\0"))
    changed = False
    for var in spec.variables.values():
        if var.map_name == mspec.name and var.value and len(var.value) == var.size:
            image[var.offset : var.offset + var.size] = var.value
            changed = True
    if not changed:
        return mspec
    copy = mspec.copy()
    copy.data = bytes(image[: mspec.value_size])
    return copy


def _normalize(
    program: ProgramLike, endian: str
) -> tuple[list[Instruction], ProgType | None, str, str]:
    if isinstance(program, ProgramSpec):
        order = "<" if program.byte_order == "little" else ">"
        return list(program.instructions), program.type, program.name, order
    if isinstance(program, (bytes, bytearray, memoryview)):
        try:
            return decode(program, "little" if endian == "<" else "big"), None, "", endian
        except DecodeError as exc:
            raise VMError(f"cannot decode the program: {exc}") from exc
    return list(program), None, "", endian
