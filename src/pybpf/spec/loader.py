"""Reading an eBPF object file into a :class:`~pybpf.spec.CollectionSpec`, as libbpf reads it.

Example::

    from pybpf.spec.loader import load_collection_spec

    spec = load_collection_spec("xdp_counter.bpf.o")
    spec.maps["counts"].max_entries = 4096          # edit before load
    spec.variables["sample_rate"].value = (7).to_bytes(4, "little")
    prog = spec.programs["count_packets"]
    print(prog.type, prog.insn_count, prog.subprograms)

What happens, in libbpf's order (``bpf_object_open``):

1. sections sorted by role (:mod:`~pybpf.spec._object`), BTF parsed;
2. externs collected, kconfig laid out (:mod:`~pybpf.spec._externs`);
3. functions found (:mod:`~pybpf.spec._programs`);
4. maps: legacy ``maps``, BTF-defined ``.maps``, global data, ``.kconfig``, struct_ops;
5. relocations read into per-function patches (:mod:`~pybpf.spec._relocs`);
6. each program linked with its subprograms (:mod:`~pybpf.spec._linker`); its instructions,
   func_info, line_info and CO-RE records are computed when first read
   (:mod:`~pybpf.spec._btfext`).

Pure: bytes in, specs out; the same object gives the same specs on every machine. Nothing
here depends on the running kernel (libbpf's kernel-dependent steps — CO-RE, kconfig values,
ksym addresses, feature fallbacks — happen at load time).
"""

from __future__ import annotations

import os
import struct
from functools import partial

