"""libbpf itself (``libbpf.so.1`` through ctypes) as the oracle of the spec loader's tests.

Run as a script in a child process (libbpf may crash on objects it does not expect: a
struct_ops object under the gen-loader, say), it prints one JSON document:

    python -m tests.spec.libbpf_ctypes open OBJ.o     what bpf_object__open() found
    python -m tests.spec.libbpf_ctypes link OBJ.o     each program after relocation
    python -m tests.spec.libbpf_ctypes load OBJ.o     the same, loaded for real (root)
    python -m tests.spec.libbpf_ctypes btf OBJ.o      the object's BTF once libbpf fixed it

``link`` uses libbpf's *gen loader* mode (``bpf_object__gen_loader``, what ``bpftool gen
skeleton -L`` uses): ``bpf_object__load()`` then relocates and links every program exactly
as for a real load, but records the syscalls instead of making them, so it needs no root
and no kernel support; map references come out as ``BPF_PSEUDO_MAP_IDX``/``_IDX_VALUE``,
CO-RE relocations are recorded, not applied. Programs libbpf does not know the section of
are not loaded (autoload off), as libbpf would refuse them.

:func:`run` returns the document, or ``None`` when libbpf cannot be loaded or failed.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

_c = ctypes
_P = _c.c_void_p


class _GenOpts(_c.Structure):
    _fields_ = [
        ("sz", _c.c_size_t),
        ("data", _c.c_char_p),
        ("insns", _c.c_char_p),
        ("data_sz", _c.c_uint32),
        ("insns_sz", _c.c_uint32),
    ]


_PRINT_FN = _c.CFUNCTYPE(_c.c_int, _c.c_int, _c.c_char_p, _c.c_void_p)
_LOG: list[str] = []


def _lib() -> Any:
    lib = _c.CDLL("libbpf.so.1")
    sigs = {
        "bpf_object__open_file": (_P, [_c.c_char_p, _P]),
        "libbpf_get_error": (_c.c_long, [_P]),
        "bpf_object__next_program": (_P, [_P, _P]),
        "bpf_object__next_map": (_P, [_P, _P]),
        "bpf_object__load": (_c.c_int, [_P]),
        "bpf_object__close": (None, [_P]),
        "bpf_object__gen_loader": (_c.c_int, [_P, _c.POINTER(_GenOpts)]),
        "bpf_program__name": (_c.c_char_p, [_P]),
        "bpf_program__section_name": (_c.c_char_p, [_P]),
        "bpf_program__type": (_c.c_int, [_P]),
        "bpf_program__expected_attach_type": (_c.c_int, [_P]),
        "bpf_program__autoload": (_c.c_bool, [_P]),
        "bpf_program__set_autoload": (_c.c_int, [_P, _c.c_bool]),
        "bpf_program__insn_cnt": (_c.c_size_t, [_P]),
        "bpf_program__insns": (_P, [_P]),
        "bpf_map__name": (_c.c_char_p, [_P]),
        "bpf_map__type": (_c.c_int, [_P]),
        "bpf_map__key_size": (_c.c_uint32, [_P]),
        "bpf_map__value_size": (_c.c_uint32, [_P]),
        "bpf_map__max_entries": (_c.c_uint32, [_P]),
        "bpf_map__map_flags": (_c.c_uint32, [_P]),
        "bpf_map__numa_node": (_c.c_uint32, [_P]),
        "bpf_map__map_extra": (_c.c_uint64, [_P]),
        "bpf_map__btf_key_type_id": (_c.c_uint32, [_P]),
        "bpf_map__btf_value_type_id": (_c.c_uint32, [_P]),
        "bpf_map__is_internal": (_c.c_bool, [_P]),
        "bpf_map__initial_value": (_P, [_P, _c.POINTER(_c.c_size_t)]),
        "bpf_map__inner_map": (_P, [_P]),
        "bpf_map__pin_path": (_c.c_char_p, [_P]),
        "bpf_map__set_pin_path": (_c.c_int, [_P, _c.c_char_p]),
        "libbpf_set_print": (_P, [_PRINT_FN]),
        "bpf_object__btf": (_P, [_P]),
        "btf__raw_data": (_P, [_P, _c.POINTER(_c.c_uint32)]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def _capture(lib: Any) -> Any:
    libc = _c.CDLL(None)
    libc.vsnprintf.argtypes = [_c.c_char_p, _c.c_size_t, _c.c_char_p, _c.c_void_p]

    def log(level: int, fmt: bytes, args: int) -> int:
        buf = _c.create_string_buffer(4096)
        libc.vsnprintf(buf, 4096, fmt, args)
        _LOG.append(buf.value.decode("utf-8", "replace"))
        return 0

    callback = _PRINT_FN(log)
    lib.libbpf_set_print(callback)
    return callback  # keep it alive


def _programs(lib: Any, obj: int) -> list[int]:
    out, p = [], None
    while True:
        p = lib.bpf_object__next_program(obj, p)
        if not p:
            return out
        out.append(p)


def _maps(lib: Any, obj: int) -> list[int]:
    out, m = [], None
    while True:
        m = lib.bpf_object__next_map(obj, m)
        if not m:
            return out
        out.append(m)


def _map_info(lib: Any, m: int) -> dict[str, Any]:
    size = _c.c_size_t(0)
    value = lib.bpf_map__initial_value(m, _c.byref(size))
    inner = lib.bpf_map__inner_map(m)
    pin = lib.bpf_map__pin_path(m)
    return {
        "name": lib.bpf_map__name(m).decode(),
        "type": lib.bpf_map__type(m),
        "key_size": lib.bpf_map__key_size(m),
        "value_size": lib.bpf_map__value_size(m),
        "max_entries": lib.bpf_map__max_entries(m),
        "flags": lib.bpf_map__map_flags(m),
        "numa_node": lib.bpf_map__numa_node(m),
        "map_extra": lib.bpf_map__map_extra(m),
        "btf_key_type_id": lib.bpf_map__btf_key_type_id(m),
        "btf_value_type_id": lib.bpf_map__btf_value_type_id(m),
        "internal": lib.bpf_map__is_internal(m),
        "initial_value": _c.string_at(value, size.value).hex() if value else None,
        "inner": _map_info(lib, inner) if inner else None,
        "pin_path": pin.decode() if pin else None,
    }


def _open(lib: Any, path: str) -> int | None:
    obj = lib.bpf_object__open_file(path.encode(), None)
    if not obj or lib.libbpf_get_error(obj):
        return None
    return int(obj)


def open_info(path: str) -> dict[str, Any] | None:
    lib = _lib()
    keep = _capture(lib)
    obj = _open(lib, path)
    if obj is None:
        return None
    progs = {
        lib.bpf_program__name(p).decode(): {
            "section": lib.bpf_program__section_name(p).decode(),
            "type": lib.bpf_program__type(p),
            "expected_attach_type": lib.bpf_program__expected_attach_type(p),
            "autoload": lib.bpf_program__autoload(p),
            "insn_cnt": lib.bpf_program__insn_cnt(p),
        }
        for p in _programs(lib, obj)
    }
    maps = [_map_info(lib, m) for m in _maps(lib, obj)]
    lib.bpf_object__close(obj)
    del keep
    return {"programs": progs, "maps": maps, "log": _LOG}


def link_info(path: str) -> dict[str, Any] | None:
    lib = _lib()
    keep = _capture(lib)
    obj = _open(lib, path)
    if obj is None:
        return None
    opts = _GenOpts(_c.sizeof(_GenOpts))
    if lib.bpf_object__gen_loader(obj, _c.byref(opts)):
        return None
    for p in _programs(lib, obj):
        if lib.bpf_program__type(p) == 0:  # a section libbpf does not know
            lib.bpf_program__set_autoload(p, False)
    for m in _maps(lib, obj):
        lib.bpf_map__set_pin_path(m, None)  # the gen loader cannot pin
    err = lib.bpf_object__load(obj)
    relocated = any("gen: prog_load:" in line for line in _LOG)
    progs = {}
    for p in _programs(lib, obj):
        count = lib.bpf_program__insn_cnt(p)
        insns = _c.string_at(lib.bpf_program__insns(p), count * 8)
        progs[lib.bpf_program__name(p).decode()] = {
            "insn_cnt": count,
            "insns": insns.hex(),
            "autoload": lib.bpf_program__autoload(p),
        }
    del keep
    return {"error": err, "relocated": relocated, "programs": progs, "log": _LOG}


def btf_info(path: str) -> dict[str, Any] | None:
    """The object's BTF as libbpf holds it after opening the object (fixed up)."""
    lib = _lib()
    keep = _capture(lib)
    obj = _open(lib, path)
    if obj is None:
        return None
    btf = lib.bpf_object__btf(obj)
    size = _c.c_uint32(0)
    raw = lib.btf__raw_data(btf, _c.byref(size)) if btf else None
    data = _c.string_at(raw, size.value).hex() if raw else None
    lib.bpf_object__close(obj)
    del keep
    return {"btf": data}


