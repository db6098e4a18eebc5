"""``pybpf probe``, ``pybpf prog …`` and ``pybpf map …``: the kernel's side, as bpftool shows it.

Output follows ``bpftool`` (plain text by default, ``--json`` for machine-readable output):

* ``pybpf probe [--full]`` — ``bpftool feature probe``
* ``pybpf prog list`` / ``prog show [PROG]`` — ``bpftool prog show``
* ``pybpf prog dump xlated PROG [--opcodes]`` / ``prog dump jited PROG``
* ``pybpf map list`` / ``map show [MAP]`` / ``map dump MAP`` — ``bpftool map ...``; a map with
  BTF dumps its entries decoded through BTF, as bpftool 7.1 prints them (see
  :mod:`pybpf.btf.format_data`)

``PROG`` is ``id N``, ``pinned PATH``, ``tag TAG`` or ``name NAME``; ``MAP`` is ``id N``,
``pinned PATH`` or ``name NAME``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

from pybpf._uapi import MapType, ProgType
from pybpf.errors import BPFError, SpecError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    import argparse
    from datetime import datetime
    from typing import Any

    from pybpf.asm.instruction import Instruction

__all__ = ["hex_bytes", "register"]


def register(subparsers: Any) -> None:
    """Add ``probe``, ``prog`` and ``map`` to the ``pybpf`` command."""
    probe = subparsers.add_parser(
        "probe",
        help="probe the kernel's eBPF features (like bpftool feature probe)",
        description="List the eBPF program types, map types, link types, BTF kinds, helpers "
        "and other features the running kernel has.",
    )
    probe.add_argument("--full", action="store_true", help="also probe helpers whose probe logs")
    probe.set_defaults(func=_probe)
    _register_prog(subparsers)
    _register_map(subparsers)


def _selector(parser: argparse.ArgumentParser, what: str, optional: bool) -> None:
    parser.add_argument(
        "selector",
        nargs="*" if optional else "+",
        metavar=what,
        help=f"{what} as 'id N', 'pinned PATH' or 'name NAME'"
        + (" or 'tag TAG'" if what == "PROG" else ""),
    )
    parser.add_argument("-j", "--json", action="store_true", help="print JSON")


def _register_prog(subparsers: Any) -> None:
    prog = subparsers.add_parser("prog", help="inspect loaded programs (like bpftool prog)")
    sub = prog.add_subparsers(dest="prog_command", metavar="COMMAND", required=True)
    for name in ("list", "show"):
        p = sub.add_parser(name, help="show loaded programs")
        _selector(p, "PROG", optional=True)
        p.set_defaults(func=_prog_show)
    dump = sub.add_parser("dump", help="dump a program's instructions")
    dump.add_argument("what", choices=("xlated", "jited"))
    _selector(dump, "PROG", optional=False)
    dump.add_argument("--opcodes", action="store_true", help="print the raw bytes too")
    dump.set_defaults(func=_prog_dump)
    from pybpf.cli import _loadall  # noqa: PLC0415 - its own module (pybpf prog loadall)

    _loadall.register(sub)


def _register_map(subparsers: Any) -> None:
    m = subparsers.add_parser("map", help="inspect maps (like bpftool map)")
    sub = m.add_subparsers(dest="map_command", metavar="COMMAND", required=True)
    for name in ("list", "show"):
        p = sub.add_parser(name, help="show maps")
        _selector(p, "MAP", optional=True)
        p.set_defaults(func=_map_show)
    dump = sub.add_parser("dump", help="dump a map's entries (decoded through its BTF)")
    _selector(dump, "MAP", optional=False)
    dump.set_defaults(func=_map_dump)


def _json() -> Any:
    """:mod:`json` (``--json`` only: a process that prints text does not import it)."""
    import json  # noqa: PLC0415

    return json


# -- probe -----------------------------------------------------------------------------------
def _probe(args: argparse.Namespace) -> int:
    from pybpf.features.report import report  # noqa: PLC0415 - imports the probes lazily

    for line in report(full=args.full):
        print(line)
    return 0


# -- selecting objects -----------------------------------------------------------------------
_SELECTORS = {"prog": ("id", "pinned", "tag", "name"), "map": ("id", "pinned", "name")}


def _check_selector(selector: list[str], kind: str) -> None:
    keys = _SELECTORS[kind]
    ok = not selector or (len(selector) == 2 and selector[0] in keys)
    if ok and selector[:1] == ["id"] and not selector[1].isdigit():
        ok = False
    if not ok:
        expected = ", ".join(f"'{k} …'" for k in keys)
        raise SpecError(f"expected {expected}, not {' '.join(selector)!r}")


def _match(selector: list[str], info: Any, pinned_id: Callable[[str], int]) -> bool:
    if not selector:
        return True
    key, value = selector
    if key == "name":
        return bool(info.name == value)
    if key == "tag":
        return bool(getattr(info, "tag", None) == value)
    return bool(info.id == (pinned_id(value) if key == "pinned" else int(value)))


def _selected(selector: list[str], kind: str) -> Iterator[Any]:
    from pybpf import objects  # noqa: PLC0415

    _check_selector(selector, kind)
    infos = objects.iter_programs() if kind == "prog" else objects.iter_maps()
    cls = objects.Program if kind == "prog" else objects.Map
    cache: dict[str, int] = {}

    def pinned_id(path: str) -> int:
        if path not in cache:
            with cls.from_pin(path) as obj:
                cache[path] = obj.info().id
        return cache[path]

    if selector[:1] == ["id"] and len(selector) == 2:
        with cls.from_id(int(selector[1])) as obj:  # one object: no walk of the system
            yield obj.info()
        return
    if selector[:1] == ["pinned"] and len(selector) == 2:
        with cls.from_pin(selector[1]) as obj:
            yield obj.info()
        return
    for info in infos:
        if _match(selector, info, pinned_id):
            yield info


# -- prog ------------------------------------------------------------------------------------
def _type_name(t: object) -> str:
    from pybpf.features import kernel_name  # noqa: PLC0415 - keeps `pybpf prog loadall` lean

    return kernel_name(t) if isinstance(t, (ProgType, MapType)) else f"type {t}"


def _loaded_at(info: Any) -> str:
    when: datetime = info.loaded_at
    return when.astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")


def format_prog(info: Any) -> str:
    """A program as ``bpftool prog show`` prints it."""
    head = f"{info.id}: {_type_name(info.type)}  name {info.name}  tag {info.tag}"
    head += "  gpl" if info.gpl_compatible else ""
    if info.run_time_ns:
        head += f" run_time_ns {info.run_time_ns} run_cnt {info.run_cnt}"
    if info.recursion_misses:
        head += f" recursion_misses {info.recursion_misses}"
    lines = [head, f"\tloaded_at {_loaded_at(info)}  uid {info.created_by_uid}"]
    sizes = f"\txlated {info.xlated_size}B  "
    sizes += f"jited {info.jited_size}B" if info.jited_size else "not jited"
    if info.memlock is not None:
        sizes += f"  memlock {info.memlock}B"
    if info.map_ids:
        sizes += "  map_ids " + ",".join(map(str, info.map_ids))
    lines.append(sizes)
    if info.btf_id:
        lines.append(f"\tbtf_id {info.btf_id}")
    return "\n".join(lines)


def prog_json(info: Any) -> dict[str, object]:
    """A program as ``bpftool -j prog show`` prints it."""
    out: dict[str, object] = {
        "id": info.id,
        "type": _type_name(info.type),
        "name": info.name,
        "tag": info.tag,
        "gpl_compatible": info.gpl_compatible,
        "loaded_at": int(info.loaded_at.timestamp()),
        "uid": info.created_by_uid,
        "bytes_xlated": info.xlated_size,
        "jited": bool(info.jited_size),
        "bytes_jited": info.jited_size,
    }
    if info.memlock is not None:
        out["bytes_memlock"] = info.memlock
    if info.map_ids:
        out["map_ids"] = list(info.map_ids)
    if info.btf_id:
        out["btf_id"] = info.btf_id
    return out


def _prog_show(args: argparse.Namespace) -> int:
    return _show(args, "prog", prog_json, format_prog)


def _show(
    args: argparse.Namespace,
    kind: str,
    to_json: Callable[[Any], object],
    text: Callable[[Any], str],
) -> int:
    """``pybpf prog|map show [SELECTOR] [--json]``: bpftool's listing, or its JSON (one
    object when a selector names one, else a list)."""
    infos = list(_selected(args.selector, kind))
    if args.json:
        converted = [to_json(i) for i in infos]
        one = args.selector and len(converted) == 1
        print(_json().dumps(converted[0] if one else converted))
    else:
        for info in infos:
            print(text(info))
    return 0


def _prog_dump(args: argparse.Namespace) -> int:
    from pybpf.objects import Program  # noqa: PLC0415

    infos = list(_selected(args.selector, "prog"))
    if not infos:
        raise BPFError(f"no program matches {' '.join(args.selector)}")
    for info in infos:
        with Program.from_id(info.id) as prog:
            if args.what == "xlated":
                print(format_xlated(prog.xlated().instructions, opcodes=args.opcodes))
            else:
                jited = prog.jited()
                print(format_jited(jited.raw, jited.ksyms, jited.func_lens))
    return 0


def _kallsyms() -> dict[int, str]:
    try:
        with open("/proc/kallsyms") as f:
            return {int(a, 16): n for a, _, n, *_ in (ln.split() for ln in f) if int(a, 16)}
    except (OSError, ValueError):
        return {}


def _call_text(insn: Instruction, symbols: dict[int, str], base: int | None) -> str:
    if base is not None:
        name = symbols.get(base + insn.imm)
        if name:
            return f"call {name}#{insn.imm}"
    return f"call #{insn.imm}"


def _xlated_text(insn: Instruction, symbols: dict[int, str], base: int | None) -> str:
    if insn.opcode == 0x18 and insn.src == 1:
        return f"r{insn.dst} = map[id:{insn.imm & 0xFFFFFFFF}]"
    if insn.opcode == 0x18 and insn.src == 2:
        return f"r{insn.dst} = map[id:{insn.imm & 0xFFFFFFFF}][0]+{insn.imm_hi}"
    if insn.opcode == 0x85 and insn.src == 0:
        return _call_text(insn, symbols, base)
    try:
        from pybpf.asm.disasm import format_instruction  # noqa: PLC0415

        return str(format_instruction(insn))
    except (ImportError, BPFError, ValueError):
        return insn.name


def format_xlated(insns: list[Instruction], *, opcodes: bool = False) -> str:
    """Instructions as ``bpftool prog dump xlated`` prints them (``   3: (07) r2 += -4``)."""
    symbols = _kallsyms() if any(i.opcode == 0x85 and i.src == 0 for i in insns) else {}
    base = next((a for a, n in symbols.items() if n == "__bpf_call_base"), None)
    lines, pc = [], 0
    for insn in insns:
        lines.append(f"{pc:4d}: ({insn.opcode:02x}) {_xlated_text(insn, symbols, base)}")
        if opcodes:
            lines.append("       " + " ".join(f"{b:02x}" for b in insn.encode()))
        pc += insn.slots
    return "\n".join(lines)


def format_jited(code: bytes, ksyms: tuple[int, ...], lens: tuple[int, ...]) -> str:
    """JIT machine code as hex, function by function (no x86 disassembler is bundled)."""
    symbols = _kallsyms() if ksyms else {}
    out, start = [], 0
    for addr, length in zip(ksyms, lens, strict=False) if lens else [(0, len(code))]:
        out.append(f"{symbols.get(addr, f'0x{addr:x}')}:")
        chunk = code[start : start + length]
        for off in range(0, len(chunk), 16):
            out.append(f"{off:4x}:\t" + hex_bytes(chunk[off : off + 16]))
        start += length
    return "\n".join(out)


# -- map -------------------------------------------------------------------------------------
def format_map(info: Any) -> str:
    """A map as ``bpftool map show`` prints it."""
    lines = [f"{info.id}: {_type_name(info.type)}  name {info.name}  flags 0x{info.flags:x}"]
    second = f"\tkey {info.key_size}B  value {info.value_size}B  max_entries {info.max_entries}"
    if info.memlock is not None:
        second += f"  memlock {info.memlock}B"
    if info.frozen:
        second += "  frozen"
    lines.append(second)
    if info.btf_id:
        lines.append(f"\tbtf_id {info.btf_id}")
    return "\n".join(lines)


def map_json(info: Any) -> dict[str, object]:
    """A map as ``bpftool -j map show`` prints it."""
    out: dict[str, object] = {
        "id": info.id,
        "type": _type_name(info.type),
        "name": info.name,
        "flags": info.flags,
        "bytes_key": info.key_size,
        "bytes_value": info.value_size,
        "max_entries": info.max_entries,
    }
    if info.memlock is not None:
        out["bytes_memlock"] = info.memlock
    if info.frozen is not None:
        out["frozen"] = int(info.frozen)
    if info.btf_id:
        out["btf_id"] = info.btf_id
    return out


def _map_show(args: argparse.Namespace) -> int:
    return _show(args, "map", map_json, format_map)


def hex_bytes(data: bytes) -> str:
    """Bytes as bpftool prints them: ``01 02 … 08  09 …``, 16 to a line."""
    parts = []
    for i, b in enumerate(data):
        if i:
            parts.append("\n" if i % 16 == 0 else "  " if i % 8 == 0 else " ")
        parts.append(f"{b:02x}")
    return "".join(parts)


def format_entry(key: bytes, value: bytes | list[bytes], map_type: object) -> str:
    """One entry as ``bpftool map dump`` prints it."""
    if isinstance(value, list):  # per-CPU
        lines = ["key:", hex_bytes(key)]
        for cpu, v in enumerate(value):
            sep = "\n" if len(v) > 16 else " "
            lines.append(f"value (CPU {cpu:02d}):{sep}{hex_bytes(v)}")
        return "\n".join(lines)
    if map_type == MapType.PROG_ARRAY:
        return f"key: {hex_bytes(key)}  value (prog id): {int.from_bytes(value, sys.byteorder)}"
    if map_type in (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS):
        return f"key: {hex_bytes(key)}  value (map id): {int.from_bytes(value, sys.byteorder)}"
    broken = len(key) > 16 or len(value) > 16
    single = len(key) + len(value) <= 24 and not broken
    sep = "\n" if broken else " "
    text = f"key:{sep}{hex_bytes(key)}" if key else ""
    if key and value:
        text += "  " if single else "\n"
    return text + (f"value:{sep}{hex_bytes(value)}" if value else "")


def _raw_entries(m: Any) -> list[tuple[bytes, Any]]:
    from pybpf.objects import KeyValueMap, PerCPUCodec, RawCodec  # noqa: PLC0415

    if not isinstance(m, KeyValueMap):
        raise BPFError(f"{_type_name(m.type)} maps cannot be dumped")
    raw = RawCodec(m.key_size, m.value_size)
    cpus = getattr(m.raw_codec(), "cpus", None)
    m.codec = PerCPUCodec(raw, cpus) if cpus is not None else raw
    return m.items()


def _kv_btf(info: Any) -> Any:
    """The BTF bpftool reads a map's entries with (``get_map_kv_btf``), or None."""
    from pybpf.btf import BTF  # noqa: PLC0415

    if info.btf_vmlinux_value_type_id:
        return BTF.from_path("/sys/kernel/btf/vmlinux", cache=True)
    if not info.btf_value_type_id:
        return None
    from pybpf.objects import BTFHandle  # noqa: PLC0415

    with BTFHandle.from_id(info.btf_id) as handle:
        return BTF(handle.raw(), name=f"BTF {info.btf_id}")


