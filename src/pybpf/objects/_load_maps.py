"""Creating a collection's maps: BTF, pinning by name, initial values, freezing.

As libbpf's ``bpf_object__create_maps`` and ``bpf_object__create_map``, for each map:

1. pinned ``BY_NAME``: a map already pinned at ``<pin root>/<name>`` is reused when its
   type, sizes, ``max_entries``, flags and ``map_extra`` are the spec's (libbpf's
   ``map_is_reuse_compat``; the kernel reports ``BPF_F_RDONLY_PROG`` on devmaps, which is
   ignored), and refused with a :class:`SpecError` naming the difference otherwise; a
   reused map is not written to;
2. created with the collection's BTF for its key and value types — except the types libbpf
   never gives BTF (perf event, cgroup and socket arrays, stack traces, maps of maps,
   devmaps, cpumaps, xskmaps, queues, stacks, arenas) — and, if the kernel refuses it with
   BTF, created again without (older kernels refuse prog arrays with BTF);
3. global data (``.data``, ``.rodata``, ``.bss``, ``.kconfig``) written with its
   variables' values, other contents written (maps of maps: the maps by name; prog arrays
   wait for the programs), ``.rodata``/``.kconfig`` frozen; an arena is mapped into this
   process at once (programs translate its pointers to that address) and its ``__arena``
   globals copied to the end of it;
4. pinned ``BY_NAME`` (another process pinning the same name first: its map is reused).

``BPF_F_MMAPABLE`` is dropped from global data on kernels that cannot map maps (< 5.5).
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import sys
from collections.abc import Callable, Mapping

from pybpf._records import replace
from pybpf._uapi import MapType
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.features import MMAPABLE_MAPS, have
from pybpf.objects import _create, pin
from pybpf.objects._errors import SpecError, with_hint
from pybpf.objects.map import Map
from pybpf.spec import BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, MapSpec, PinType, VariableSpec
from pybpf.sys import FD, MapElemAttr, map_update_elem

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MapMaker", "arena_data_offset", "is_global_data"]

# libbpf's bpf_object__create_map: these map types never get BTF key/value types
_NO_BTF = frozenset(
    {
        MapType.PERF_EVENT_ARRAY,
        MapType.CGROUP_ARRAY,
        MapType.STACK_TRACE,
        MapType.ARRAY_OF_MAPS,
        MapType.HASH_OF_MAPS,
        MapType.DEVMAP,
        MapType.DEVMAP_HASH,
        MapType.CPUMAP,
        MapType.XSKMAP,
        MapType.SOCKMAP,
        MapType.SOCKHASH,
        MapType.QUEUE,
        MapType.STACK,
        MapType.ARENA,
    }
)
_COMPARED = ("type", "key_size", "value_size", "max_entries", "flags", "map_extra")
_DEVMAPS = (MapType.DEVMAP, MapType.DEVMAP_HASH)
_GLOBAL_DATA = (".data", ".rodata", ".bss", ".kconfig")


def is_global_data(mspec: MapSpec) -> bool:
    """Whether a map holds global variables (libbpf's internal maps)."""
    return (
        mspec.type == MapType.ARRAY
        and mspec.data is not None
        and mspec.name.startswith(_GLOBAL_DATA)
    )


def arena_data_offset(mspec: MapSpec, full_range: Callable[[], bool]) -> int:
    """Where an arena's ``__arena`` globals go: at the end of the arena where the kernel
    lets ``lddw`` reach that far (Linux >= 6.12), else at its start (libbpf's rule)."""
    if mspec.type != MapType.ARENA or not mspec.data or not full_range():
        return 0
    size = mspec.max_entries * mmap.PAGESIZE
    return size - -(-len(mspec.data) // mmap.PAGESIZE) * mmap.PAGESIZE


class MapMaker:
    """Creates (or reuses) the maps of one load; what it makes goes into ``owned``, the pins
    it makes into ``pinned`` (both undone by the caller on failure)."""

    def __init__(
        self,
        btf: Any,
        types: object | None,
        pin_root: str,
        *,
        variables: Mapping[str, VariableSpec],
        owned: list[Any],
        pinned: list[str],
    ) -> None:
        self.btf = btf  # a loaded BTF (``fileno()``) or None
        self.types = types  # the BTF the maps' key and value types are read with
        self.pin_root = pin_root
        self.variables = variables
        self.owned = owned
        self.pinned = pinned

    def make(self, mspec: MapSpec, maps: Mapping[str, Map], arena_offset: int = 0) -> Map:
        """The map of ``mspec`` (``maps``: the collection's maps made so far, by name).

        Raises:
            SpecError: an incompatible pinned map; a spec its map type forbids.
            NotSupportedError, SyscallError: the kernel refused.
        """
        spec = self._effective(mspec)
        path = os.path.join(self.pin_root, mspec.name) if mspec.pinning == PinType.BY_NAME else ""
        if path:
            found = self._reuse(spec, path)
            if found is not None:
                return found
        made = self._create(spec)
        self.owned.append(made)
        self._populate(made, spec, maps, arena_offset)
        if path:
            return self._pin(made, spec, path)
        return made

    # -- creating ----------------------------------------------------------------------------
    def _effective(self, mspec: MapSpec) -> MapSpec:
        if is_global_data(mspec) and mspec.flags & BPF_F_MMAPABLE and not have(MMAPABLE_MAPS):
            return replace(mspec, flags=mspec.flags & ~BPF_F_MMAPABLE)
        return mspec

    def _with_btf(self, mspec: MapSpec) -> MapSpec:
        """The spec as given to the kernel: the loaded BTF, or none."""
        if self.btf is None or mspec.type in _NO_BTF or not isinstance(mspec.type, MapType):
            return replace(mspec, btf=None, key_type=None, value_type=None)
        return replace(mspec, btf=self.btf)

    def _create(self, mspec: MapSpec) -> Map:
        inner: FD | None = None
        try:
            if mspec.inner_map is not None and mspec.type in (
                MapType.ARRAY_OF_MAPS,
                MapType.HASH_OF_MAPS,
            ):
                inner = self._raw(mspec.inner_map, None)[0]
            fd, made = self._raw(mspec, inner)
        finally:
            if inner is not None:
                inner.close()
        return Map._wrap(fd, self._typed(made, mspec))

    def _typed(self, made: MapSpec, mspec: MapSpec) -> MapSpec:
        """The spec a map object keeps: its BTF the fixed-up object BTF (DATASECs sized)."""
        btf = self.types if self.types is not None and mspec.btf is not None else mspec.btf
        return replace(made, btf=btf)

    def _raw(self, mspec: MapSpec, inner: FD | None) -> tuple[FD, MapSpec]:
        """Create with BTF, then (as libbpf) without it if the kernel refused."""
        given = self._with_btf(mspec)
        try:
            return _create.create(given, inner)
        except (SyscallError, NotSupportedError):
            if given.btf is None or not (given.key_type or given.value_type):
                raise
        bare = replace(mspec, btf=None, key_type=None, value_type=None)
        return _create.create(bare, inner)

    # -- pinning -----------------------------------------------------------------------------
    def _reuse(self, mspec: MapSpec, path: str) -> Map | None:
        """The compatible map pinned at ``path``, or ``None`` when nothing is pinned there."""
        try:
            fd = pin.open_pinned(path, "map")
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        try:
            self._check_compat(mspec, fd, path)
            found = Map._wrap(fd, self._typed(_create._fixup(mspec), mspec))
        except BaseException:
            fd.close()
            raise
        found._pinned = path
        self.owned.append(found)
        return found

    def _check_compat(self, mspec: MapSpec, fd: FD, path: str) -> None:
        """libbpf's ``map_is_reuse_compat``."""
        from pybpf.objects.info import map_info  # noqa: PLC0415 - pinned maps only

        info = map_info(fd.fileno())
        want = _create._fixup(mspec)
        for field in _COMPARED:
            mine, theirs = getattr(want, field), getattr(info, field)
            if field == "flags" and mspec.type in _DEVMAPS:
                theirs &= ~BPF_F_RDONLY_PROG
            if mine != theirs:
                raise SpecError(
                    f"map {mspec.name!r}: the map pinned at {path} is incompatible: "
                    f"its {field} is {theirs}, the spec says {mine}"
                )

    def _pin(self, made: Map, mspec: MapSpec, path: str) -> Map:
        try:
            made.pin(path)
        except SyscallError as exc:
            if exc.errno != errno.EEXIST:
                raise
            found = self._reuse(mspec, path)  # pinned by someone else meanwhile
            if found is None:
                raise
            return found
        self.pinned.append(path)
        return made

    # -- contents ----------------------------------------------------------------------------
    def _populate(self, made: Map, mspec: MapSpec, maps: Mapping[str, Map], arena: int) -> None:
        if mspec.type == MapType.ARENA:
            from pybpf.objects.arena import ArenaMap  # noqa: PLC0415 - arenas are rare

            if isinstance(made, ArenaMap):
                view = made.mmap()
                if mspec.data:
                    view[arena : arena + len(mspec.data)] = mspec.data
                return
        if not (mspec.contents or mspec.data is not None or mspec.freeze):
            return
        from pybpf.objects.kv import KeyValueMap  # noqa: PLC0415 - its family made `made`

        if not isinstance(made, KeyValueMap):
            if mspec.contents or mspec.data:
                raise SpecError(f"map {mspec.name!r}: a {mspec.type.name} map takes no contents")
            return
        if mspec.data is not None:
            _store_raw(made, 0, self._data_image(mspec))
        for key, value in mspec.contents:
            if mspec.type == MapType.PROG_ARRAY:
                continue  # filled once the programs are loaded
            made[key] = maps[value] if isinstance(value, str) else value
        if mspec.freeze:
            made.freeze()

    def _data_image(self, mspec: MapSpec) -> bytes:
        image = bytearray((mspec.data or b"").ljust(mspec.value_size, b"\0"))
        for var in self.variables.values():
            if var.map_name != mspec.name or not var.value:
                continue
            if len(var.value) != var.size:
                raise SpecError(f"variable {var.name!r} is {var.size} bytes, not {len(var.value)}")
            image[var.offset : var.offset + var.size] = var.value
        return bytes(image[: mspec.value_size])


def _store_raw(made: Map, key: int, value: bytes) -> None:
    """Store a global-data image (the kernel's bytes already) at ``key`` without the map's
    codec: a typed codec would be built from the map's BTF only to pass the bytes on.

    Raises:
        SyscallError: the kernel refused the update.
    """
    kbuf = ctypes.create_string_buffer(key.to_bytes(made.key_size, sys.byteorder), made.key_size)
    vbuf = ctypes.create_string_buffer(value, len(value))
    attr = MapElemAttr(map_fd=made.fileno(), key=ctypes.addressof(kbuf))
    attr.value = ctypes.addressof(vbuf)
    try:
        map_update_elem(attr)
    except SyscallError as exc:
        raise with_hint(exc, f"writing the initial value of map {made.name!r}") from None
