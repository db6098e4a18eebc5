"""The members of ``union bpf_attr`` that pybpf uses, one layout per command family.

Mirrors include/uapi/linux/bpf.h (``union bpf_attr``):
https://github.com/torvalds/linux/blob/master/include/uapi/linux/bpf.h

Each layout is the newest form of its member. The kernel accepts a larger attr than it knows
as long as the bytes it does not know are zero, so one layout serves every kernel; fields a
kernel lacks simply stay zero. Pointers are ``__aligned_u64`` addresses. Anonymous unions are
declared by their first member's name (``value`` also serves as ``next_key``); the padding the
C compiler inserts is written out as ``_pad*`` fields.
"""

from __future__ import annotations

import ctypes

from pybpf.sys._layout import S32, U32, U64, Name, layout

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "Attr",
    "BtfLoadAttr",
    "GetIdAttr",
    "InfoAttr",
    "LinkCreateAttr",
    "LinkCreateExtra",
    "LinkCreateKprobeMulti",
    "LinkCreateNetfilter",
    "LinkCreateRelative",
    "LinkCreateUprobeMulti",
    "MapBatchAttr",
    "MapCreateAttr",
    "MapElemAttr",
    "ObjAttr",
    "ProgLoadAttr",
    "TestRunAttr",
]


class Attr(ctypes.Structure):
    """Base of every ``bpf_attr`` layout.

    An instance starts zeroed and keeps a pointer to itself (``_ref``) and its size
    (``_size``): a prepared attr goes to bpf(2) with no per-call conversion.
    """

    __slots__ = ("_keep", "_ref", "_size")  # slots: the hot path reads _ref/_size per call
    _ref: Any
    _size: int
    _keep: Any  # buffers the attr points at, kept alive with it

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._ref = ctypes.byref(self)
        self._size = ctypes.sizeof(self)


@layout
class MapCreateAttr(Attr):
    """BPF_MAP_CREATE.

    ```
     0 map_type  4 key_size  8 value_size  12 max_entries  16 map_flags  20 inner_map_fd
    24 numa_node 28 map_name[16]  44 map_ifindex  48 btf_fd  52 btf_key_type_id
    56 btf_value_type_id  60 btf_vmlinux_value_type_id  64 map_extra (u64)
    72 value_type_btf_obj_fd  76 map_token_fd  80 excl_prog_hash (u64)  88 excl_prog_hash_size
    ```
    """

    map_type: U32
    key_size: U32
    value_size: U32
    max_entries: U32
    map_flags: U32
    inner_map_fd: U32
    numa_node: U32
    map_name: Name
    map_ifindex: U32
    btf_fd: U32
    btf_key_type_id: U32
    btf_value_type_id: U32
    btf_vmlinux_value_type_id: U32
    map_extra: U64
    value_type_btf_obj_fd: S32
    map_token_fd: S32
    excl_prog_hash: U64
    excl_prog_hash_size: U32
    _pad0: U32


@layout
class MapElemAttr(Attr):
    """BPF_MAP_{LOOKUP,UPDATE,DELETE,LOOKUP_AND_DELETE}_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_FREEZE.

    ```
     0 map_fd  4 (pad)  8 key (u64 ptr)  16 value | next_key (u64 ptr)  24 flags (u64)
    ```
    """

    map_fd: U32
    _pad0: U32
    key: U64
    value: U64  # also next_key (BPF_MAP_GET_NEXT_KEY)
    flags: U64


@layout
class MapBatchAttr(Attr):
    """BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH (``attr.batch``).

    ```
     0 in_batch  8 out_batch  16 keys  24 values (u64 ptrs)  32 count  36 map_fd
    40 elem_flags (u64)  48 flags (u64)
    ```
    """

    in_batch: U64
    out_batch: U64
    keys: U64
    values: U64
    count: U32
    map_fd: U32
    elem_flags: U64
    flags: U64


@layout
class ProgLoadAttr(Attr):
    """BPF_PROG_LOAD.

    ```
      0 prog_type   4 insn_cnt   8 insns  16 license  24 log_level  28 log_size  32 log_buf
     40 kern_version  44 prog_flags  48 prog_name[16]  64 prog_ifindex  68 expected_attach_type
     72 prog_btf_fd  76 func_info_rec_size  80 func_info  88 func_info_cnt
     92 line_info_rec_size  96 line_info  104 line_info_cnt  108 attach_btf_id
    112 attach_prog_fd | attach_btf_obj_fd  116 core_relo_cnt  120 fd_array  128 core_relos
    136 core_relo_rec_size  140 log_true_size  144 prog_token_fd  148 fd_array_cnt
    152 signature  160 signature_size  164 keyring_id
    ```
    """

    prog_type: U32
    insn_cnt: U32
    insns: U64
    license: U64
    log_level: U32
    log_size: U32
    log_buf: U64
    kern_version: U32
    prog_flags: U32
    prog_name: Name
    prog_ifindex: U32
    expected_attach_type: U32
    prog_btf_fd: U32
    func_info_rec_size: U32
    func_info: U64
    func_info_cnt: U32
    line_info_rec_size: U32
    line_info: U64
    line_info_cnt: U32
    attach_btf_id: U32
    attach_prog_fd: U32  # also attach_btf_obj_fd
    core_relo_cnt: U32
    fd_array: U64
    core_relos: U64
    core_relo_rec_size: U32
    log_true_size: U32
    prog_token_fd: S32
    fd_array_cnt: U32
    signature: U64
    signature_size: U32
    keyring_id: S32


