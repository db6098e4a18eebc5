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
maps the same way.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pybpf._uapi import AttachType, MapType, ProgType
from pybpf.asm.instruction import Instruction

__all__ = [
    "CollectionSpec",
    "CoreRelo",
    "CoreReloKind",
    "MapSpec",
    "PinType",
    "ProgramSpec",
    "VariableSpec",
]

ByteOrder = Literal["little", "big"]
_T = TypeVar("_T")


class PinType(enum.IntEnum):
    """How a map is pinned at load (libbpf's ``enum libbpf_pin_type``)."""

    NONE = 0
    BY_NAME = 1  # LIBBPF_PIN_BY_NAME: <pin root>/<map name>


class CoreReloKind(enum.IntEnum):
    """The kind of a CO-RE relocation (``enum bpf_core_relo_kind`` in linux/bpf.h)."""

    FIELD_BYTE_OFFSET = 0
    FIELD_BYTE_SIZE = 1
    FIELD_EXISTS = 2
    FIELD_SIGNED = 3
    FIELD_LSHIFT_U64 = 4
    FIELD_RSHIFT_U64 = 5
    TYPE_ID_LOCAL = 6
    TYPE_ID_TARGET = 7
    TYPE_EXISTS = 8
    TYPE_SIZE = 9
    ENUMVAL_EXISTS = 10
    ENUMVAL_VALUE = 11
    TYPE_MATCHES = 12


@dataclass(frozen=True, slots=True)
class CoreRelo:
    """One CO-RE relocation of a program (``struct bpf_core_relo``), re-based on the linked
    program: ``insn`` is the slot index of the instruction to patch, ``type_id`` the local
    root type in the program's BTF, ``access`` the access string (``"0:1:2"``)."""

    insn: int
    type_id: int
    access: str
    kind: CoreReloKind


@dataclass
class MapSpec:
    """A map to create: type, sizes, flags, and what to put in it.

    ``contents`` holds initial ``(key, value)`` pairs; for prog arrays and maps of maps the
    values may be names of programs or maps of the same collection. ``data`` is the initial
    image of a global-data map (``.data``, ``.rodata``, ``.bss`` and their variants).
    ``key_type``/``value_type`` are BTF type ids in ``btf`` when the object has BTF.
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

    def copy(self) -> MapSpec:
        """A deep copy that can be edited without touching this spec (BTF is shared)."""
        return _copy_sharing_btf(self)


@dataclass
class ProgramSpec:
    """A program to load: its type, instructions and everything the kernel asks with them.

    ``instructions`` are linked: bpf-to-bpf calls resolved, subprograms appended.
    ``attach_type`` is the expected attach type (``None``: the program type's default);
    ``attach_to`` names the hook (a kernel function, ``category/name`` for tracepoints, …).
    ``flags`` are ``BPF_F_*`` load flags (sleepable, XDP frags). ``autoload`` False skips the
    program at load, as libbpf's ``bpf_program__set_autoload``.
    """

    name: str
    type: ProgType
    instructions: list[Instruction] = field(default_factory=list)
    section: str = ""
    attach_type: AttachType | None = None
    attach_to: str = ""
    flags: int = 0
    license: str = ""
    kernel_version: int = 0
    byte_order: ByteOrder = "little"
    autoload: bool = True
    btf: object | None = None
    func_info: list[object] = field(default_factory=list)
    line_info: list[object] = field(default_factory=list)
    core_relos: list[CoreRelo] = field(default_factory=list)

    def copy(self) -> ProgramSpec:
        """A deep copy that can be edited without touching this spec (BTF is shared)."""
        return _copy_sharing_btf(self)


@dataclass
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

    def copy(self) -> VariableSpec:
        return _copy_sharing_btf(self)


@dataclass
class CollectionSpec:
    """Everything an object file describes: maps, programs and variables, by name."""

    maps: dict[str, MapSpec] = field(default_factory=dict)
    programs: dict[str, ProgramSpec] = field(default_factory=dict)
    variables: dict[str, VariableSpec] = field(default_factory=dict)
    byte_order: ByteOrder = "little"
    btf: object | None = None

    def copy(self) -> CollectionSpec:
        """A deep copy: edit it freely, the original stays as parsed."""
        return _copy_sharing_btf(self)


def _copy_sharing_btf(spec: _T) -> _T:
    memo: dict[int, object] = {}
    for obj in _btf_objects(spec):
        memo[id(obj)] = obj
    return copy.deepcopy(spec, memo)


def _btf_objects(spec: object) -> list[object]:
    found: list[object] = []
    if isinstance(spec, CollectionSpec):
        found.append(spec.btf)
        for sub in (*spec.maps.values(), *spec.programs.values(), *spec.variables.values()):
            found += _btf_objects(sub)
    elif isinstance(spec, MapSpec):
        found.append(spec.btf)
        if spec.inner_map is not None:
            found += _btf_objects(spec.inner_map)
    elif isinstance(spec, (ProgramSpec, VariableSpec)):
        found.append(spec.btf)
    return [obj for obj in found if obj is not None]
