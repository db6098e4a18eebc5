"""Specs: plain, editable blueprints of maps, programs, variables and collections.

A spec is what an object file (or the assembler, or the compiler) describes, before anything
touches a kernel: parsing the same object gives the same specs on every machine. Users edit
specs before loading (map sizes, constants, attach targets, which programs to load); only
:mod:`pybpf.objects` turns them into kernel objects, and :mod:`pybpf.vm` runs them in user
space.

References between specs are by name: an ``lddw`` whose :attr:`Instruction.ref` is set names
the map it loads (``src`` = ``PseudoSrc.MAP_FD``, or ``MAP_VALUE`` with ``imm_hi`` the offset
into the map's value — how globals in ``.data``/``.rodata``/``.bss`` are reached); the loader
replaces the name with the map's fd. Prog-array and map-in-map ``contents`` name programs and
maps the same way. Externs (:class:`ExternSpec`) are named the same way too: a ``call`` with
``src`` = ``CallKind.KFUNC`` names a kernel function, an ``lddw`` with ``src`` =
``PseudoSrc.BTF_ID`` a typed kernel symbol, and an ``lddw`` with ``src`` 0 and a ``ref`` the
address of an untyped one; the loader fills in the BTF id or the address.

Specs read from an object file compute their heavy fields (instructions, func_info,
line_info, CO-RE records) on first access (see :mod:`pybpf.spec._lazy`); they are ordinary
lists once read.
"""

from __future__ import annotations

import copy
import enum
import os

from pybpf._records import field, immutable, record
from pybpf._uapi import AttachType, MapType, ProgType
from pybpf.asm.instruction import Instruction
from pybpf.btf.kinds import CoreReloKind
from pybpf.btf.types import Type
from pybpf.spec._lazy import Lazy

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal, TypeVar

    _T = TypeVar("_T")
    ByteOrder = Literal["little", "big"]
else:
    ByteOrder = str  # (a Literal of str for type checkers)

__all__ = [
    "BPF_F_LINK",
    "BPF_F_MMAPABLE",
    "BPF_F_RDONLY_PROG",
    "BPF_F_SLEEPABLE",
    "BPF_F_XDP_HAS_FRAGS",
    "CollectionSpec",
    "CoreRelo",
    "CoreReloKind",
    "ExternKind",
    "ExternSpec",
    "FuncInfo",
    "KconfigType",
    "LineInfo",
    "MapSpec",
    "PinType",
    "ProgramSpec",
    "VariableSpec",
]

# Flags the loader sets (include/uapi/linux/bpf.h).
BPF_F_SLEEPABLE = 1 << 4
"""Program load flag: the program may sleep (``SEC("fentry.s/...")`` and other ``.s`` names)."""
BPF_F_XDP_HAS_FRAGS = 1 << 5
"""Program load flag: an XDP program that handles multi-buffer frames (``SEC("xdp.frags")``)."""
BPF_F_RDONLY_PROG = 1 << 7
"""Map flag: programs may only read the map (``.rodata*`` and ``.kconfig``)."""
BPF_F_MMAPABLE = 1 << 10
"""Map flag: the map's memory can be mmap()ed (global data with non-static variables)."""
BPF_F_LINK = 1 << 13
"""Map flag: a struct_ops map attached through a BPF link (``SEC(".struct_ops.link")``)."""


class PinType(enum.IntEnum):
    """How a map is pinned at load (libbpf's ``enum libbpf_pin_type``)."""

    NONE = 0
    BY_NAME = 1  # LIBBPF_PIN_BY_NAME: <pin root>/<map name>


@immutable
class CoreRelo:
    """One CO-RE relocation of a program (``struct bpf_core_relo``), re-based on the linked
    program: ``insn`` is the slot index of the instruction to patch, ``type_id`` the local
    root type in the program's BTF, ``access`` the access string (``"0:1:2"``)."""

    insn: int
    type_id: int
    access: str
    kind: CoreReloKind


@immutable
class FuncInfo:
    """``struct bpf_func_info`` of a linked program: the function starting at slot ``insn``
    has the BTF ``FUNC`` type ``type_id`` (one record per function: the program, then each
    subprogram where it was appended)."""

    insn: int
    type_id: int


@immutable
class LineInfo:
    """``struct bpf_line_info`` of a linked program: the instruction at slot ``insn`` comes
    from source ``line``:``column``. ``file_name_off`` and ``line_off`` are offsets into the
    program's BTF strings (``spec.btf.string(off)``: the file name and the source line)."""

    insn: int
    file_name_off: int
    line_off: int
    line: int
    column: int

    @property
    def line_col(self) -> int:
        """The kernel's packed ``line_col`` (``line << 10 | column``)."""
        return (self.line << 10) | self.column