from pybpf._uapi import MapType
from pybpf.btf.types import Type
from pybpf.spec._btfext import ExtIndex
from pybpf.spec._btffix import btf_fixups
from pybpf.spec._exception_cb import exception_callbacks
from pybpf.spec._externs import collect_externs, kconfig_size
from pybpf.spec._globals import data_maps, internal_map_name
from pybpf.spec._lazy import Deferred
from pybpf.spec._linker import LinkedCode, link
from pybpf.spec._maps_btf import PlacedMap, btf_maps, fill_values
from pybpf.spec._maps_legacy import legacy_maps
from pybpf.spec._object import ObjectFile, Role
from pybpf.spec._programs import Function, Functions, section_info
from pybpf.spec._relocs import Relocator, Targets
from pybpf.spec._struct_ops import struct_ops_maps
from pybpf.spec.specs import (
    BPF_F_MMAPABLE,
    BPF_F_RDONLY_PROG,
    CollectionSpec,
    MapSpec,
    ProgramSpec,
    VariableSpec,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["load_collection_spec"]

_LICENSE_LEN = 64  # libbpf's obj->license buffer


def load_collection_spec(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview, *, name: str | None = None
) -> CollectionSpec:
    """Read an eBPF object (a path, or its bytes) into a :class:`CollectionSpec`.

    ``name`` names the object as its file name would (``"foo.bpf.o"``): libbpf derives the
    kernel names of global-data maps from it (``foo.data``). A path names itself.

    Raises:
        OSError: the file cannot be read.
        ELFError: a malformed ELF file, or code, relocations or map definitions that are
            inconsistent; it names the section and the byte offset.
        BTFError: malformed ``.BTF`` or ``.BTF.ext``, or BTF that does not describe the
            object's maps, globals and externs. Errors in the records of ``.BTF.ext`` and in
            instructions are raised when a program's lazy fields are first read.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, path = bytes(source), None
    else:
        path = os.fspath(source)
        with open(path, "rb") as f:  # not pathlib: importing it costs more than reading
            data = f.read()
    return _Loader(ObjectFile(data, path, name)).collection()


_NO_RECORDS: Deferred[Any] = Deferred(list, count=0)  # a fresh empty list for each program


class _Loader:
    def __init__(self, obj: ObjectFile) -> None:
        self.obj = obj
        self.btf = obj.btf
        self.externs = collect_externs(obj)
        self.funcs = Functions(obj)
        self.maps: dict[str, MapSpec] = {}
        self.variables: dict[str, VariableSpec] = {}
        self.targets = Targets(externs=self.externs)

    def collection(self) -> CollectionSpec:
        obj = self.obj
        placed = btf_maps(obj)
        self._add_maps(obj, placed)
        relocs = Relocator(obj, self.funcs, self.targets)
        programs = self._programs(relocs)
        maps_sec = obj.section_named(Role.MAPS)
        if maps_sec is not None:
            fill_values(obj, maps_sec, placed, self.funcs)
        for spec in struct_ops_maps(obj, self.funcs, programs):
            self._add_map(spec)
        externs = {e.name: e for e in self.externs.values()}
        hidden = {f.name for f in self.funcs.all() if f.hidden and f.section.name == ".text"}
        fixups: Deferred[dict[int, Type]] | dict[int, Type] = {}
        if self.btf is not None:  # the recipe gets its own copies: the spec may be edited
            kept = {name: ext.copy() for name, ext in externs.items()}
            fixups = Deferred(partial(btf_fixups, obj, self.btf, kept, frozenset(hidden)))
        return CollectionSpec(
            maps=self.maps,
            programs={p.name: p for p in programs.values()},
            variables=self.variables,
            byte_order=obj.byteorder,
            btf=self.btf,
            externs=externs,
            name=obj.name,
            hidden_functions=hidden,
            btf_fixups=fixups,
        )

    # -- maps ------------------------------------------------------------------------------
    def _add_map(self, spec: MapSpec) -> None:
        if spec.name in self.maps:
            raise self.obj.error(f"two maps are called {spec.name!r}")
        self.maps[spec.name] = spec

    def _add_maps(self, obj: ObjectFile, placed: list[PlacedMap]) -> None:
        legacy = obj.section_named(Role.LEGACY_MAPS)
        for spec, offset in legacy_maps(obj):
            self._add_map(spec)
            self.targets.maps[legacy.index if legacy else 0, offset] = spec.name
        maps_sec = obj.section_named(Role.MAPS)
        for p in placed:
            self._add_map(p.spec)
            self.targets.maps[maps_sec.index if maps_sec else 0, p.offset] = p.spec.name
        specs, variables = data_maps(obj)
        for index, spec in specs:
            self._add_map(spec)
            self.targets.data[index] = spec.name
        for var in variables:
            key = var.name if var.name not in self.variables else f"{var.map_name}:{var.name}"
            self.variables[key] = var
        self._kconfig_map()
        self._arena(obj)

    def _kconfig_map(self) -> None:
        size = kconfig_size(self.externs)
        if not size:
            return
        found = self.obj.datasec(".kconfig")
        self._add_map(
            MapSpec(
                name=".kconfig",
                type=MapType.ARRAY,
                key_size=4,
                value_size=size,
                max_entries=1,
                flags=BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
                data=bytes(size),
                freeze=True,
                section=".kconfig",
                btf=self.btf,
                value_type=found[0] if found else None,
                kernel_name=internal_map_name(self.obj.name, ".kconfig"),
            )
        )

    def _arena(self, obj: ObjectFile) -> None:
        sec = obj.section_named(Role.ARENA)
        arenas = [m for m in self.maps.values() if m.type == MapType.ARENA]
        if len(arenas) > 1:
            raise obj.error(f"more than one arena map: {', '.join(m.name for m in arenas)}")
        if sec is None:
            return
        if not arenas:
            raise obj.error("__arena globals need an arena map in .maps", sec, sec.offset)
        arenas[0].data = bytes(sec.data)
        self.targets.data[sec.index] = arenas[0].name

    # -- programs --------------------------------------------------------------------------
    def _programs(self, relocs: Relocator) -> dict[int, ProgramSpec]:
        """Every program, linked, by ``id`` of its function."""
        obj = self.obj
        common = {
            "license": self._license(),
            "kernel_version": self._version(),
            "byte_order": obj.byteorder,
            "btf": self.btf,
        }
        ext = self._ext()
        self.exception_cbs = exception_callbacks(self.btf, self.funcs)
        out: dict[int, ProgramSpec] = {}
        names: set[str] = set()
        for func in self.funcs.entries():
            if func.name in names:
                raise obj.error(f"two programs are called {func.name!r}", func.section)
            names.add(func.name)
            out[id(func)] = self._program(func, relocs, ext, common)
        return out

    def _program(
        self, func: Function, relocs: Relocator, ext: ExtIndex | None, common: dict[str, Any]
    ) -> ProgramSpec:
        info = section_info(func.section.name)
        linked = link(func, relocs, self.exception_cbs.get(func.name))
        order = linked.order
        func_info = line_info = core_relos = _NO_RECORDS
        if ext is not None:
            func_info = Deferred(partial(ext.func_info, order))
            line_info = Deferred(partial(ext.line_info, order))
            # a count of 0 when the program's sections have no CO-RE records: relocation
            # then skips the program without decoding anything
            none = ext.none_in("core_relo", order)
            core_relos = Deferred(partial(ext.core_relos, order), 0 if none else None)
        where = f"{self.obj.source}: program {func.name}"
        return ProgramSpec(
            name=func.name,
            type=info.type,
            instructions=LinkedCode(linked, self.obj.byteorder, where),
            section=info.section,
            attach_type=info.attach_type,
            attach_to=info.attach_to,
            flags=info.flags,
            autoload=info.autoload,
            subprograms=_subprogram_names(order),
            func_info=func_info,
            line_info=line_info,
            core_relos=core_relos,
            **common,
        )

    def _ext(self) -> ExtIndex | None:
        sec = self.obj.ext_section
        if sec is None or self.btf is None:
            return None  # libbpf ignores .BTF.ext without .BTF
        return ExtIndex(sec.data, self.btf, f"{self.obj.source}:.BTF.ext")

    def _license(self) -> str:
        sec = self.obj.section_named(Role.LICENSE)
        if sec is None:
            return ""
        raw = bytes(sec.data[: _LICENSE_LEN - 1]).split(b"\0", 1)[0]
        return raw.decode("utf-8", "replace")

    def _version(self) -> int:
        sec = self.obj.section_named(Role.VERSION)
        if sec is None:
            return 0
        if sec.size != 4:
            raise self.obj.error(f"version section of {sec.size} bytes, not 4", sec, sec.offset)
        order = "<I" if self.obj.byteorder == "little" else ">I"
        return int(struct.unpack(order, sec.data)[0])


def _subprogram_names(order: tuple[tuple[Function, int], ...]) -> dict[str, int]:
    """The functions appended after the program's own (``order[0]``), by name."""
    out: dict[str, int] = {}
    for func, base in order[1:]:
        key = func.name if func.name not in out else f"{func.name}#{func.symbol.index}"
        out[key] = base
    return out
