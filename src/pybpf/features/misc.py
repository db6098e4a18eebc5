"""Named kernel features that are neither a map, program, link nor BTF kind.

Each probe is the smallest question that tells the feature apart (most follow libbpf's
``features.c`` and bpftool's ``feature probe``).
"""

from __future__ import annotations

import ctypes
import errno

from pybpf._uapi import AttachType, MapType, ProgType
from pybpf.errors import SyscallError
from pybpf.features import _insns
from pybpf.features._core import Feature, conclude, create_map, load_program
from pybpf.features.btf import probe_module_btf
from pybpf.sys import (
    GetIdAttr,
    MapBatchAttr,
    MapCreateAttr,
    ProgLoadAttr,
    bpf,
    command_name,
    map_create,
    map_lookup_batch,
    prog_load,
)

__all__ = [
    "BATCH_OPS",
    "BOUNDED_LOOPS",
    "BPF_COOKIE",
    "BPF_SYSCALL",
    "EXP_ATTACH_TYPE",
    "GLOBAL_DATA",
    "ISA_V2",
    "ISA_V3",
    "ISA_V4",
    "LARGE_INSNS",
    "LOG_TRUE_SIZE",
    "MEMCG_ACCOUNT",
    "MISC",
    "MMAPABLE_MAPS",
    "MODULE_BTF",
    "OBJ_NAME",
    "OBJ_NAME_DOT",
    "PROBE_READ_KERNEL",
]

_PROG_LOAD = command_name(5)
_MAP_CREATE = command_name(0)
BPF_F_MMAPABLE = 1 << 10
_MAX_INSNS = 4096  # BPF_MAXINSNS, the old limit for unprivileged and pre-5.2 programs
_KTIME_GET_COARSE_NS, _GET_ATTACH_COOKIE, _PROBE_READ_KERNEL = 160, 174, 113


def _loads(prog_type: int, insns: tuple[object, ...], **kw: int) -> bool:
    return conclude(load_program(prog_type, insns, **kw).errno, _PROG_LOAD)  # type: ignore[arg-type]


def _bpf_syscall() -> bool:
    try:
        bpf(5, GetIdAttr())
    except SyscallError as exc:
        return exc.errno != errno.ENOSYS
    return True


def _hash_attr(**kw: object) -> MapCreateAttr:
    return MapCreateAttr(map_type=MapType.HASH, key_size=4, value_size=4, max_entries=1, **kw)


def _obj_name() -> bool:
    return conclude(create_map(_hash_attr(map_name=b"pybpf_name")), _MAP_CREATE)


def _obj_name_dot() -> bool:
    return conclude(create_map(_hash_attr(map_name=b".pybpf")), _MAP_CREATE)


def _mmapable() -> bool:
    attr = MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=4, max_entries=1)
    attr.map_flags = BPF_F_MMAPABLE
    return conclude(create_map(attr), _MAP_CREATE)


def _batch_ops() -> bool:
    keys, values, token = (ctypes.create_string_buffer(8) for _ in range(3))
    with map_create(_hash_attr()) as fd:
        attr = MapBatchAttr(map_fd=fd.fileno(), count=1, out_batch=ctypes.addressof(token))
        attr.keys, attr.values = ctypes.addressof(keys), ctypes.addressof(values)
        try:
            map_lookup_batch(attr)
        except SyscallError as exc:
            # An empty map ends the walk at once: ENOENT means the command is there.
            return conclude(exc.errno or 0, exc.command, present=(errno.ENOENT,))
    return True


def _global_data() -> bool:
    attr = MapCreateAttr(map_type=MapType.ARRAY, key_size=4, value_size=32, max_entries=1)
    with map_create(attr) as fd:
        lddw = _insns.op("LD.IMM64.MAP_VALUE", 1, imm=fd.fileno()).with_fields(imm_hi=16)
        insns = (lddw, _insns.op("ST.MEM.DW", 1, off=0, imm=42), *_insns.RET0)
        return _loads(ProgType.SOCKET_FILTER, insns)


def _large_insns() -> bool:
    insns = (_insns.op("ALU64.MOV.K", 0, imm=1),) * _MAX_INSNS + (_insns.EXIT,)
    return _loads(ProgType.SOCKET_FILTER, insns)


def _bounded_loops() -> bool:
    insns = (
        _insns.op("ALU64.MOV.K", 0, imm=10),
        _insns.op("ALU64.SUB.K", 0, imm=1),
        _insns.op("JMP.JNE.K", 0, off=-2, imm=0),
        _insns.EXIT,
    )
    return _loads(ProgType.SOCKET_FILTER, insns)