@record
class MapSpec:
    """A map to create: type, sizes, flags, and what to put in it.

    ``contents`` holds initial ``(key, value)`` pairs; for prog arrays and maps of maps the
    values may be names of programs or maps of the same collection. ``data`` is the initial
    image of a global-data map (``.data``, ``.rodata``, ``.bss`` and their variants).
    ``key_type``/``value_type`` are BTF type ids in ``btf`` when the object has BTF.

    ``kernel_name`` is the name to give the kernel when it differs from ``name`` (libbpf
    names the map of ``.data`` in ``foo.bpf.o`` ``foo.data``; ``name`` stays ``.data``).
    ``struct_ops`` maps each function-pointer member of a struct_ops map's value to the
    program that implements it.
    """

    name: str
    type: MapType
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    flags: int = 0
    pinning: PinType = PinType.NONE
    numa_node: int = 0
    map_extra: int = 0
    inner_map: MapSpec | None = None
    contents: list[tuple[object, object]] = field(default_factory=list)
    data: bytes | None = None
    freeze: bool = False
    section: str = ""
    btf: object | None = None
    key_type: int | None = None
    value_type: int | None = None
    kernel_name: str = ""
    struct_ops: dict[str, str] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, object]) -> MapSpec:
        return _deepcopy_fields(self, memo)

    def copy(self) -> MapSpec:
        """A deep copy that can be edited without touching this spec (BTF is shared)."""
        return _copy_sharing_btf(self)


@record
class ProgramSpec:
    """A program to load: its type, instructions and everything the kernel asks with them.

    ``instructions`` are linked: bpf-to-bpf calls resolved, subprograms appended.
    ``attach_type`` is the expected attach type (``None``: the program type's default);
    ``attach_to`` names the hook (a kernel function, ``category/name`` for tracepoints, …).
    ``flags`` are ``BPF_F_*`` load flags (sleepable, XDP frags). ``autoload`` False skips the
    program at load, as libbpf's ``bpf_program__set_autoload``.

    ``subprograms`` names the functions appended after the program's own code, with the slot
    each starts at, in libbpf's order. ``func_info``, ``line_info`` and ``core_relos`` are
    re-based on the linked program (their ``insn`` are slots of ``instructions``).
    """

    name: str
    type: ProgType
    instructions: Lazy[list[Instruction]] = Lazy(list)
    section: str = ""
    attach_type: AttachType | None = None
    attach_to: str = ""
    flags: int = 0
    license: str = ""
    kernel_version: int = 0
    byte_order: ByteOrder = "little"
    autoload: bool = True
    btf: object | None = None
    func_info: Lazy[list[FuncInfo]] = Lazy(list)
    line_info: Lazy[list[LineInfo]] = Lazy(list)
    core_relos: Lazy[list[CoreRelo]] = Lazy(list)
    subprograms: dict[str, int] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, object]) -> ProgramSpec:
        return _deepcopy_fields(self, memo)

    def copy(self) -> ProgramSpec:
        """A deep copy that can be edited without touching this spec (BTF is shared)."""
        return _copy_sharing_btf(self)

    @property
    def insn_count(self) -> int:
        """The number of 8-byte instruction slots (``lddw`` counts two), as the kernel and
        libbpf count them; known without decoding the instructions of a parsed object."""
        pending = _INSTRUCTIONS.pending(self)
        if pending is not None and pending.count is not None:
            return pending.count
        return sum(insn.slots for insn in self.instructions)


_INSTRUCTIONS: Lazy[list[Instruction]] = vars(ProgramSpec)["instructions"]


@record
class VariableSpec:
    """A global variable: ``size`` bytes at ``offset`` in the value of map ``map_name``.

    ``value`` is its initial bytes (zeros for ``.bss``); set it before load to change a
    ``const volatile`` configuration value. ``type`` is its BTF type id in ``btf``.
    """

    name: str
    map_name: str
    offset: int
    size: int
    value: bytes = b""
    btf: object | None = None
    type: int | None = None
    constant: bool = False

    def __deepcopy__(self, memo: dict[int, object]) -> VariableSpec:
        return _deepcopy_fields(self, memo)

    def copy(self) -> VariableSpec:
        return _copy_sharing_btf(self)


class ExternKind(enum.Enum):
    """What an ``extern`` of an object is resolved against when it is loaded."""

    KCONFIG = "kconfig"
    """``__kconfig``: a kernel config option (or libbpf's ``LINUX_*`` values), read from the
    ``.kconfig`` map at ``offset``."""
    KSYM = "ksym"
    """``__ksym`` variable: a kernel symbol's address (typed: its BTF id, ``lddw`` src 3)."""
    KFUNC = "kfunc"
    """``__ksym`` function: a kernel function called as a kfunc (``call`` src 2)."""


class KconfigType(enum.Enum):
    """How a ``.kconfig`` value is written into the map (libbpf's ``enum kcfg_type``)."""

    BOOL = "bool"
    TRISTATE = "tristate"
    CHAR = "char"
    INT = "int"
    CHAR_ARRAY = "char_array"


