"""Relocations of executable sections, read into per-function patches.

As libbpf's ``bpf_program__record_reloc``: each relocation of a code section names the
instruction it applies to (a ``call`` or an ``lddw``, nothing else) and a symbol, and the
symbol says what the instruction refers to::

    symbol                                   instruction becomes
    ---------------------------------------  -------------------------------------------------
    extern, call                             call src=KFUNC, ref=<extern>        (kfunc)
    extern in .kconfig, lddw                 lddw src=MAP_VALUE, ref=".kconfig",
                                                  imm_hi=<offset in the .kconfig map>
    extern in .ksyms, lddw                   lddw src=BTF_ID (typed) or 0 (untyped),
                                                  ref=<extern>
    function (or code section), call         call src=1, imm = the callee, once linked
    function (or code section), lddw         lddw src=FUNC, imm = the function (a callback)
    map in .maps / maps, lddw                lddw src=MAP_FD, ref=<map>
    .data* / .rodata* / .bss* / arena, lddw  lddw src=MAP_VALUE, ref=<section>,
                                                  imm_hi = symbol value + original imm

Calls between functions of one section need no relocation (the assembler resolved them
pc-relative); they are found by scanning the code for ``call`` with ``src`` 1
(libbpf's ``insn_is_subprog_call``), with a byte pattern, at C speed.
"""

from __future__ import annotations

import struct

from pybpf._records import field, record
from pybpf.asm.opcodes import CallKind, PseudoSrc
from pybpf.elf import R_BPF, SHN, STB, STT, Relocation, Section, Symbol
from pybpf.errors import ELFError
from pybpf.spec._object import ObjectFile, Role
from pybpf.spec._programs import INSN, Function, Functions
from pybpf.spec.specs import ExternKind, ExternSpec

__all__ = ["Call", "FunctionRelocs", "Relocator", "Targets", "is_extern"]

OP_CALL = 0x85
OP_LDDW = 0x18
_MAP_VALUE = int(PseudoSrc.MAP_VALUE)
_LOCAL = int(CallKind.LOCAL)
_CODE = Role.PROGRAMS
_SUBPROG_CALL = {"little": b"\x85\x10\x00\x00", "big": b"\x85\x01\x00\x00"}

Changes = dict[str, "int | str | None"]


Call = tuple[int, Function, int, bool]
"""A reference from one function to another: ``(slot, target, delta, lddw)``: the
instruction at ``slot`` of the function calls (or, with ``lddw``, loads the address of)
slot ``delta`` of function ``target``. A plain tuple: objects have hundreds of calls."""


@record(slots=True)
class FunctionRelocs:
    """What linking a function must change: instruction fields by slot, and references to
    other functions, in instruction order."""

    fields: dict[int, Changes] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)


@record(slots=True)
class Targets:
    """What relocations may point at, by section and offset."""

    maps: dict[tuple[int, int], str] = field(default_factory=dict)  # (section, offset) -> map
    data: dict[int, str] = field(default_factory=dict)  # global-data section -> map
    externs: dict[int, ExternSpec] = field(default_factory=dict)  # symbol index -> extern


_NONE = FunctionRelocs()


def is_extern(sym: Symbol) -> bool:
    """libbpf's ``sym_is_extern``: undefined, global or weak, no type."""
    return sym.shndx == SHN.UNDEF and sym.bind in (STB.GLOBAL, STB.WEAK) and sym.type == STT.NOTYPE


