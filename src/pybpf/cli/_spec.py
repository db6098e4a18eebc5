"""``pybpf spec OBJ.o [--json]``: what an eBPF object describes, as pybpf (and libbpf) read it.

Four tables: the programs (section, program type, expected attach type, attach target,
instruction count once linked, load flags, the subprograms linked in), the maps (type, key
and value types from BTF or their sizes, max entries, flags, pinning, inner map and initial
values), the global variables (map, offset, size, type, initial value) and the externs
(kconfig options, kernel symbols typed or not, kfuncs; weak ones marked). ``--json`` prints
the same as one JSON document.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence

from pybpf.btf import types as T
from pybpf.btf._btf import BTF
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import (
    BPF_F_SLEEPABLE,
    BPF_F_XDP_HAS_FRAGS,
    CollectionSpec,
    ExternKind,
    ExternSpec,
    MapSpec,
    ProgramSpec,
    VariableSpec,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["register"]

# BPF_F_* map flags, include/uapi/linux/bpf.h
_MAP_FLAGS = (
    (1 << 0, "no_prealloc"),
    (1 << 1, "no_common_lru"),
    (1 << 2, "numa_node"),
    (1 << 3, "rdonly"),
    (1 << 4, "wronly"),
    (1 << 5, "stack_build_id"),
    (1 << 6, "zero_seed"),
    (1 << 7, "rdonly_prog"),
    (1 << 8, "wronly_prog"),
    (1 << 9, "clone"),
    (1 << 10, "mmapable"),
    (1 << 11, "preserve_elems"),
    (1 << 12, "inner_map"),
    (1 << 13, "link"),
    (1 << 14, "path_fd"),
    (1 << 15, "vtype_btf_obj_fd"),
    (1 << 16, "token_fd"),
    (1 << 17, "segv_on_fault"),
    (1 << 18, "no_user_conv"),
)
_PROG_FLAGS = ((BPF_F_SLEEPABLE, "sleepable"), (BPF_F_XDP_HAS_FRAGS, "xdp_frags"))
_VALUE_BYTES = 16  # initial values longer than this are cut


def register(sub: Any) -> None:
    """Add the ``spec`` command to the ``pybpf`` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "spec",
        help="show the programs, maps, globals and externs of an object",
        description=__doc__,
    )
    parser.add_argument("object", metavar="OBJ.o", help="an eBPF object file")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=_run)


def main(words: list[str]) -> int | None:
    """``pybpf spec OBJ [--json]`` read without argparse (see :data:`pybpf.cli.FAST`);
    ``None`` for any other form (argparse reads it, and says what is wrong)."""
    rest = [w for w in words if w != "--json"]
    if len(rest) != 1 or rest[0].startswith("-") or len(words) > 2:
        return None
    return _show(rest[0], as_json=len(words) == 2)


def _run(args: argparse.Namespace) -> int:
    return _show(args.object, as_json=args.json)


def _show(path: str, *, as_json: bool) -> int:
    try:
        spec = load_collection_spec(path)
    except OSError as exc:
        print(f"pybpf spec: {exc.filename or path}: {exc.strerror}", file=sys.stderr)
        return 1
    lines = _json(spec) if as_json else _text(spec, path)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


# -- type names ---------------------------------------------------------------------------
def type_name(btf: BTF, type_id: int, depth: int = 0) -> str:
    """A short C spelling of a BTF type (``struct value``, ``__u32``, ``char[16]``)."""
    if type_id == 0:
        return "void"
    t = btf.get(type_id)
    if t is None or depth > 16:
        return f"[{type_id}]"
    if isinstance(t, T.Composite):
        word = "struct" if t.is_struct else "union"
        return f"{word} {t.name}" if t.name else f"{word} {{...}}"
    if isinstance(t, T.EnumType):
        return f"enum {t.name}" if t.name else "enum {...}"
    if isinstance(t, T.Fwd):
        return f"{'union' if t.is_union else 'struct'} {t.name}"
    if isinstance(t, T.Ptr):
        return type_name(btf, t.type, depth + 1) + " *"
    if isinstance(t, T.Array):
        return f"{type_name(btf, t.type, depth + 1)}[{t.nelems}]"
    if isinstance(t, (T.Const, T.Volatile, T.Restrict)):
        return f"{t.kind.name.lower()} {type_name(btf, t.type, depth + 1)}"
    if isinstance(t, T.TypeTag):
        return type_name(btf, t.type, depth + 1)
    if isinstance(t, T.FuncProto):
        params = ", ".join(type_name(btf, p.type, depth + 1) for p in t.params)
        return f"{type_name(btf, t.type, depth + 1)} (*)({params})"
    return t.name or t.kind.name.lower()


