"""Functions of an object: which are programs, which are subprograms, and what each
program's section name says about it.

As libbpf's ``bpf_object__add_programs``: every ``STT_FUNC`` symbol of an executable section
is a function. Global functions outside ``.text`` are programs (entry points); the functions
of ``.text`` are subprograms, appended to the programs that call them. A ``static`` function
outside ``.text`` is a subprogram of its section here (libbpf refuses the object).
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from pybpf._records import immutable, record
from pybpf._uapi import AttachType, ProgType
from pybpf.elf import STB, STT, STV, Section, Symbol
from pybpf.spec._object import ObjectFile, Role
from pybpf.spec.sections import SecFlag, find_section
from pybpf.spec.specs import BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS

__all__ = ["Function", "Functions", "SectionInfo", "section_info"]

INSN = 8


@record(eq=False, slots=True)
class Function:
    """One function symbol: ``count`` slots from slot ``start`` of ``section``."""

    name: str
    section: Section
    start: int
    count: int
    symbol: Symbol
    entry: bool
    _code: bytes | None = None

    @property
    def hidden(self) -> bool:
        """Global but of hidden/internal visibility (libbpf marks its BTF FUNC static)."""
        return self.symbol.bind != STB.LOCAL and self.symbol.visibility in (
            STV.HIDDEN,
            STV.INTERNAL,
        )

    def data(self) -> bytes:
        """The function's code (cached)."""
        if self._code is None:
            data = self.section.data
            self._code = bytes(data[self.start * INSN : (self.start + self.count) * INSN])
        return self._code


class Functions:
    """The functions of every executable section, found by section and slot.

    Raises:
        ELFError: a function symbol with a bad size or offset, or outside its section.
    """

    def __init__(self, obj: ObjectFile) -> None:
        self.obj = obj
        self.by_section: dict[int, list[Function]] = {}
        self._starts: dict[int, list[int]] = {}
        self.exact: dict[tuple[int, int], Function] = {}  # by (section, first slot)
        sections = {sec.index: sec for sec in obj.sections(Role.PROGRAMS)}
        for sym in obj.symbols:
            sec = sections.get(sym.shndx)
            if sec is not None and sym.type == STT.FUNC:
                self._add(sec, sym)
        for index, funcs in self.by_section.items():
            funcs.sort(key=lambda f: f.start)
            self._starts[index] = [f.start for f in funcs]
            for f in funcs:
                self.exact[index, f.start] = f

    def _add(self, sec: Section, sym: Symbol) -> None:
        size, off = sym.size, sym.value
        if size == 0 or size % INSN or off % INSN or off + size > sec.size:
            raise self.obj.error(
                f"function {sym.name!r} has a bad extent: {size} bytes at offset {off} "
                f"(section size {sec.size})",
                sec,
                sec.offset + min(off, sec.size),
            )
        entry = sec.name != ".text" and sym.bind != STB.LOCAL
        func = Function(sym.name, sec, off // INSN, size // INSN, sym, entry)
        self.by_section.setdefault(sec.index, []).append(func)

    def at(self, section: int, slot: int) -> Function | None:
        """The function of section ``section`` that contains slot ``slot``, or ``None``."""
        exact = self.exact.get((section, slot))
        if exact is not None:
            return exact
        starts = self._starts.get(section)
        if not starts:
            return None
        i = bisect_right(starts, slot) - 1
        if i < 0:
            return None
        func = self.by_section[section][i]
        return func if slot < func.start + func.count else None

    def entries(self) -> list[Function]:
        """The programs, by section index then offset (libbpf's order)."""
        return [f for _, funcs in sorted(self.by_section.items()) for f in funcs if f.entry]

    def all(self) -> list[Function]:
        return [f for _, funcs in sorted(self.by_section.items()) for f in funcs]


@immutable
class SectionInfo:
    """What a program's section name says: type, expected attach type, target, flags."""

    section: str
    type: ProgType
    attach_type: AttachType | None
    attach_to: str
    flags: int
    autoload: bool


@lru_cache(maxsize=512)
def section_info(name: str) -> SectionInfo:
    """libbpf's reading of ``SEC(name)`` (``bpf_object__init_prog`` and ``find_sec_def``).

    A leading ``?`` turns autoload off and is then forgotten. A name no definition matches
    gives ``ProgType.UNSPEC`` (libbpf keeps such programs; the type must be set before load).
    """
    autoload = not name.startswith("?")
    if not autoload:
        name = name[1:]
    sec_def = find_section(name)
    if sec_def is None:
        return SectionInfo(name, ProgType.UNSPEC, None, "", 0, autoload)
    flags = 0
    if sec_def.flags & SecFlag.SLEEPABLE:
        flags |= BPF_F_SLEEPABLE
    if sec_def.flags & SecFlag.XDP_FRAGS:
        flags |= BPF_F_XDP_HAS_FRAGS
    target = sec_def.attach_target(name)
    return SectionInfo(name, sec_def.prog_type, sec_def.attach_type, target, flags, autoload)