@layout
class ObjAttr(Attr):
    """BPF_OBJ_PIN, BPF_OBJ_GET.

    ```
     0 pathname (u64 ptr)  8 bpf_fd  12 file_flags  16 path_fd  20 (pad)
    ```
    """

    pathname: U64
    bpf_fd: U32
    file_flags: U32
    path_fd: S32
    _pad0: U32


@layout
class TestRunAttr(Attr):
    """BPF_PROG_TEST_RUN (``attr.test``).

    ```
     0 prog_fd  4 retval  8 data_size_in  12 data_size_out  16 data_in  24 data_out
    32 repeat  36 duration  40 ctx_size_in  44 ctx_size_out  48 ctx_in  56 ctx_out
    64 flags  68 cpu  72 batch_size
    ```
    """

    __test__ = False  # not a pytest class, whatever its name says

    prog_fd: U32
    retval: U32
    data_size_in: U32
    data_size_out: U32
    data_in: U64
    data_out: U64
    repeat: U32
    duration: U32
    ctx_size_in: U32
    ctx_size_out: U32
    ctx_in: U64
    ctx_out: U64
    flags: U32
    cpu: U32
    batch_size: U32
    _pad0: U32


@layout
class GetIdAttr(Attr):
    """BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID and BPF_*_GET_FD_BY_ID.

    ```
     0 start_id | prog_id | map_id | btf_id | link_id  4 next_id  8 open_flags
    12 fd_by_id_token_fd
    ```
    """

    start_id: U32
    next_id: U32
    open_flags: U32
    fd_by_id_token_fd: S32


@layout
class InfoAttr(Attr):
    """BPF_OBJ_GET_INFO_BY_FD (``attr.info``).

    ```
     0 bpf_fd  4 info_len  8 info (u64 ptr)
    ```
    """

    bpf_fd: U32
    info_len: U32
    info: U64


@layout
class BtfLoadAttr(Attr):
    """BPF_BTF_LOAD.

    ```
     0 btf  8 btf_log_buf (u64 ptrs)  16 btf_size  20 btf_log_size  24 btf_log_level
    28 btf_log_true_size  32 btf_flags  36 btf_token_fd
    ```
    """

    btf: U64
    btf_log_buf: U64
    btf_size: U32
    btf_log_size: U32
    btf_log_level: U32
    btf_log_true_size: U32
    btf_flags: U32
    btf_token_fd: S32


@layout
class LinkCreateKprobeMulti(ctypes.Structure):
    """``link_create.kprobe_multi``: 0 flags  4 cnt  8 syms  16 addrs  24 cookies."""

    flags: U32
    cnt: U32
    syms: U64
    addrs: U64
    cookies: U64


@layout
class LinkCreateUprobeMulti(ctypes.Structure):
    """``link_create.uprobe_multi``.

    ```
     0 path  8 offsets  16 ref_ctr_offsets  24 cookies (u64 ptrs)  32 cnt  36 flags
    40 pid  44 path_fd
    ```
    """

    path: U64
    offsets: U64
    ref_ctr_offsets: U64
    cookies: U64
    cnt: U32
    flags: U32
    pid: U32
    path_fd: U32


@layout
class LinkCreateRelative(ctypes.Structure):
    """``link_create.tcx`` / ``.netkit`` / ``.cgroup``: 0 relative_fd|id  8 expected_revision."""

    relative_fd: U32
    _pad0: U32
    expected_revision: U64


@layout
class LinkCreateNetfilter(ctypes.Structure):
    """``link_create.netfilter``: 0 pf  4 hooknum  8 priority  12 flags."""

    pf: U32
    hooknum: U32
    priority: S32
    flags: U32


@layout
class LinkCreateExtra(ctypes.Union):
    """The union that ends ``link_create`` (48 bytes, 8-aligned); one member per family."""

    target_btf_id: U32
    bpf_cookie: U64  # perf_event.bpf_cookie
    kprobe_multi: LinkCreateKprobeMulti
    uprobe_multi: LinkCreateUprobeMulti
    relative: LinkCreateRelative  # tcx, netkit, cgroup
    netfilter: LinkCreateNetfilter


@layout
class LinkCreateAttr(Attr):
    """BPF_LINK_CREATE (``attr.link_create``).

    ```
     0 prog_fd | map_fd  4 target_fd | target_ifindex  8 attach_type  12 flags
    16 extra: union { target_btf_id; perf_event.bpf_cookie; kprobe_multi{...};
                      uprobe_multi{...}; tcx/netkit/cgroup{relative_fd, expected_revision} }
    ```
    """

    prog_fd: U32
    target_fd: U32
    attach_type: U32
    flags: U32
    extra: LinkCreateExtra