def load_info(path: str) -> dict[str, Any] | None:
    """Load the object into the kernel for real (root), then what libbpf sent of each
    program: its instruction count after relocation."""
    lib = _lib()
    keep = _capture(lib)
    obj = _open(lib, path)
    if obj is None:
        return None
    for m in _maps(lib, obj):
        lib.bpf_map__set_pin_path(m, None)  # leave /sys/fs/bpf alone
    err = lib.bpf_object__load(obj)
    progs = {
        lib.bpf_program__name(p).decode(): {"insn_cnt": lib.bpf_program__insn_cnt(p)}
        for p in _programs(lib, obj)
    }
    lib.bpf_object__close(obj)
    del keep
    return {"error": err, "programs": progs, "log": _LOG[-20:]}


def run(mode: str, path: Path) -> dict[str, Any] | None:
    """Run libbpf on ``path`` in a child process (``mode``: ``open``, ``link``, ``load``
    or ``btf``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.spec.libbpf_ctypes", mode, str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    result: dict[str, Any] | None = json.loads(proc.stdout)
    return result


def available() -> bool:
    """Whether libbpf.so.1 can be loaded here."""
    try:
        _lib()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    modes = {"open": open_info, "link": link_info, "load": load_info, "btf": btf_info}
    found = modes[mode](target)
    print(json.dumps(found))
