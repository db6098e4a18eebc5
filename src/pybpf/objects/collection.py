"""Loading a whole :class:`~pybpf.spec.CollectionSpec`: :class:`Collection`.

What libbpf does at ``bpf_object__load``, in this order:

1. choose the programs (all with ``autoload``, or the ones asked for) and the maps they use —
   a partial load creates only those, plus the maps their map-in-map contents name;
2. create the maps (a map another map's contents name first); a map pinned ``BY_NAME`` is
   reused when a compatible one is already pinned under the pin root (refused with a clear
   error when incompatible), else created and pinned there; global-data images get their
   variables' values, contents are written, ``freeze`` maps are frozen;
3. load the programs with the maps' fds patched into their ``lddw`` references;
4. fill program arrays from their contents (names of programs; ones not loaded are skipped).

Everything made is closed on :meth:`Collection.close` (and on failure part way, with the pins
it made removed); maps handed in through ``maps=`` are used, not owned.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any

from pybpf._uapi import MapType
from pybpf.objects._errors import SpecError
from pybpf.objects.kv import KeyValueMap
from pybpf.objects.map import Map
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.objects.program import Program
from pybpf.objects.variable import Variable
from pybpf.spec import CollectionSpec, MapSpec, PinType, ProgramSpec

__all__ = ["Collection"]

_COMPARED = ("type", "key_size", "value_size", "max_entries", "flags", "map_extra")


class Collection:
    """Maps, programs and global variables loaded together (``.maps``, ``.programs``,
    ``.variables``, read-only dicts by name)."""

    def __init__(
        self,
        maps: dict[str, Map],
        programs: dict[str, Program],
        variables: dict[str, Variable],
        owned: list[Any],
    ) -> None:
        self.maps: Mapping[str, Map] = MappingProxyType(maps)
        self.programs: Mapping[str, Program] = MappingProxyType(programs)
        self.variables: Mapping[str, Variable] = MappingProxyType(variables)
        self._owned = owned

    @classmethod
    def load(
        cls,
        spec: CollectionSpec,
        *,
        programs: Iterable[str] | None = None,
        maps: Mapping[str, Map] | None = None,
        pin_root: str = BPFFS_ROOT,
        log_level: int = 0,
    ) -> Collection:
        """Load ``spec`` (see the module docstring for the steps).

        Args:
            programs: the programs to load (default: every one with ``autoload``).
            maps: existing maps to use instead of creating the ones of those names.
            pin_root: where maps pinned ``BY_NAME`` live.
            log_level: verifier log level of every program load.

        Raises:
            SpecError: an unknown program or map name, an incompatible pinned map.
            VerifierError, NotSupportedError, SyscallError: as :meth:`Map.create` and
                :meth:`Program.load`.
        """
        loader = _Loader(spec, maps or {}, pin_root, log_level)
        try:
            return loader.run(_chosen(spec, programs))
        except BaseException:
            loader.undo()
            raise

    def close(self) -> None:
        """Close every map and program this collection made."""
        for obj in reversed(self._owned):
            obj.close()
        self._owned.clear()

    def __enter__(self) -> Collection:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Collection(maps={sorted(self.maps)}, programs={sorted(self.programs)})"


def _chosen(spec: CollectionSpec, names: Iterable[str] | None) -> list[str]:
    if names is None:
        return [n for n, p in spec.programs.items() if p.autoload]
    chosen = list(names)
    unknown = [n for n in chosen if n not in spec.programs]
    if unknown:
        raise SpecError(f"no program named {', '.join(map(repr, unknown))} in the collection")
    return chosen


def _map_refs(prog: ProgramSpec) -> set[str]:
    return {i.ref for i in prog.instructions if i.ref is not None and i.is_wide and i.src in (1, 2)}


class _Loader:
    def __init__(
        self, spec: CollectionSpec, given: Mapping[str, Map], pin_root: str, log_level: int
    ) -> None:
        self.spec, self.given, self.pin_root, self.log_level = spec, given, pin_root, log_level
        self.maps: dict[str, Map] = dict(given)
        self.programs: dict[str, Program] = {}
        self.owned: list[Any] = []
        self.pinned: list[str] = []

    def run(self, chosen: list[str]) -> Collection:
        for name in self._needed_maps(chosen):
            self._map(name, set())
        for name in chosen:
            self._program(name)
        for name, mspec in self.spec.maps.items():
            if mspec.type == MapType.PROG_ARRAY and name in self.maps:
                self._fill_prog_array(name, mspec)
        variables = self._variables()
        return Collection(self.maps, self.programs, variables, self.owned)

    def undo(self) -> None:
        for path in self.pinned:
            with contextlib.suppress(OSError):
                os.unlink(path)
        for obj in reversed(self.owned):
            obj.close()

    def _needed_maps(self, chosen: list[str]) -> list[str]:
        if len(chosen) == len([p for p in self.spec.programs.values() if p.autoload]) and all(
            self.spec.programs[n].autoload for n in chosen
        ):
            return list(self.spec.maps)
        names: set[str] = set()
        for prog in chosen:
            names |= _map_refs(self.spec.programs[prog])
        unknown = names - set(self.spec.maps) - set(self.given)
        if unknown:
            raise SpecError(f"programs use maps not in the collection: {sorted(unknown)}")
        return [n for n in self.spec.maps if n in names]

    # -- maps --------------------------------------------------------------------------------
    def _map(self, name: str, visiting: set[str]) -> Map:
        if name in self.maps:
            return self.maps[name]
        if name not in self.spec.maps:
            raise SpecError(f"no map named {name!r} in the collection")
        if name in visiting:
            raise SpecError(f"map {name!r} contains itself through its contents")
        visiting.add(name)
        mspec = self.spec.maps[name]
        for _, value in mspec.contents:
            if isinstance(value, str) and mspec.type != MapType.PROG_ARRAY:
                self._map(value, visiting)
        self.maps[name] = made = self._create(mspec)
        return made

    def _create(self, mspec: MapSpec) -> Map:
        path = os.path.join(self.pin_root, mspec.name) if mspec.pinning == PinType.BY_NAME else ""
        if path and os.path.exists(path):
            return self._reuse(mspec, path)
        made = Map.create(mspec)
        self.owned.append(made)
        self._populate(made, mspec)
        if path:
            made.pin(path)
            self.pinned.append(path)
        return made

    def _reuse(self, mspec: MapSpec, path: str) -> Map:
        found = Map.from_pin(path)
        self.owned.append(found)
        info = found.info()
        for field in _COMPARED:
            want, have = getattr(mspec, field), getattr(info, field)
            if field == "max_entries" and mspec.type == MapType.PERF_EVENT_ARRAY and not want:
                continue
            if want != have:
                raise SpecError(
                    f"map {mspec.name!r} pinned at {path} differs from its spec: "
                    f"{field} is {have}, the spec says {want}"
                )
        return found

    def _populate(self, made: Map, mspec: MapSpec) -> None:
        if not isinstance(made, KeyValueMap):
            if mspec.contents or mspec.data:
                raise SpecError(f"map {mspec.name!r}: a {mspec.type.name} map takes no contents")
            return
        if mspec.data is not None:
            made[0] = self._data_image(mspec)
        for key, value in mspec.contents:
            if mspec.type == MapType.PROG_ARRAY:
                continue
            made[key] = self.maps[value] if isinstance(value, str) else value
        if mspec.freeze:
            made.freeze()

    def _data_image(self, mspec: MapSpec) -> bytes:
        image = bytearray((mspec.data or b"").ljust(mspec.value_size, b"\0"))
        for var in self.spec.variables.values():
            if var.map_name != mspec.name or not var.value:
                continue
            if len(var.value) != var.size:
                raise SpecError(f"variable {var.name!r} is {var.size} bytes, not {len(var.value)}")
            image[var.offset : var.offset + var.size] = var.value
        return bytes(image[: mspec.value_size])

    # -- programs ----------------------------------------------------------------------------
    def _program(self, name: str) -> None:
        prog = Program.load(self.spec.programs[name], self.maps, log_level=self.log_level)
        self.owned.append(prog)
        self.programs[name] = prog

    def _fill_prog_array(self, name: str, mspec: MapSpec) -> None:
        table = self.maps[name]
        for key, value in mspec.contents:
            target: object = value
            if isinstance(value, str):
                if value not in self.spec.programs:
                    raise SpecError(f"map {name!r}: no program named {value!r}")
                if value not in self.programs:
                    continue  # not loaded in this (partial) load
                target = self.programs[value]
            table[key] = target  # type: ignore[index]

    def _variables(self) -> dict[str, Variable]:
        out = {}
        for name, var in self.spec.variables.items():
            target = self.maps.get(var.map_name)
            if isinstance(target, KeyValueMap):
                out[name] = Variable(var, target)
        return out
