"""libbpf (``libbpf.so.1`` through ctypes) relocating an object against a chosen target BTF,
as the live oracle of the CO-RE tests.

Run as a script in a child process (libbpf may crash on input it does not expect); it
prints one JSON document: ``{"err": <bpf_object__load result>, "lines": [...]}``, the lines
being libbpf's CO-RE log (``CO-RE relocating ...`` and ``prog '...': relo #N: ...``)::

    python -m tests.spec._core_libbpf OBJ.o TARGET

``TARGET`` is any file ``btf__parse`` reads (raw BTF such as /sys/kernel/btf/vmlinux, or an
ELF object's ``.BTF``), passed as ``btf_custom_path``: libbpf then relocates against it
alone (no module BTF). Relocation happens inside ``bpf_object__load``, after maps are
created, so this needs root (CAP_BPF) and a kernel with BPF; programs are then loaded (or
refused by the verifier: a relocation against a foreign target may poison reachable code)
and everything is closed again. Nothing is pinned.

:func:`run` returns the document, or ``None`` when libbpf cannot be loaded or crashed.
"""

from __future__ import annotations

import ctypes
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

_c = ctypes
_P = _c.c_void_p
_PRINT_FN = _c.CFUNCTYPE(_c.c_int, _c.c_int, _c.c_char_p, _c.c_void_p)
_CORE = re.compile(r"^libbpf: (CO-RE relocating .*|prog '[^']+': relo #\d+: .*)$")


class _OpenOpts(_c.Structure):
    """``struct bpf_object_open_opts`` of libbpf 1.1 (x86-64 layout)."""

    _fields_ = [
        ("sz", _c.c_size_t),
        ("object_name", _c.c_char_p),
        ("relaxed_maps", _c.c_bool),
        ("pin_root_path", _c.c_char_p),
        ("_attach_prog_fd", _c.c_uint32),
        ("kconfig", _c.c_char_p),
        ("btf_custom_path", _c.c_char_p),
        ("kernel_log_buf", _c.c_char_p),
        ("kernel_log_size", _c.c_size_t),
        ("kernel_log_level", _c.c_uint32),
    ]


def _relocate(obj_path: str, target: str) -> dict[str, Any]:
    lib = _c.CDLL("libbpf.so.1")
    lib.bpf_object__open_file.restype = _P
    lib.bpf_object__open_file.argtypes = [_c.c_char_p, _P]
    lib.libbpf_get_error.restype = _c.c_long
    lib.libbpf_get_error.argtypes = [_P]
    lib.bpf_object__load.argtypes = [_P]
    lib.bpf_object__close.argtypes = [_P]
    lib.libbpf_set_print.restype = _P
    lib.libbpf_set_print.argtypes = [_PRINT_FN]
    libc = _c.CDLL(None)
    libc.vsnprintf.argtypes = [_c.c_char_p, _c.c_size_t, _c.c_char_p, _c.c_void_p]
    chunks: list[str] = []

    def log(level: int, fmt: bytes, args: int) -> int:
        buf = _c.create_string_buffer(16384)
        libc.vsnprintf(buf, len(buf), fmt, args)
        chunks.append(buf.value.decode("utf-8", "replace"))
        return 0

    callback = _PRINT_FN(log)
    lib.libbpf_set_print(callback)
    opts = _OpenOpts(sz=_c.sizeof(_OpenOpts), btf_custom_path=target.encode())
    obj = lib.bpf_object__open_file(obj_path.encode(), _c.byref(opts))
    if lib.libbpf_get_error(obj):
        return {"err": "open", "lines": []}
    err = lib.bpf_object__load(obj)
    lib.bpf_object__close(obj)
    lines = "".join(chunks).splitlines()
    return {"err": err, "lines": [m.group(1) for line in lines if (m := _CORE.match(line))]}


# -- comparing logs ----------------------------------------------------------------------------
#
# libbpf numbers relocations per ELF section and relocates subprograms before linking; ours
# are per linked program. So a relocation is identified by its function and its messages
# with function-relative instruction numbers, not by its number.

Record = tuple[str, tuple[str, ...]]
"""(function, messages of one relocation without the "prog 'x': relo #N: " prefix)."""

_RELO = re.compile(r"^(?:libbpf: )?prog '([^']+)': relo #\d+: (.*)$")
_SEARCH = re.compile(r"^(?:libbpf: )?(CO-RE relocating .*)$")
_PREFIX = re.compile(r"^prog '[^']+': relo #\d+: ")
_INSN = re.compile(r"insn #(\d+)")


def parse_log(lines: list[str]) -> tuple[list[Record], set[str]]:
    """libbpf's relocation records (each starts with its local spec, "<kind> ...") and its
    candidate-search lines."""
    records: list[tuple[str, list[str]]] = []
    searches = set()
    for line in lines:
        if m := _RELO.match(line):
            prog, message = m.group(1), m.group(2)
            if message.startswith("<") or not records:
                records.append((prog, []))
            records[-1][1].append(message)
        elif s := _SEARCH.match(line):
            searches.add(s.group(1))
    return [(prog, tuple(msgs)) for prog, msgs in records], searches


def our_record(
    program: str, subprograms: dict[str, int], insn: int, log: tuple[str, ...]
) -> Record:
    """The function holding the relocated instruction ``insn`` of a linked program, and the
    relocation's messages with instruction numbers relative to that function."""
    function, start = program, 0
    for name, at in sorted(subprograms.items(), key=lambda kv: kv[1]):
        if at <= insn:
            function, start = name, at
    messages = [
        _INSN.sub(lambda m: f"insn #{int(m.group(1)) - start}", _PREFIX.sub("", line))
        for line in log
        if _PREFIX.match(line)
    ]
    return function, tuple(messages)


def run(obj_path: Path, target: Path) -> dict[str, Any] | None:
    """libbpf's CO-RE log for ``obj_path`` relocated against ``target`` (a child process)."""
    cmd = [sys.executable, "-m", "tests.spec._core_libbpf", str(obj_path), str(target)]
    root = Path(__file__).resolve().parent.parent.parent
    try:
        proc = subprocess.run(
            cmd, check=False, capture_output=True, text=True, timeout=60, cwd=root
        )
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


if __name__ == "__main__":
    print(json.dumps(_relocate(sys.argv[1], sys.argv[2])))
