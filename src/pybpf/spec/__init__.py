"""Specs: editable blueprints of maps, programs and collections, the kernel enums that
describe them, the ELF → spec loader and the CO-RE engine. Pure: no kernel, no privileges.

Example::

    spec = load_collection_spec("prog.bpf.o")
    spec.maps["events"].max_entries = 1 << 20      # edit before load
    spec.programs["handle_exec"].autoload = False
"""

from __future__ import annotations

from pybpf._util import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf._uapi import AttachType, LinkType, MapType, ProgType, UpdateFlags
    from pybpf.spec.loader import load_collection_spec
    from pybpf.spec.specs import (
        BPF_F_LINK,
        BPF_F_MMAPABLE,
        BPF_F_RDONLY_PROG,
        BPF_F_SLEEPABLE,
        BPF_F_XDP_HAS_FRAGS,
        CollectionSpec,
        CoreRelo,
        CoreReloKind,
        ExternKind,
        ExternSpec,
        FuncInfo,
        KconfigType,
        LineInfo,
        MapSpec,
        PinType,
        ProgramSpec,
        VariableSpec,
    )

# Imported on first use (see pybpf._util.lazy_exports): ``import pybpf.spec.specs`` (what
# the kernel half and the VM need) does not load the ELF loader.
__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf._uapi": "AttachType LinkType MapType ProgType UpdateFlags",
        "pybpf.spec.loader": "load_collection_spec",
        "pybpf.spec.specs": (
            "BPF_F_LINK BPF_F_MMAPABLE BPF_F_RDONLY_PROG BPF_F_SLEEPABLE BPF_F_XDP_HAS_FRAGS "
            "CollectionSpec CoreRelo CoreReloKind ExternKind ExternSpec FuncInfo KconfigType "
            "LineInfo MapSpec PinType ProgramSpec VariableSpec"
        ),
    },
)

__all__ = [
    "BPF_F_LINK",
    "BPF_F_MMAPABLE",
    "BPF_F_RDONLY_PROG",
    "BPF_F_SLEEPABLE",
    "BPF_F_XDP_HAS_FRAGS",
    "AttachType",
    "CollectionSpec",
    "CoreRelo",
    "CoreReloKind",
    "ExternKind",
    "ExternSpec",
    "FuncInfo",
    "KconfigType",
    "LineInfo",
    "LinkType",
    "MapSpec",
    "MapType",
    "PinType",
    "ProgType",
    "ProgramSpec",
    "UpdateFlags",
    "VariableSpec",
    "load_collection_spec",
]
