"""Specs: editable blueprints of maps, programs and collections, and the kernel enums that
describe them. Pure: no kernel, no privileges."""

from __future__ import annotations

from pybpf._uapi import AttachType, LinkType, MapType, ProgType, UpdateFlags
from pybpf.spec.specs import (
    CollectionSpec,
    CoreRelo,
    CoreReloKind,
    MapSpec,
    PinType,
    ProgramSpec,
    VariableSpec,
)

__all__ = [
    "AttachType",
    "CollectionSpec",
    "CoreRelo",
    "CoreReloKind",
    "LinkType",
    "MapSpec",
    "MapType",
    "PinType",
    "ProgType",
    "ProgramSpec",
    "UpdateFlags",
    "VariableSpec",
]
