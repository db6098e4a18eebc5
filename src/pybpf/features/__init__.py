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

The names are exported lazily (:func:`pybpf._util.lazy_exports`): a load that asks about
three features imports the modules that define them, not every family of probes.
"""

from __future__ import annotations

from pybpf._util import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.features._core import (
        Feature,
        check,
        clear_cache,
        have,
        kernel_name,
        kernel_version_code,
        privilege_hint,
        privileged,
        status,
    )
    from pybpf.features.btf import BTF_KINDS, btf_kind
    from pybpf.features.kconfig import kernel_config
    from pybpf.features.links import LINK_TYPES, link_type
    from pybpf.features.maps import MAP_TYPE_MIN_KERNEL, RINGBUF, map_type
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
    from pybpf.features.programs import PROG_TYPE_MIN_KERNEL, helper, prog_type

__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf.features._core": "Feature check clear_cache have kernel_name "
        "kernel_version_code privilege_hint privileged status",
        "pybpf.features.btf": "BTF_KINDS btf_kind",
        "pybpf.features.kconfig": "kernel_config",
        "pybpf.features.links": "LINK_TYPES link_type",
        "pybpf.features.maps": "MAP_TYPE_MIN_KERNEL RINGBUF map_type",
        "pybpf.features.misc": "BATCH_OPS BOUNDED_LOOPS BPF_COOKIE BPF_SYSCALL EXP_ATTACH_TYPE "
        "GLOBAL_DATA ISA_V2 ISA_V3 ISA_V4 LARGE_INSNS LOG_TRUE_SIZE MEMCG_ACCOUNT MISC "
        "MMAPABLE_MAPS MODULE_BTF OBJ_NAME OBJ_NAME_DOT PROBE_READ_KERNEL",
        "pybpf.features.programs": "PROG_TYPE_MIN_KERNEL helper prog_type",
    },
)

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