class Relocator:
    """Reads every code relocation into the :class:`FunctionRelocs` of its function.

    Raises:
        ELFError: a relocation at a bad offset, on an instruction other than ``call`` or
            ``lddw``, against a symbol of no known kind or outside any section.
    """

    def __init__(self, obj: ObjectFile, funcs: Functions, targets: Targets) -> None:
        self.obj = obj
        self.funcs = funcs
        self.targets = targets
        self.slot = struct.Struct("<BBhi" if obj.byteorder == "little" else ">BBhi")
        self.by_function: dict[int, FunctionRelocs] = {}
        self.nsections = obj.elf.num_sections()
        self.roles = obj.roles
        self.unpack = self.slot.unpack_from
        self.src_shift = 4 if obj.byteorder == "little" else 0
        self.exact = funcs.exact
        for sec in obj.sections(Role.PROGRAMS):
            self._read_section(sec)
        self.sort()

    def of(self, func: Function) -> FunctionRelocs:
        """What linking ``func`` must change (do not modify it: it may be shared)."""
        return self.by_function.get(id(func)) or _NONE

    def _relocs(self, func: Function) -> FunctionRelocs:
        found = self.by_function.get(id(func))
        if found is None:
            found = self.by_function[id(func)] = FunctionRelocs()
        return found

    def _read_section(self, sec: Section) -> None:
        data = sec.data
        rels = self.obj.elf.relocations(sec)
        relocated = {rel.offset for rel in rels}
        for rel in _FastCalls(self, sec).read(rels):
            self._read_one(sec, data, rel)
        pattern, code = _SUBPROG_CALL[self.obj.byteorder], bytes(data)
        at = code.find(pattern)
        while at >= 0:  # (the pattern cannot overlap itself)
            if at % INSN == 0 and at not in relocated:
                self._local_call(sec, data, at)
            at = code.find(pattern, at + 4)

    def sort(self) -> None:
        """Put each function's references in instruction order (after every section)."""
        for relocs in self.by_function.values():
            relocs.calls.sort(key=_first)

    def _local_call(self, sec: Section, data: memoryview, at: int) -> None:
        func = self.funcs.at(sec.index, at // INSN)
        if func is None:
            return
        imm = self.slot.unpack_from(data, at)[3]
        self._add_call(sec, func, at, (sec.index, at // INSN + imm + 1), lddw=False)

    def _add_call(
        self, sec: Section, func: Function, at: int, where: tuple[int, int], *, lddw: bool
    ) -> None:
        """Record that the instruction at byte ``at`` of ``func`` calls (or, with ``lddw``,
        loads) slot ``where[1]`` of section ``where[0]``."""
        section, slot = where
        target = self.funcs.at(section, slot)
        if target is None:
            what = "lddw of a function" if lddw else "call"
            raise self.obj.error(
                f"{what} in {func.name!r} goes to slot {slot} of section "
                f"{self.obj.section_name(section)!r}, where no function is",
                sec,
                sec.offset + at,
            )
        call = (at // INSN - func.start, target, slot - target.start, lddw)
        self._relocs(func).calls.append(call)

    def _read_one(self, sec: Section, data: memoryview, rel: Relocation) -> None:
        at, sym = rel.offset, rel.symbol
        if at % INSN or at >= len(data):
            raise self.obj.error(f"relocation at bad offset {at:#x}", sec, sec.offset)
        if sym.shndx >= self.nsections:
            self.obj.check_symbol_section(sym, sec)
        func = self.funcs.at(sec.index, at // INSN)
        if func is None:
            return  # code of no function: an overridden weak function, as libbpf skips it
        opcode, regs, _, imm = self.slot.unpack_from(data, at)
        site = _Site(self.obj, sec, func, rel, regs, imm)
        if opcode == OP_CALL and sym.shndx != SHN.UNDEF:
            self._call(site)
            return
        if opcode not in (OP_CALL, OP_LDDW):
            raise site.error(
                f"relocation {_rtype(rel)} against {sym.name or '(section)'!r} applies to "
                f"opcode {opcode:#04x}, not to a call or lddw"
            )
        if opcode == OP_LDDW and at + 2 * INSN > len(data):
            raise site.error("relocated lddw is truncated")
        if is_extern(sym):
            self._extern(site, call=opcode == OP_CALL)
        elif opcode == OP_CALL:
            self._call(site)
        else:
            self._lddw(site)

    def _extern(self, site: _Site, *, call: bool) -> None:
        ext = self.targets.externs.get(site.rel.sym_index)
        if ext is None:
            raise site.error(
                f"relocation against extern {site.sym.name!r}, which is not a known extern "
                "(no BTF for it?)"
            )
        changes: Changes
        if call:
            changes = {"src": int(CallKind.KFUNC), "imm": 0, "off": 0, "ref": ext.name}
        elif ext.kind is ExternKind.KCONFIG:
            changes = {"src": _MAP_VALUE, "imm": 0, "imm_hi": ext.offset, "ref": ".kconfig"}
        else:
            src = PseudoSrc.BTF_ID if ext.typed else PseudoSrc.IMM64
            changes = {"src": int(src), "imm": 0, "imm_hi": 0, "ref": ext.name}
        self._relocs(site.func).fields[site.slot] = changes

    def _call(self, site: _Site) -> None:
        sym, func = site.sym, site.func
        src = site.regs >> 4 if self.obj.byteorder == "little" else site.regs & 0xF
        if src != CallKind.LOCAL:
            raise site.error(
                f"relocated call in {func.name!r} has src {src}, not 1 (a bpf-to-bpf call)"
            )
        if self.obj.role(sym.shndx) is not Role.PROGRAMS or sym.value % INSN:
            raise site.error(
                f"call in {func.name!r} against {sym.name or '(section)'!r}, which is not "
                "a function"
            )
        target = sym.value // INSN + site.imm + 1
        self._add_call(site.sec, func, site.at, (sym.shndx, target), lddw=False)

    def _lddw(self, site: _Site) -> None:
        sym, func, imm = site.sym, site.func, site.imm
        if sym.shndx == SHN.UNDEF:
            raise site.error(
                f"lddw in {func.name!r} against undefined symbol {sym.name!r} "
                "(an uninitialised global variable?)"
            )
        if self.obj.role(sym.shndx) is Role.PROGRAMS and sym.type in (STT.FUNC, STT.SECTION):
            if (sym.value + imm) % INSN:
                raise site.error(f"lddw of a function at byte {sym.value + imm}, not an insn")
            target = (sym.shndx, (sym.value + imm) // INSN)
            self._add_call(site.sec, func, site.at, target, lddw=True)
            return
        self._relocs(func).fields[site.slot] = self._data_ref(site)

    def _data_ref(self, site: _Site) -> Changes:
        sym, index = site.sym, site.sym.shndx
        mapped = self.targets.maps.get((index, sym.value))
        if mapped is not None:
            return {"src": int(PseudoSrc.MAP_FD), "imm": 0, "ref": mapped}
        data_map = self.targets.data.get(index)
        if data_map is not None:
            offset = sym.value + site.imm
            if not 0 <= offset <= 0xFFFFFFFF:
                raise site.error(
                    f"lddw in {site.func.name!r}: offset {offset} into {data_map!r} does not "
                    "fit 32 bits"
                )
            return {"src": _MAP_VALUE, "imm": 0, "imm_hi": offset, "ref": data_map}
        raise site.error(
            f"lddw in {site.func.name!r} against {sym.name or '(section)'!r} in section "
            f"{self.obj.section_name(index)!r}: not a map, global data or function"
        )


@record(slots=True)
class _Site:
    """A relocated instruction being read (the slow path): where, and what it says."""

    obj: ObjectFile
    sec: Section
    func: Function
    rel: Relocation
    regs: int
    imm: int

    @property
    def at(self) -> int:
        return self.rel.offset

    @property
    def sym(self) -> Symbol:
        return self.rel.symbol

    @property
    def slot(self) -> int:
        return self.rel.offset // INSN - self.func.start

    def error(self, reason: str) -> ELFError:
        """An error about this instruction, naming its section and file offset."""
        return self.obj.error(reason, self.sec, self.sec.offset + self.at)


class _FastCalls:
    """Records the most common relocation of a section at once: a well-formed call of a
    function's first instruction (a 650 KB object has hundreds); :meth:`read` returns every
    other, which :meth:`Relocator._read_one` then reads, errors included. Written for
    speed: one loop with its lookups hoisted, and the function that holds the last call
    kept for the next."""

    def __init__(self, relocs: Relocator, sec: Section) -> None:
        self.relocs, self.data, self.index = relocs, sec.data, sec.index

    def read(self, rels: list[Relocation]) -> list[Relocation]:
        """Record the calls among ``rels``; the relocations that are not, in order."""
        r, data, index = self.relocs, self.data, self.index
        size, roles, unpack, shift, exact = len(data), r.roles, r.unpack, r.src_shift, r.exact
        lo = hi = -1
        calls: list[Call] = []
        rest: list[Relocation] = []
        for rel in rels:
            at, sym = rel.offset, rel.symbol
            if at & 7 or at >= size or sym.value & 7 or roles.get(sym.shndx) is not _CODE:
                rest.append(rel)
                continue
            opcode, regs, _, imm = unpack(data, at)
            target = exact.get((sym.shndx, (sym.value >> 3) + imm + 1))
            if opcode != OP_CALL or (regs >> shift) & 0xF != _LOCAL or target is None:
                rest.append(rel)
                continue
            slot = at >> 3
            if not lo <= slot < hi:
                func = r.funcs.at(index, slot)
                if func is None:
                    rest.append(rel)
                    continue
                lo, hi = func.start, func.start + func.count
                calls = r._relocs(func).calls
            calls.append((slot - lo, target, 0, False))
        return rest


def _first(item: Call) -> int:
    return item[0]


def _rtype(rel: Relocation) -> str:
    return rel.type.name if isinstance(rel.type, R_BPF) else str(rel.type)
