"""The ``struct bpf_*_info`` layouts filled by BPF_OBJ_GET_INFO_BY_FD.

Mirrors include/uapi/linux/bpf.h (``struct bpf_prog_info``, ``bpf_map_info``,
``bpf_btf_info``, ``bpf_link_info``):
https://github.com/torvalds/linux/blob/master/include/uapi/linux/bpf.h

The kernel fills at most as many bytes as it knows and reports that length; fields a kernel
lacks stay zero. Pointer fields (``map_ids``, ``xlated_prog_insns`` …) are in/out: point them at
a buffer and set its count before the call to have the kernel fill it.
"""

from __future__ import annotations

import ctypes

from pybpf.sys._layout import U32, U64, Annotated, Name, Tag, layout

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BtfInfo", "LinkInfo", "MapInfo", "ProgInfo"]


@layout
class ProgInfo(ctypes.Structure):
    """``struct bpf_prog_info`` (232 bytes).

    ```
      0 type  4 id  8 tag[8]  16 jited_prog_len  20 xlated_prog_len  24 jited_prog_insns
     32 xlated_prog_insns  40 load_time  48 created_by_uid  52 nr_map_ids  56 map_ids
     64 name[16]  80 ifindex  84 gpl_compatible:1  88 netns_dev  96 netns_ino
    104 nr_jited_ksyms  108 nr_jited_func_lens  112 jited_ksyms  120 jited_func_lens
    128 btf_id  132 func_info_rec_size  136 func_info  144 nr_func_info  148 nr_line_info
    152 line_info  160 jited_line_info  168 nr_jited_line_info  172 line_info_rec_size
    176 jited_line_info_rec_size  180 nr_prog_tags  184 prog_tags  192 run_time_ns
    200 run_cnt  208 recursion_misses  216 verified_insns  220 attach_btf_obj_id
    224 attach_btf_id
    ```
    """

    type: U32
    id: U32
    tag: Tag
    jited_prog_len: U32
    xlated_prog_len: U32
    jited_prog_insns: U64
    xlated_prog_insns: U64
    load_time: U64  # ns since boot
    created_by_uid: U32
    nr_map_ids: U32
    map_ids: U64
    name: Name
    ifindex: U32
    gpl_compatible: Annotated[int, ctypes.c_uint32, 1]
    _pad_bits: Annotated[int, ctypes.c_uint32, 31]
    netns_dev: U64
    netns_ino: U64
    nr_jited_ksyms: U32
    nr_jited_func_lens: U32
    jited_ksyms: U64
    jited_func_lens: U64
    btf_id: U32
    func_info_rec_size: U32
    func_info: U64
    nr_func_info: U32
    nr_line_info: U32
    line_info: U64
    jited_line_info: U64
    nr_jited_line_info: U32
    line_info_rec_size: U32
    jited_line_info_rec_size: U32
    nr_prog_tags: U32
    prog_tags: U64
    run_time_ns: U64
    run_cnt: U64
    recursion_misses: U64
    verified_insns: U32
    attach_btf_obj_id: U32
    attach_btf_id: U32
    _pad0: U32


@layout
class MapInfo(ctypes.Structure):
    """``struct bpf_map_info`` (104 bytes).

    ```
     0 type  4 id  8 key_size  12 value_size  16 max_entries  20 map_flags  24 name[16]
    40 ifindex  44 btf_vmlinux_value_type_id  48 netns_dev  56 netns_ino  64 btf_id
    68 btf_key_type_id  72 btf_value_type_id  76 btf_vmlinux_id  80 map_extra  88 hash
    96 hash_size
    ```
    """

    type: U32
    id: U32
    key_size: U32
    value_size: U32
    max_entries: U32
    map_flags: U32
    name: Name
    ifindex: U32
    btf_vmlinux_value_type_id: U32
    netns_dev: U64
    netns_ino: U64
    btf_id: U32
    btf_key_type_id: U32
    btf_value_type_id: U32
    btf_vmlinux_id: U32
    map_extra: U64
    hash: U64
    hash_size: U32
    _pad0: U32


@layout
class BtfInfo(ctypes.Structure):
    """``struct bpf_btf_info`` (32 bytes).

    ```
     0 btf (u64 ptr)  8 btf_size  12 id  16 name (u64 ptr)  24 name_len  28 kernel_btf
    ```
    """

    btf: U64
    btf_size: U32
    id: U32
    name: U64
    name_len: U32
    kernel_btf: U32


@layout
class LinkInfo(ctypes.Structure):
    """``struct bpf_link_info`` (64 bytes): the common head, then a per-type union kept raw.

    ```
     0 type  4 id  8 prog_id  12 (pad)  16 union { raw_tracepoint, tracing, cgroup, iter,
                                                  netns, xdp, ..., perf_event } (48 bytes)
    ```
    """

    type: U32
    id: U32
    prog_id: U32
    _pad0: U32
    extra: Annotated[Any, ctypes.c_uint8 * 48]  # read with bytes(...)