def _map_dump(args: argparse.Namespace) -> int:
    from pybpf.objects import Map  # noqa: PLC0415

    infos = list(_selected(args.selector, "map"))
    if not infos:
        raise BPFError(f"no map matches {' '.join(args.selector)}")
    dumps = []
    for info in infos:
        with Map.from_id(info.id) as m:
            dumps.append((info, _raw_entries(m)))
    if args.json:
        print(_json().dumps(_dump_json(dumps)))
    elif all(info.btf_id for info in infos):
        print(_dump_btf(dumps))
    else:
        _dump_plain(dumps)
    return 0


if TYPE_CHECKING:
    _Dump = list[tuple[Any, list[tuple[bytes, Any]]]]


def _dump_plain(dumps: _Dump) -> None:
    """``bpftool map dump`` without BTF: hex, with a header per map when there are several."""
    for n, (info, entries) in enumerate(dumps):
        if len(dumps) > 1:
            print(
                f"{info.id}: {_type_name(info.type)}  "
                + (f"name {info.name}  " * bool(info.name))
                + f"flags 0x{info.flags:x}"
            )
        for key, value in entries:
            print(format_entry(key, value, info.type))
        print(f"Found {len(entries)} element{'s' if len(entries) != 1 else ''}")
        if n != len(dumps) - 1:
            print()


