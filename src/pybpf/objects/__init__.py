"""Kernel objects: maps, programs and collections made from specs, and what the kernel says
about them.

* :class:`Map` — :meth:`Map.create` from a :class:`~pybpf.spec.MapSpec`, or opened with
  :meth:`Map.from_pin`, :meth:`Map.from_id`, :meth:`Map.from_fd`; each map is an instance of
  its family's class: :class:`HashMap` and :class:`ArrayMap` (mutable mappings),
  :class:`PerCPUHashMap`/:class:`PerCPUArrayMap` (a value per CPU), :class:`LPMTrieMap`,
  :class:`QueueMap`/:class:`StackMap`, :class:`BloomFilterMap`, :class:`ProgArrayMap`,
  :class:`ArrayOfMapsMap`/:class:`HashOfMapsMap`, :class:`FDArrayMap`/:class:`FDHashMap`
  (sockets, devices, CPUs …), :class:`LocalStorageMap`, :class:`StackTraceMap`,
  :class:`ArenaMap`; ring buffers and struct_ops maps are plain :class:`Map` objects here.
* :class:`Program` — :meth:`Program.load` from a :class:`~pybpf.spec.ProgramSpec`,
  :meth:`Program.test_run`, :meth:`Program.xlated`, :meth:`Program.jited`.
* :class:`Collection` — :meth:`Collection.load` of a :class:`~pybpf.spec.CollectionSpec`.
* :func:`iter_programs`, :func:`iter_maps`, :func:`iter_links`, :func:`iter_btf` — the
  system's objects with their info.

Everything closes on ``close()``, on ``with`` exit and when garbage-collected.
"""

from __future__ import annotations

from pybpf._util import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.objects._errors import CodecError, SpecError
    from pybpf.objects.arena import ArenaMap
    from pybpf.objects.bloom import BloomFilterMap
    from pybpf.objects.btf import BTFHandle
    from pybpf.objects.codec import Codec, RawCodec
    from pybpf.objects.collection import Collection
    from pybpf.objects.fdmap import (
        ArrayOfMapsMap,
        FDArrayMap,
        FDCodec,
        FDHashMap,
        HashOfMapsMap,
        MapOfMaps,
        ProgArrayMap,
    )
    from pybpf.objects.info import BTFInfo, LinkInfo, MapInfo, ProgramInfo
    from pybpf.objects.introspect import (
        btf_ids,
        iter_btf,
        iter_links,
        iter_maps,
        iter_programs,
        link_ids,
        map_ids,
        program_ids,
    )
    from pybpf.objects.kv import ArrayMap, HashMap, KeyValueMap
    from pybpf.objects.lpm import LPMCodec, LPMKey, LPMTrieMap
    from pybpf.objects.map import Map, UpdateFlags
    from pybpf.objects.percpu import PerCPUArrayMap, PerCPUCodec, PerCPUHashMap, possible_cpus
    from pybpf.objects.pin import BPFFS_ROOT
    from pybpf.objects.program import JitedProgram, Program, TestRunResult, XlatedProgram
    from pybpf.objects.queue import QueueMap, StackMap
    from pybpf.objects.storage import (
        CgroupStorageMap,
        FDKeyCodec,
        LocalStorageMap,
        PerCPUCgroupStorageMap,
        StackTraceMap,
    )
    from pybpf.objects.variable import Variable

__all__ = [
    "BPFFS_ROOT",
    "ArenaMap",
    "ArrayMap",
    "ArrayOfMapsMap",
    "BTFHandle",
    "BTFInfo",
    "BloomFilterMap",
    "CgroupStorageMap",
    "Codec",
    "CodecError",
    "Collection",
    "FDArrayMap",
    "FDCodec",
    "FDHashMap",
    "FDKeyCodec",
    "HashMap",
    "HashOfMapsMap",
    "JitedProgram",
    "KeyValueMap",
    "LPMCodec",
    "LPMKey",
    "LPMTrieMap",
    "LinkInfo",
    "LocalStorageMap",
    "Map",
    "MapInfo",
    "MapOfMaps",
    "PerCPUArrayMap",
    "PerCPUCgroupStorageMap",
    "PerCPUCodec",
    "PerCPUHashMap",
    "ProgArrayMap",
    "Program",
    "ProgramInfo",
    "QueueMap",
    "RawCodec",
    "SpecError",
    "StackMap",
    "StackTraceMap",
    "TestRunResult",
    "UpdateFlags",
    "Variable",
    "XlatedProgram",
    "btf_ids",
    "iter_btf",
    "iter_links",
    "iter_maps",
    "iter_programs",
    "link_ids",
    "map_ids",
    "possible_cpus",
    "program_ids",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf.objects._errors": "CodecError SpecError",
        "pybpf.objects.arena": "ArenaMap",
        "pybpf.objects.bloom": "BloomFilterMap",
        "pybpf.objects.btf": "BTFHandle",
        "pybpf.objects.codec": "Codec RawCodec",
        "pybpf.objects.collection": "Collection",
        "pybpf.objects.fdmap": (
            "ArrayOfMapsMap FDArrayMap FDCodec FDHashMap HashOfMapsMap MapOfMaps ProgArrayMap"
        ),
        "pybpf.objects.info": "BTFInfo LinkInfo MapInfo ProgramInfo",
        "pybpf.objects.introspect": (
            "btf_ids iter_btf iter_links iter_maps iter_programs link_ids map_ids program_ids"
        ),
        "pybpf.objects.kv": "ArrayMap HashMap KeyValueMap",
        "pybpf.objects.lpm": "LPMCodec LPMKey LPMTrieMap",
        "pybpf.objects.map": "Map UpdateFlags",
        "pybpf.objects.percpu": "PerCPUArrayMap PerCPUCodec PerCPUHashMap possible_cpus",
        "pybpf.objects.pin": "BPFFS_ROOT",
        "pybpf.objects.program": "JitedProgram Program TestRunResult XlatedProgram",
        "pybpf.objects.queue": "QueueMap StackMap",
        "pybpf.objects.storage": (
            "CgroupStorageMap FDKeyCodec LocalStorageMap PerCPUCgroupStorageMap StackTraceMap"
        ),
        "pybpf.objects.variable": "Variable",
    },
)