def _typed(btf: object, type_id: int | None, size: int) -> str:
    if size == 0 and not type_id:
        return "-"
    if isinstance(btf, BTF) and type_id:
        return f"{type_name(btf, type_id)} ({size})"
    return str(size)


def _flags(value: int, names: Sequence[tuple[int, str]]) -> str:
    if not value:
        return "-"
    known = [name for bit, name in names if value & bit]
    rest = value & ~sum(bit for bit, _ in names)
    return ",".join(known + ([hex(rest)] if rest else []))


def _enum(value: object) -> str:
    name = getattr(value, "name", None)
    return name.lower() if isinstance(name, str) else str(value)


# -- text ---------------------------------------------------------------------------------
def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    rows = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        yield "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()


def _text(spec: CollectionSpec, path: str) -> Iterator[str]:
    progs, maps, gvars, exts = spec.programs, spec.maps, spec.variables, spec.externs
    licenses = sorted({p.license for p in progs.values()})
    yield (
        f"{path}: {spec.byte_order}-endian, {'BTF' if spec.btf is not None else 'no BTF'}, "
        f"license {', '.join(repr(x) for x in licenses) or 'none'}"
    )
    yield from _section_text(f"programs ({len(progs)})", _program_rows(progs.values()))
    yield from _section_text(f"maps ({len(maps)})", _map_rows(maps.values()))
    yield from _section_text(f"globals ({len(gvars)})", _variable_rows(gvars))
    yield from _section_text(f"externs ({len(exts)})", _extern_rows(exts.values()))


def _section_text(
    title: str, body: tuple[Sequence[str], list[list[str]], list[str]]
) -> Iterator[str]:
    header, rows, notes = body
    yield ""
    yield title + ":"
    if rows:
        yield from _table(header, rows)
    for note in notes:
        yield "  " + note


def _program_rows(progs: Iterable[ProgramSpec]) -> tuple[Sequence[str], list[list[str]], list[str]]:
    header = ("NAME", "SECTION", "TYPE", "ATTACH TYPE", "TARGET", "INSNS", "FLAGS")
    rows, notes = [], []
    for p in progs:
        flags = _flags(p.flags, _PROG_FLAGS)
        if not p.autoload:
            flags = "no-autoload" if flags == "-" else flags + ",no-autoload"
        rows.append(
            [
                p.name,
                p.section,
                _enum(p.type),
                _enum(p.attach_type) if p.attach_type is not None else "-",
                p.attach_to or "-",
                str(p.insn_count),
                flags,
            ]
        )
        if p.subprograms:
            subs = ", ".join(f"{name}@{slot}" for name, slot in p.subprograms.items())
            notes.append(f"{p.name}: subprograms {subs}")
    return header, rows, notes


def _map_rows(maps: Iterable[MapSpec]) -> tuple[Sequence[str], list[list[str]], list[str]]:
    header = ("NAME", "TYPE", "KEY", "VALUE", "MAX", "FLAGS", "PINNING")
    rows, notes = [], []
    for m in maps:
        rows.append(
            [
                m.name,
                _enum(m.type),
                _typed(m.btf, m.key_type, m.key_size),
                _typed(m.btf, m.value_type, m.value_size),
                str(m.max_entries),
                _flags(m.flags, _MAP_FLAGS),
                _enum(m.pinning) if m.pinning else "-",
            ]
        )
        notes += [f"{m.name}: {note}" for note in _map_notes(m)]
    return header, rows, notes


def _map_notes(m: MapSpec) -> Iterator[str]:
    if m.kernel_name and m.kernel_name != m.name:
        yield f"kernel name {m.kernel_name!r}"
    if m.numa_node:
        yield f"numa node {m.numa_node}"
    if m.map_extra:
        yield f"map_extra {m.map_extra:#x}"
    if m.freeze:
        yield "frozen after load"
    inner = m.inner_map
    if inner is not None:
        key = _typed(inner.btf, inner.key_type, inner.key_size)
        value = _typed(inner.btf, inner.value_type, inner.value_size)
        yield (
            f"inner map {inner.name}: {_enum(inner.type)}, key {key}, value {value}, "
            f"max {inner.max_entries}, flags {_flags(inner.flags, _MAP_FLAGS)}"
        )
    if m.contents:
        yield "values " + ", ".join(f"[{k}] = {v}" for k, v in m.contents)
    for member, prog in m.struct_ops.items():
        yield f".{member} = {prog}"