def _dump_btf(dumps: _Dump) -> str:
    """``bpftool map dump`` of maps with BTF: the entries decoded, as bpftool's pretty JSON
    writer prints them."""
    from pybpf.btf.format_data import JsonWriter  # noqa: PLC0415

    w = JsonWriter(pretty=True)
    several = len(dumps) > 1
    if several:
        w.start("[")
    for info, entries in dumps:
        btf = _kv_btf(info)
        if several:
            w.start("{")
            _header(w, info)
            w.name("elements")
        w.start("[")
        for key, value in entries:
            if btf is None:
                w.raw(format_entry(key, value, info.type) + "\n")
            else:
                _entry_btf(w, btf, info, key, value, plain=True)
        w.end("]")
        if several:
            w.end("}")
    if several:
        w.end("]")
    return w.text()


def _header(w: Any, info: Any) -> None:
    w.name("id")
    w.literal(str(info.id))
    w.name("type")
    w.string(_type_name(info.type))
    if info.name:
        w.name("name")
        w.string(info.name)
    w.name("flags")
    w.literal(str(info.flags))


def _entry_btf(w: Any, btf: Any, info: Any, key: bytes, value: Any, *, plain: bool) -> None:
    """bpftool's ``do_dump_btf``: one entry as ``{"key": …, "value": …}``."""
    from pybpf.btf.format_data import dump_data  # noqa: PLC0415

    w.start("{")
    try:
        if info.btf_key_type_id:
            w.name("key")
            tree, ok = dump_data(btf, info.btf_key_type_id, key, plain=plain)
            w.write(tree)
            if not ok:
                return
        type_id = info.btf_vmlinux_value_type_id or info.btf_value_type_id
        if not isinstance(value, list):
            w.name("value")
            w.write(dump_data(btf, type_id, value, plain=plain)[0])
            return
        w.name("values")
        w.start("[")
        for cpu, v in enumerate(value):
            w.start("{")
            w.name("cpu")
            w.literal(str(cpu))
            w.name("value")
            tree, ok = dump_data(btf, type_id, v, plain=plain)
            w.write(tree)
            w.end("}")
            if not ok:
                break
        w.end("]")
    finally:
        w.end("}")


