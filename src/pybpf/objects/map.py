"""The :class:`Map` base: a kernel map behind a file descriptor, and its lifecycle.

A map is made from a :class:`~pybpf.spec.MapSpec` (:meth:`Map.create`), or opened from a pin
(:meth:`Map.from_pin`), an id (:meth:`Map.from_id`) or an fd (:meth:`Map.from_fd`); each gives
an instance of the class of its family (a hash map is a :class:`~pybpf.objects.kv.HashMap`,
a queue a :class:`~pybpf.objects.queue.QueueMap` …). Element access lives in those classes;
this one holds what every map has: its shape, ``close``/``with``, pinning, info, freezing.

A map object is not thread-safe: its element operations share prepared buffers. Give each
thread its own handle with :meth:`Map.clone`.
"""

from __future__ import annotations

import errno

from pybpf._uapi import MapType, UpdateFlags
from pybpf.errors import SyscallError
from pybpf.features import kernel_name
from pybpf.objects import _create, pin
from pybpf.objects._errors import SpecError, with_hint
from pybpf.objects._handle import Handle
from pybpf.spec import MapSpec
from pybpf.sys import FD, map_freeze, map_get_fd_by_id

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import ClassVar, TypeVar

    from pybpf.objects.info import MapInfo

    _M = TypeVar("_M", bound="Map")

__all__ = ["Map", "UpdateFlags"]


class Map(Handle):
    """A kernel map: its file descriptor and the shape the kernel gave it.

    Closes on :meth:`close`, on ``with`` exit and when garbage-collected; any use after
    closing raises :class:`~pybpf.errors.ClosedError`.
    """

    kind = "map"
    _classes: ClassVar[dict[int, type[Map]]] = {}

    def __init_subclass__(cls, types: tuple[MapType, ...] = (), **kwargs: object) -> None:
        """A family class names the map types it serves: ``class HashMap(..., types=(...))``."""
        super().__init_subclass__(**kwargs)
        for t in types:
            Map._classes[int(t)] = cls

    def __init__(self, fd: FD, spec: MapSpec) -> None:
        super().__init__(fd)
        self._spec = spec
        self._prepare()

    def _prepare(self) -> None:
        """Set up what element operations need (subclasses)."""

    # -- making and opening ------------------------------------------------------------------
    @classmethod
    def create(cls: type[_M], spec: MapSpec, *, inner: object | None = None) -> _M:
        """Create the map ``spec`` describes (see :mod:`pybpf.objects._create` for the checks
        and fix-ups); ``inner`` is the inner map of a map of maps, if not the spec's.

        Raises:
            SpecError: the spec breaks a rule of its map type.
            NotSupportedError: the kernel lacks the map type.
            SyscallError: the kernel refused.
        """
        fd, made = _create.create(spec, inner)
        return cls._wrap(fd, made)

    @classmethod
    def from_fd(cls: type[_M], fd: FD | int) -> _M:
        """Wrap an open map fd; an ``FD`` is taken over, an ``int`` is duplicated first."""
        owned = fd if isinstance(fd, FD) else FD.dup_of(fd)
        try:
            from pybpf.objects.info import map_info  # noqa: PLC0415 - not on a load's path

            return cls._wrap(owned, _spec_from_info(map_info(owned.fileno())))
        except BaseException:
            owned.close()
            raise

    @classmethod
    def from_pin(cls: type[_M], path: str) -> _M:
        """Open the map pinned at ``path``.

        Raises:
            SyscallError: nothing is pinned there (ENOENT).
            SpecError: what is pinned there is not a map (or not of this class).
        """
        m = cls.from_fd(pin.open_pinned(path, "map"))
        m._pinned = path
        return m

    @classmethod
    def from_id(cls: type[_M], map_id: int) -> _M:
        """Open the map with kernel id ``map_id``.

        Raises:
            SyscallError: ENOENT when there is none.
        """
        try:
            fd = map_get_fd_by_id(map_id)
        except SyscallError as exc:
            hint = f"no map has id {map_id}" if exc.errno == errno.ENOENT else ""
            raise with_hint(exc, hint) from None
        return cls.from_fd(fd)

    @classmethod
    def _wrap(cls: type[_M], fd: FD, spec: MapSpec) -> _M:
        family = _family(int(spec.type))
        if not issubclass(family, cls):
            fd.close()
            raise SpecError(f"map {spec.name!r} is a {family.__name__}, not a {cls.__name__}")
        return family(fd, spec)

    def clone(self: _M) -> _M:
        """A second, independent handle on the same map (for another thread)."""
        return type(self)(self._fd.dup(), self._spec)

    # -- shape -------------------------------------------------------------------------------
    @property
    def type(self) -> MapType:
        return self._spec.type

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def key_size(self) -> int:
        return self._spec.key_size

    @property
    def value_size(self) -> int:
        return self._spec.value_size

    @property
    def max_entries(self) -> int:
        return self._spec.max_entries

    @property
    def flags(self) -> int:
        return self._spec.flags

    @property
    def spec(self) -> MapSpec:
        """A copy of the spec the map was made from (or rebuilt from the kernel's info)."""
        return self._spec.copy()

    # -- display -----------------------------------------------------------------------------
    def __repr__(self) -> str:
        state = f"fd={self._fd.fileno()}" if not self.closed else "closed"
        kind = kernel_name(self.type) if isinstance(self.type, MapType) else self.type
        return (
            f"{type(self).__name__}(name={self.name!r}, type={kind}, key_size={self.key_size}, "
            f"value_size={self.value_size}, max_entries={self.max_entries}, {state})"
        )

    # -- kernel object -----------------------------------------------------------------------
    def info(self) -> MapInfo:
        """What the kernel says about the map (id, type, sizes, flags, name, BTF ids …)."""
        from pybpf.objects.info import map_info  # noqa: PLC0415 - not on a load's path

        return map_info(self.fileno())

    @property
    def id(self) -> int:
        return self.info().id

    def freeze(self) -> None:
        """Make the map read-only from user space (programs may still write unless it was
        created with ``BPF_F_RDONLY_PROG``). Requires Linux >= 5.2."""
        try:
            map_freeze(self.fileno())
        except SyscallError as exc:
            frozen = exc.errno in (errno.EBUSY, errno.EPERM) and self.info().frozen
            raise with_hint(exc, "the map is already frozen" if frozen else "") from None


