"""The system's bpf objects: every program, map, link and BTF object, by id, with its info.

Each walk asks the kernel for the next id (BPF_*_GET_NEXT_ID), opens the object
(BPF_*_GET_FD_BY_ID), reads its info (BPF_OBJ_GET_INFO_BY_FD) and closes it again. Objects
that disappear between two steps are skipped. Needs CAP_SYS_ADMIN.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator

from pybpf.errors import SyscallError
from pybpf.objects._errors import with_hint
from pybpf.objects.info import (
    BTFInfo,
    LinkInfo,
    MapInfo,
    ProgramInfo,
    btf_info,
    link_info,
    map_info,
    program_info,
)
from pybpf.sys import (
    FD,
    btf_get_fd_by_id,
    btf_get_next_id,
    link_get_fd_by_id,
    link_get_next_id,
    map_get_fd_by_id,
    map_get_next_id,
    prog_get_fd_by_id,
    prog_get_next_id,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypeVar

    _T = TypeVar("_T")

__all__ = [
    "btf_ids",
    "iter_btf",
    "iter_links",
    "iter_maps",
    "iter_programs",
    "link_ids",
    "map_ids",
    "program_ids",
]


def _ids(next_id: Callable[[int], int]) -> Iterator[int]:
    current = 0
    while True:
        try:
            current = next_id(current)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return
            raise with_hint(exc) from None
        yield current


def _infos(
    next_id: Callable[[int], int], open_id: Callable[[int], FD], read: Callable[[int], _T]
) -> Iterator[_T]:
    for obj_id in _ids(next_id):
        try:
            fd = open_id(obj_id)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                continue  # gone meanwhile
            raise with_hint(exc) from None
        with fd:
            yield read(fd.fileno())


def program_ids() -> Iterator[int]:
    """The ids of every loaded program, ascending."""
    return _ids(prog_get_next_id)


def map_ids() -> Iterator[int]:
    """The ids of every map, ascending."""
    return _ids(map_get_next_id)


def link_ids() -> Iterator[int]:
    """The ids of every link, ascending."""
    return _ids(link_get_next_id)


def btf_ids() -> Iterator[int]:
    """The ids of every BTF object (the kernel's, modules', programs'), ascending."""
    return _ids(btf_get_next_id)


def iter_programs() -> Iterator[ProgramInfo]:
    """The info of every loaded program."""
    return _infos(prog_get_next_id, prog_get_fd_by_id, program_info)


def iter_maps() -> Iterator[MapInfo]:
    """The info of every map."""
    return _infos(map_get_next_id, map_get_fd_by_id, map_info)


def iter_links() -> Iterator[LinkInfo]:
    """The info of every link."""
    return _infos(link_get_next_id, link_get_fd_by_id, link_info)


def iter_btf() -> Iterator[BTFInfo]:
    """The info of every BTF object."""
    return _infos(btf_get_next_id, btf_get_fd_by_id, btf_info)
