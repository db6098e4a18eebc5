"""Named, cached probes of what the running kernel can do.

Every feature is a :class:`Feature` with a name and the first kernel release that has it.
:func:`have` answers True/False (probing once, caching the answer when it is conclusive);
:func:`check` raises :class:`~pybpf.errors.NotSupportedError` naming the feature and its
minimum kernel. Families: :func:`map_type`, :func:`prog_type`, :func:`helper`,
:func:`link_type`, :func:`btf_kind`, and the named features of :mod:`pybpf.features.misc`::

    from pybpf import features
    from pybpf.spec import MapType

    if features.have(features.map_type(MapType.RINGBUF)):
        ...
    features.check(features.BATCH_OPS)   # NotSupportedError before Linux 5.6

``pybpf probe`` prints them all, shaped like ``bpftool feature probe``.
"""

from __future__ import annotations

from pybpf._uapi import MapType
from pybpf.features._core import (
    Feature,
    check,
    clear_cache,
    have,
    kernel_name,
    privilege_hint,
    privileged,
    status,
)
from pybpf.features.btf import BTF_KINDS, btf_kind
from pybpf.features.kconfig import kernel_config
from pybpf.features.links import LINK_TYPES, link_type
from pybpf.features.maps import MAP_TYPE_MIN_KERNEL, map_type
from pybpf.features.misc import (
    BATCH_OPS,
    BOUNDED_LOOPS,
    BPF_COOKIE,
    BPF_SYSCALL,
    EXP_ATTACH_TYPE,
    GLOBAL_DATA,
    ISA_V2,
    ISA_V3,
    ISA_V4,
    LARGE_INSNS,
    LOG_TRUE_SIZE,
    MEMCG_ACCOUNT,
    MISC,
    MMAPABLE_MAPS,
    MODULE_BTF,
    OBJ_NAME,
    OBJ_NAME_DOT,
    PROBE_READ_KERNEL,
)
from pybpf.features.programs import PROG_TYPE_MIN_KERNEL, helper, kernel_version_code, prog_type

RINGBUF = map_type(MapType.RINGBUF)
"""The BPF ring buffer (Linux 5.8): the ``ringbuf`` map type."""

__all__ = [
    "BATCH_OPS",
    "BOUNDED_LOOPS",
    "BPF_COOKIE",
    "BPF_SYSCALL",
    "BTF_KINDS",
    "EXP_ATTACH_TYPE",
    "GLOBAL_DATA",
    "ISA_V2",
    "ISA_V3",
    "ISA_V4",
    "LARGE_INSNS",
    "LINK_TYPES",
    "LOG_TRUE_SIZE",
    "MAP_TYPE_MIN_KERNEL",
    "MEMCG_ACCOUNT",
    "MISC",
    "MMAPABLE_MAPS",
    "MODULE_BTF",
    "OBJ_NAME",
    "OBJ_NAME_DOT",
    "PROBE_READ_KERNEL",
    "PROG_TYPE_MIN_KERNEL",
    "RINGBUF",
    "Feature",
    "btf_kind",
    "check",
    "clear_cache",
    "have",
    "helper",
    "kernel_config",
    "kernel_name",
    "kernel_version_code",
    "link_type",
    "map_type",
    "privilege_hint",
    "privileged",
    "prog_type",
    "status",
]