def _spec_from_info(info: MapInfo) -> MapSpec:
    return MapSpec(
        name=info.name,
        type=info.type,  # type: ignore[arg-type]
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        flags=info.flags,
        map_extra=info.map_extra,
        key_type=info.btf_key_type_id or None,  # in the map's BTF, fetched when needed
        value_type=info.btf_value_type_id or None,
    )


# Map families register themselves when their module is imported; pybpf.objects imports
# them lazily, so a map of a family not yet imported imports it here.
_FAMILY_MODULES: dict[int, str] = {
    **dict.fromkeys((MapType.HASH, MapType.ARRAY, MapType.LRU_HASH), "pybpf.objects.kv"),
    **dict.fromkeys(
        (
            MapType.PROG_ARRAY,
            MapType.PERF_EVENT_ARRAY,
            MapType.CGROUP_ARRAY,
            MapType.ARRAY_OF_MAPS,
            MapType.HASH_OF_MAPS,
            MapType.DEVMAP,
            MapType.SOCKMAP,
            MapType.CPUMAP,
            MapType.XSKMAP,
            MapType.SOCKHASH,
            MapType.REUSEPORT_SOCKARRAY,
            MapType.DEVMAP_HASH,
        ),
        "pybpf.objects.fdmap",
    ),
    **dict.fromkeys(
        (MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH),
        "pybpf.objects.percpu",
    ),
    **dict.fromkeys(
        (
            MapType.STACK_TRACE,
            MapType.CGROUP_STORAGE,
            MapType.PERCPU_CGROUP_STORAGE,
            MapType.SK_STORAGE,
            MapType.INODE_STORAGE,
            MapType.TASK_STORAGE,
            MapType.CGRP_STORAGE,
        ),
        "pybpf.objects.storage",
    ),
    MapType.LPM_TRIE: "pybpf.objects.lpm",
    MapType.QUEUE: "pybpf.objects.queue",
    MapType.STACK: "pybpf.objects.queue",
    MapType.BLOOM_FILTER: "pybpf.objects.bloom",
    MapType.ARENA: "pybpf.objects.arena",
}


def _family(map_type: int) -> type[Map]:
    """The class of a map type (importing its family's module on first use)."""
    family = Map._classes.get(map_type)
    if family is None and map_type in _FAMILY_MODULES:
        __import__(_FAMILY_MODULES[map_type])  # the family registers on import
        family = Map._classes.get(map_type)
    return family or Map
