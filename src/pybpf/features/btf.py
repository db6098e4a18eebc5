"""BTF probes: which BTF kinds does BPF_BTF_LOAD accept?

Each probe loads a tiny blob that uses the kind (libbpf's ``probe_kern_btf_*`` shapes) and
closes it; EINVAL means the kernel does not know the kind.
"""

from __future__ import annotations

import ctypes
import functools

from pybpf.errors import SyscallError
from pybpf.features._core import Feature, conclude
from pybpf.features.rawbtf import Kind, blob, int_type, type_record, u32s
from pybpf.sys import BtfLoadAttr, btf_load, command_name, obj_get_info_by_fd

__all__ = ["BTF_KINDS", "btf_kind", "load_raw_btf"]

_BTF_LOAD = command_name(18)
_FUNC_GLOBAL = 1
_VAR_STATIC = 0

_INT = int_type(1, 4)  # [1] int, named by the string at offset 1


def _func(linkage: int) -> bytes:
    """void x(int a): [1] int, [2] func_proto(int a), [3] func x."""
    return (
        _INT
        + type_record(0, Kind.FUNC_PROTO, 1, 0)
        + u32s(7, 1)
        + type_record(5, Kind.FUNC, linkage, 2)
    )


# name: (types, strings, min kernel)
BTF_KINDS: dict[str, tuple[bytes, bytes, str]] = {
    "int": (_INT, b"\0int\0", "4.18"),
    "func": (_func(0), b"\0int\0x\0a\0", "5.0"),
    "func_global": (_func(_FUNC_GLOBAL), b"\0int\0x\0a\0", "5.6"),
    "datasec": (
        int_type(0, 4)
        + type_record(1, Kind.VAR, 0, 1)
        + u32s(_VAR_STATIC)
        + type_record(3, Kind.DATASEC, 1, 4)
        + u32s(2, 0, 4),
        b"\0x\0.data\0",
        "5.2",
    ),
    "float": (type_record(1, Kind.FLOAT, 0, 4), b"\0float\0", "5.13"),
    "decl_tag": (
        int_type(0, 4)
        + type_record(1, Kind.VAR, 0, 1)
        + u32s(_VAR_STATIC)
        # a tag on the variable [2] as a whole (component -1)
        + type_record(1, Kind.DECL_TAG, 0, 2)
        + u32s(-1),
        b"\0tag\0",
        "5.16",
    ),
    "type_tag": (
        int_type(0, 4) + type_record(1, Kind.TYPE_TAG, 0, 1) + type_record(0, Kind.PTR, 0, 2),
        b"\0tag\0",
        "5.17",
    ),
    "enum64": (type_record(1, Kind.ENUM64, 0, 8), b"\0enum64\0", "6.0"),
}


def load_raw_btf(data: bytes) -> int:
    """Load a BTF blob and close it at once; returns 0 or the errno of the refusal."""
    buf = ctypes.create_string_buffer(data, len(data))
    try:
        btf_load(BtfLoadAttr(btf=ctypes.addressof(buf), btf_size=len(data))).close()
    except SyscallError as exc:
        return exc.errno or 0
    return 0


def _probe(kind: str) -> bool:
    types, strings, _ = BTF_KINDS[kind]
    return conclude(load_raw_btf(blob(types, strings)), _BTF_LOAD)


@functools.cache
def btf_kind(kind: str) -> Feature:
    """The feature "the kernel accepts BTF of kind ``kind``" (a key of :data:`BTF_KINDS`)."""
    _, _, min_kernel = BTF_KINDS[kind]
    return Feature(f"btf_kind {kind}", min_kernel, functools.partial(_probe, kind), "btf_kind")


def probe_module_btf() -> bool:
    """Kernel module BTF (5.11): BTF info reports a name (the same release added both)."""
    from pybpf.sys.info import BtfInfo  # noqa: PLC0415 - the info layouts: this probe only

    types, strings, _ = BTF_KINDS["int"]
    data = blob(types, strings)
    buf = ctypes.create_string_buffer(data, len(data))
    try:
        fd = btf_load(BtfLoadAttr(btf=ctypes.addressof(buf), btf_size=len(data)))
    except SyscallError as exc:
        return conclude(exc.errno or 0, exc.command, present=())
    name = ctypes.create_string_buffer(16)
    with fd:
        info = BtfInfo(name=ctypes.addressof(name), name_len=16)
        try:
            obj_get_info_by_fd(fd.fileno(), info)
        except SyscallError as exc:
            return conclude(exc.errno or 0, exc.command)
    return True