def _variable_rows(
    gvars: dict[str, VariableSpec],
) -> tuple[Sequence[str], list[list[str]], list[str]]:
    header = ("NAME", "SECTION", "OFFSET", "SIZE", "TYPE", "VALUE")
    rows = []
    for key, v in gvars.items():
        shown = v.value[:_VALUE_BYTES].hex() + ("..." if len(v.value) > _VALUE_BYTES else "")
        kind = type_name(v.btf, v.type) if isinstance(v.btf, BTF) and v.type else "-"
        rows.append([key, v.map_name, str(v.offset), str(v.size), kind, shown or "-"])
    return header, rows, []


def _extern_rows(exts: Iterable[ExternSpec]) -> tuple[Sequence[str], list[list[str]], list[str]]:
    header = ("NAME", "KIND", "TYPE", "WEAK", "KCONFIG")
    rows = []
    for e in exts:
        if e.kind is ExternKind.KSYM and not e.typed:
            kind = "untyped"
        elif isinstance(e.btf, BTF):
            kind = type_name(e.btf, e.type)
        else:
            kind = "-"
        kconfig = "-"
        if e.kind is ExternKind.KCONFIG and e.kconfig_type is not None:
            kconfig = f"{e.kconfig_type.value} at {e.offset} ({e.size})"
        rows.append([e.name, e.kind.value, kind, "weak" if e.weak else "-", kconfig])
    return header, rows, []


# -- JSON ---------------------------------------------------------------------------------
def _json(spec: CollectionSpec) -> list[str]:
    doc = {
        "name": spec.name,
        "byte_order": spec.byte_order,
        "btf": spec.btf is not None,
        "programs": [_program_json(p) for p in spec.programs.values()],
        "maps": [_map_json(m) for m in spec.maps.values()],
        "globals": [_variable_json(k, v) for k, v in spec.variables.items()],
        "externs": [_extern_json(e) for e in spec.externs.values()],
    }
    import json  # noqa: PLC0415 - --json only

    return [json.dumps(doc, indent=2)]


def _program_json(p: ProgramSpec) -> dict[str, Any]:
    return {
        "name": p.name,
        "section": p.section,
        "type": _enum(p.type),
        "attach_type": _enum(p.attach_type) if p.attach_type is not None else None,
        "attach_to": p.attach_to,
        "insns": p.insn_count,
        "flags": p.flags,
        "autoload": p.autoload,
        "license": p.license,
        "kernel_version": p.kernel_version,
        "subprograms": p.subprograms,
    }


def _map_json(m: MapSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": m.name,
        "kernel_name": m.kernel_name or m.name,
        "type": _enum(m.type),
        "key_size": m.key_size,
        "value_size": m.value_size,
        "key_type": _typed(m.btf, m.key_type, m.key_size),
        "value_type": _typed(m.btf, m.value_type, m.value_size),
        "max_entries": m.max_entries,
        "flags": m.flags,
        "pinning": _enum(m.pinning),
        "numa_node": m.numa_node,
        "map_extra": m.map_extra,
        "values": [[k, v] for k, v in m.contents],
        "inner_map": _map_json(m.inner_map) if m.inner_map is not None else None,
    }
    if m.struct_ops:
        out["struct_ops"] = m.struct_ops
    return out


def _variable_json(key: str, v: VariableSpec) -> dict[str, Any]:
    return {
        "name": key,
        "section": v.map_name,
        "offset": v.offset,
        "size": v.size,
        "type": type_name(v.btf, v.type) if isinstance(v.btf, BTF) and v.type else None,
        "value": v.value.hex(),
        "constant": v.constant,
    }


def _extern_json(e: ExternSpec) -> dict[str, Any]:
    return {
        "name": e.name,
        "kind": e.kind.value,
        "typed": e.typed,
        "type": type_name(e.btf, e.type) if isinstance(e.btf, BTF) and e.type else None,
        "weak": e.weak,
        "kconfig_type": e.kconfig_type.value if e.kconfig_type else None,
        "offset": e.offset,
        "size": e.size,
    }