def _dump_json(dumps: _Dump) -> object:
    """``bpftool -j map dump``: hex bytes, and the entries decoded (``formatted``) when the
    map has BTF."""
    out = []
    for info, entries in dumps:
        btf = _kv_btf(info) if info.btf_id else None
        elements = [_entry_json(k, v, info, btf) for k, v in entries]
        if len(dumps) == 1:
            return elements
        head: dict[str, object] = {"id": info.id, "type": _type_name(info.type)}
        if info.name:
            head["name"] = info.name
        head["flags"] = info.flags
        head["elements"] = elements
        out.append(head)
    return out


def _entry_json(key: bytes, value: Any, info: Any = None, btf: Any = None) -> dict[str, object]:
    def hexes(b: bytes) -> list[str]:
        return [f"0x{x:02x}" for x in b]

    if isinstance(value, list):
        out: dict[str, object] = {
            "key": hexes(key),
            "values": [{"cpu": i, "value": hexes(v)} for i, v in enumerate(value)],
        }
    else:
        out = {"key": hexes(key), "value": hexes(value)}
    if btf is not None:
        from pybpf.btf.format_data import JsonWriter  # noqa: PLC0415

        w = JsonWriter(pretty=False)
        _entry_btf(w, btf, info, key, value, plain=False)
        out["formatted"] = _json().loads(w.text())
    return out