def _isa(jump: str) -> bool:
    insns = (
        _insns.op("ALU64.MOV.K", 0, imm=0),
        _insns.op(jump, 0, off=1, imm=1),
        _insns.op("ALU64.MOV.K", 0, imm=1),
    )
    return _loads(ProgType.SOCKET_FILTER, (*insns, _insns.EXIT))


def _isa_v4() -> bool:
    insns = (
        _insns.op("ALU64.MOV.K", 0, imm=0),
        _insns.op("ALU64.MOVSX8", 0, 0),
        _insns.op("ALU64.SDIV.K", 0, imm=1),
        _insns.op("ALU64.BSWAP16", 0),
        _insns.op("JMP32.JA", imm=0),
        _insns.EXIT,
    )
    return _loads(ProgType.SOCKET_FILTER, insns)


def _probe_read_kernel() -> bool:
    insns = (
        _insns.op("ALU64.MOV.X", 1, 10),
        _insns.op("ALU64.ADD.K", 1, imm=-8),
        _insns.op("ALU64.MOV.K", 2, imm=8),
        _insns.op("ALU64.MOV.K", 3, imm=0),
        _insns.call(_PROBE_READ_KERNEL),
        _insns.EXIT,
    )
    return _loads(ProgType.TRACEPOINT, insns)


def _log_true_size() -> bool:
    from pybpf.asm.instruction import encode  # noqa: PLC0415

    code, lic, log = (ctypes.create_string_buffer(b) for b in (encode(_insns.RET0), b"GPL", 4096))
    attr = ProgLoadAttr(prog_type=ProgType.SOCKET_FILTER, insn_cnt=2, log_level=1, log_size=4096)
    attr.insns, attr.license = ctypes.addressof(code), ctypes.addressof(lic)
    attr.log_buf = ctypes.addressof(log)
    try:
        prog_load(attr).close()
    except SyscallError as exc:
        return conclude(exc.errno or 0, exc.command, present=())
    return attr.log_true_size > 0


BPF_SYSCALL = Feature("bpf() syscall", "3.18", _bpf_syscall)
OBJ_NAME = Feature("object names", "4.15", _obj_name)
OBJ_NAME_DOT = Feature("dots in object names", "5.2", _obj_name_dot)
EXP_ATTACH_TYPE = Feature(
    "expected attach type at load",
    "4.17",
    lambda: _loads(
        ProgType.CGROUP_SOCK, _insns.RET0, expected_attach_type=AttachType.CGROUP_INET_SOCK_CREATE
    ),
)
ISA_V2 = Feature("ISA extension v2", "4.14", lambda: _isa("JMP.JLT.K"))
ISA_V3 = Feature("ISA extension v3", "5.1", lambda: _isa("JMP32.JLT.K"))
ISA_V4 = Feature("ISA extension v4", "6.6", _isa_v4)
GLOBAL_DATA = Feature("global data", "5.2", _global_data)
LARGE_INSNS = Feature("Large program size limit", "5.2", _large_insns)
BOUNDED_LOOPS = Feature("Bounded loop support", "5.3", _bounded_loops)
MMAPABLE_MAPS = Feature("mmap()able array maps", "5.5", _mmapable)
PROBE_READ_KERNEL = Feature("bpf_probe_read_kernel helper", "5.5", _probe_read_kernel)
BATCH_OPS = Feature("batch map operations", "5.6", _batch_ops)
MEMCG_ACCOUNT = Feature(
    "memcg-based memory accounting",
    "5.11",
    lambda: _loads(ProgType.SOCKET_FILTER, (_insns.call(_KTIME_GET_COARSE_NS), _insns.EXIT)),
)
MODULE_BTF = Feature("kernel module BTF", "5.11", probe_module_btf)
BPF_COOKIE = Feature(
    "BPF cookie",
    "5.15",
    lambda: _loads(ProgType.TRACEPOINT, (_insns.call(_GET_ATTACH_COOKIE), _insns.EXIT)),
)
LOG_TRUE_SIZE = Feature("verifier log true size", "6.4", _log_true_size)

MISC: tuple[Feature, ...] = (
    LARGE_INSNS,
    BOUNDED_LOOPS,
    ISA_V2,
    ISA_V3,
    ISA_V4,
    OBJ_NAME,
    OBJ_NAME_DOT,
    EXP_ATTACH_TYPE,
    GLOBAL_DATA,
    MMAPABLE_MAPS,
    PROBE_READ_KERNEL,
    BATCH_OPS,
    MEMCG_ACCOUNT,
    MODULE_BTF,
    BPF_COOKIE,
    LOG_TRUE_SIZE,
)
"""The miscellaneous features, in the order ``pybpf probe`` lists them."""
