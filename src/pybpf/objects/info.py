"""What the kernel says about a map, program, link or BTF object (BPF_OBJ_GET_INFO_BY_FD).

The records are frozen values; enum fields hold the kernel enum when pybpf knows the value
and the plain integer when a newer kernel reports one it does not. ``memlock`` and ``frozen``
come from ``/proc/self/fdinfo`` (``None`` where that is unavailable), as bpftool reads them.
"""

from __future__ import annotations

import ctypes
import time

from pybpf._records import immutable
from pybpf._uapi import LinkType, MapType, ProgType
from pybpf.sys import BtfInfo as _RawBtfInfo
from pybpf.sys import LinkInfo as _RawLinkInfo
from pybpf.sys import MapInfo as _RawMapInfo
from pybpf.sys import ProgInfo as _RawProgInfo
from pybpf.sys import obj_get_info_by_fd

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "BTFInfo",
    "LinkInfo",
    "MapInfo",
    "ProgramInfo",
    "btf_info",
    "link_info",
    "map_info",
    "program_info",
]


def _enum(cls: type[MapType] | type[ProgType] | type[LinkType], value: int) -> int:
    try:
        return cls(value)
    except ValueError:
        return value


def _fdinfo(fd: int) -> dict[str, str]:
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            return dict(ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln)
    except OSError:
        return {}


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


@immutable
class MapInfo:
    """A map as the kernel describes it (``struct bpf_map_info``)."""

    id: int
    type: MapType | int
    name: str
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    map_extra: int = 0
    ifindex: int = 0
    btf_id: int = 0
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0
    btf_vmlinux_value_type_id: int = 0
    memlock: int | None = None
    frozen: bool | None = None


def map_info(fd: int) -> MapInfo:
    """The info of the map behind ``fd``."""
    raw = _RawMapInfo()
    obj_get_info_by_fd(fd, raw)
    extra = _fdinfo(fd)
    frozen = _int_or_none(extra.get("frozen"))
    return MapInfo(
        id=raw.id,
        type=_enum(MapType, raw.type),
        name=raw.name.decode(errors="replace"),
        key_size=raw.key_size,
        value_size=raw.value_size,
        max_entries=raw.max_entries,
        flags=raw.map_flags,
        map_extra=raw.map_extra,
        ifindex=raw.ifindex,
        btf_id=raw.btf_id,
        btf_key_type_id=raw.btf_key_type_id,
        btf_value_type_id=raw.btf_value_type_id,
        btf_vmlinux_value_type_id=raw.btf_vmlinux_value_type_id,
        memlock=_int_or_none(extra.get("memlock")),
        frozen=None if frozen is None else bool(frozen),
    )


@immutable
class ProgramInfo:
    """A program as the kernel describes it (``struct bpf_prog_info``).

    ``load_time`` is in nanoseconds since boot (see :attr:`loaded_at`); sizes are in bytes;
    ``run_time_ns``/``run_cnt`` count only while ``kernel.bpf_stats_enabled`` is on.
    """

    id: int
    type: ProgType | int
    name: str
    tag: str
    gpl_compatible: bool
    load_time: int
    created_by_uid: int
    map_ids: tuple[int, ...]
    xlated_size: int
    jited_size: int
    btf_id: int = 0
    verified_insns: int = 0
    run_time_ns: int = 0
    run_cnt: int = 0
    recursion_misses: int = 0
    attach_btf_id: int = 0
    attach_btf_obj_id: int = 0
    nr_func_info: int = 0
    nr_line_info: int = 0
    memlock: int | None = None

    @property
    def loaded_at(self) -> datetime:
        """:attr:`load_time` as a wall-clock time (UTC)."""
        from datetime import datetime, timezone  # noqa: PLC0415 - ~1 ms, for this alone

        boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
        return datetime.fromtimestamp(boot + self.load_time / 1e9, timezone.utc)


def program_info(fd: int) -> ProgramInfo:
    """The info of the program behind ``fd`` (two calls: the second fetches the map ids)."""
    raw = _RawProgInfo()
    obj_get_info_by_fd(fd, raw)
    ids = (ctypes.c_uint32 * raw.nr_map_ids)()
    if raw.nr_map_ids:
        again = _RawProgInfo(nr_map_ids=raw.nr_map_ids, map_ids=ctypes.addressof(ids))
        obj_get_info_by_fd(fd, again)
    return ProgramInfo(
        id=raw.id,
        type=_enum(ProgType, raw.type),
        name=raw.name.decode(errors="replace"),
        tag=bytes(raw.tag).hex(),
        gpl_compatible=bool(raw.gpl_compatible),
        load_time=raw.load_time,
        created_by_uid=raw.created_by_uid,
        map_ids=tuple(ids),
        xlated_size=raw.xlated_prog_len,
        jited_size=raw.jited_prog_len,
        btf_id=raw.btf_id,
        verified_insns=raw.verified_insns,
        run_time_ns=raw.run_time_ns,
        run_cnt=raw.run_cnt,
        recursion_misses=raw.recursion_misses,
        attach_btf_id=raw.attach_btf_id,
        attach_btf_obj_id=raw.attach_btf_obj_id,
        nr_func_info=raw.nr_func_info,
        nr_line_info=raw.nr_line_info,
        memlock=_int_or_none(_fdinfo(fd).get("memlock")),
    )


@immutable
class LinkInfo:
    """A link as the kernel describes it: the common head of ``struct bpf_link_info`` and the
    per-type union as raw bytes (``extra``)."""

    id: int
    type: LinkType | int
    prog_id: int
    extra: bytes


def link_info(fd: int) -> LinkInfo:
    """The info of the link behind ``fd``."""
    raw = _RawLinkInfo()
    obj_get_info_by_fd(fd, raw)
    return LinkInfo(raw.id, _enum(LinkType, raw.type), raw.prog_id, bytes(raw.extra))


@immutable
class BTFInfo:
    """A loaded BTF object: its id, name (a module's name, ``vmlinux``, or empty for BTF a
    program loaded), size in bytes, and whether the kernel itself provides it."""

    id: int
    name: str
    size: int
    kernel_btf: bool


def btf_info(fd: int) -> BTFInfo:
    """The info of the BTF object behind ``fd``."""
    name = ctypes.create_string_buffer(64)
    raw = _RawBtfInfo(name=ctypes.addressof(name), name_len=len(name))
    obj_get_info_by_fd(fd, raw)
    return BTFInfo(raw.id, name.value.decode(errors="replace"), raw.btf_size, bool(raw.kernel_btf))