@record
class ExternSpec:
    """An ``extern`` the object uses: a kconfig option, a kernel symbol or a kfunc.

    ``btf_id`` is its ``VAR``/``FUNC`` in the object's ``btf``; ``type`` the type it points
    at with modifiers and typedefs skipped (the value's type for kconfig; for a ksym 0 when
    untyped, ``extern const void sym __ksym``; a ``FUNC_PROTO`` for a kfunc). ``weak``
    externs may stay unresolved (they read as zero). Kconfig externs live in the
    ``.kconfig`` map: ``size`` bytes at ``offset``, laid out as libbpf lays them out.
    """

    name: str
    kind: ExternKind
    weak: bool = False
    btf: object | None = None
    btf_id: int = 0
    type: int = 0
    offset: int = 0
    size: int = 0
    kconfig_type: KconfigType | None = None
    signed: bool = False

    @property
    def typed(self) -> bool:
        """Whether a ksym has a type (the loader then needs its BTF id, not an address)."""
        return self.type != 0

    @property
    def essential_name(self) -> str:
        """The name without a ``___flavor`` suffix: what is looked up in the kernel."""
        return _essential_name(self.name)

    def __deepcopy__(self, memo: dict[int, object]) -> ExternSpec:
        return _deepcopy_fields(self, memo)

    def copy(self) -> ExternSpec:
        return _copy_sharing_btf(self)


def _essential_name(name: str) -> str:
    """libbpf's ``bpf_core_essential_name_len``: cut at the last ``___``."""
    cut = name.rfind("___")
    return name[:cut] if cut > 0 else name


@record
class CollectionSpec:
    """Everything an object file describes: maps, programs, variables and externs, by name.

    ``name`` is the object's name (the file name up to its first dot, as libbpf names it).
    ``hidden_functions`` are global subprograms of hidden visibility: libbpf marks their BTF
    ``FUNC`` static before loading, so the verifier checks them with their callers.
    ``btf_fixups`` are the types of ``btf`` that libbpf changes before the kernel sees them
    (``DATASEC`` sizes and offsets, externs, hidden symbols; see
    :mod:`pybpf.spec._btffix`): ``btf.replaced(btf_fixups)`` is the BTF to load.
    """

    maps: dict[str, MapSpec] = field(default_factory=dict)
    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    byte_order: ByteOrder = "little"
    btf: object | None = None
    externs: dict[str, ExternSpec] = field(default_factory=dict)
    name: str = ""
    hidden_functions: set[str] = field(default_factory=set)
    btf_fixups: Lazy[dict[int, Type]] = Lazy(dict)

    def __deepcopy__(self, memo: dict[int, object]) -> CollectionSpec:
        return _deepcopy_fields(self, memo)

    def copy(self) -> CollectionSpec:
        """A deep copy: edit it freely, the original stays as parsed."""
        return _copy_sharing_btf(self)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CollectionSpec:
        """Read an eBPF object file (see :func:`pybpf.spec.loader.load_collection_spec`)."""
        from pybpf.spec.loader import load_collection_spec  # noqa: PLC0415 - loader imports us

        return load_collection_spec(path)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, name: str = "") -> CollectionSpec:
        """Parse an eBPF object held in memory; ``name`` names it as a file name would."""
        from pybpf.spec.loader import load_collection_spec  # noqa: PLC0415

        return load_collection_spec(data, name=name)


_ATOMIC = frozenset((str, int, bool, bytes, float, type(None)))


def _deepcopy_fields(spec: _T, memo: dict[int, object]) -> _T:
    """What :func:`copy.deepcopy` does with a spec (a new instance, every field deep-copied),
    without its generic machinery for the fields that are plain numbers and strings:
    relocation copies every map and variable of a collection, so this is worth a fast path.
    """
    out = object.__new__(type(spec))
    memo[id(spec)] = out
    state = spec.__dict__.copy()
    for key in [key for key, value in state.items() if type(value) not in _ATOMIC]:
        state[key] = copy.deepcopy(state[key], memo)
    out.__dict__ = state
    return out


def _copy_sharing_btf(spec: _T) -> _T:
    memo: dict[int, object] = {}
    for obj in _btf_objects(spec):
        memo[id(obj)] = obj
    return copy.deepcopy(spec, memo)


def _btf_objects(spec: object) -> list[object]:
    found: list[object] = []
    if isinstance(spec, CollectionSpec):
        found.append(spec.btf)
        subs = (*spec.maps.values(), *spec.programs.values(), *spec.variables.values())
        for sub in (*subs, *spec.externs.values()):
            found += _btf_objects(sub)
    elif isinstance(spec, MapSpec):
        found.append(spec.btf)
        if spec.inner_map is not None:
            found += _btf_objects(spec.inner_map)
    elif isinstance(spec, (ProgramSpec, VariableSpec, ExternSpec)):
        found.append(spec.btf)
    return [obj for obj in found if obj is not None]
