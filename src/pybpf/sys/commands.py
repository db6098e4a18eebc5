"""One thin function per bpf(2) command pybpf uses: attr in, result out, no policy.

Functions that take a prepared attr (element and batch operations, loads, test runs) let the
caller build the attr once and reuse it; the rest build their small attr from plain arguments.
The element operations are the hot path: they call the backend directly (the body of
:func:`~pybpf.sys.backend.bpf`, inlined) to spare a Python frame per lookup.
Every function raises :class:`~pybpf.errors.SyscallError` when the kernel refuses; retries,
fallbacks and hints are the callers' business (:mod:`pybpf.objects`, :mod:`pybpf.features`).

Commands are documented in include/uapi/linux/bpf.h:
https://github.com/torvalds/linux/blob/master/include/uapi/linux/bpf.h
"""

from __future__ import annotations

import ctypes
import os

from pybpf._uapi import Cmd
from pybpf.sys import backend as _backend
from pybpf.sys.attrs import (
    BtfLoadAttr,
    GetIdAttr,
    InfoAttr,
    LinkCreateAttr,
    MapBatchAttr,
    MapCreateAttr,
    MapElemAttr,
    ObjAttr,
    ProgLoadAttr,
    TestRunAttr,
)
from pybpf.sys.backend import bpf, refusal
from pybpf.sys.fd import FD

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "btf_get_fd_by_id",
    "btf_get_next_id",
    "btf_load",
    "link_create",
    "link_get_fd_by_id",
    "link_get_next_id",
    "map_create",
    "map_delete_batch",
    "map_delete_elem",
    "map_freeze",
    "map_get_fd_by_id",
    "map_get_next_id",
    "map_get_next_key",
    "map_lookup_and_delete_batch",
    "map_lookup_and_delete_elem",
    "map_lookup_batch",
    "map_lookup_elem",
    "map_update_batch",
    "map_update_elem",
    "obj_get",
    "obj_get_info_by_fd",
    "obj_pin",
    "prog_get_fd_by_id",
    "prog_get_next_id",
    "prog_load",
    "prog_test_run",
]

# Plain ints: an enum member lookup costs more than the element operations can spare.
_MAP_CREATE = int(Cmd.MAP_CREATE)
_LOOKUP = int(Cmd.MAP_LOOKUP_ELEM)
_UPDATE = int(Cmd.MAP_UPDATE_ELEM)
_DELETE = int(Cmd.MAP_DELETE_ELEM)
_NEXT_KEY = int(Cmd.MAP_GET_NEXT_KEY)
_LOOKUP_AND_DELETE = int(Cmd.MAP_LOOKUP_AND_DELETE_ELEM)


# -- maps ------------------------------------------------------------------------------------
def map_create(attr: MapCreateAttr) -> FD:
    """BPF_MAP_CREATE: a new map."""
    return FD(bpf(_MAP_CREATE, attr))


def map_lookup_elem(attr: MapElemAttr) -> None:
    """BPF_MAP_LOOKUP_ELEM: copy the value of ``*attr.key`` to ``*attr.value``."""
    r = _backend._call(_LOOKUP, attr)
    if r < 0:
        raise refusal(_LOOKUP, -r)


def map_update_elem(attr: MapElemAttr) -> None:
    """BPF_MAP_UPDATE_ELEM: store ``*attr.value`` at ``*attr.key`` (``attr.flags``: BPF_ANY …)."""
    r = _backend._call(_UPDATE, attr)
    if r < 0:
        raise refusal(_UPDATE, -r)


def map_delete_elem(attr: MapElemAttr) -> None:
    """BPF_MAP_DELETE_ELEM: remove ``*attr.key``."""
    r = _backend._call(_DELETE, attr)
    if r < 0:
        raise refusal(_DELETE, -r)


def map_get_next_key(attr: MapElemAttr) -> None:
    """BPF_MAP_GET_NEXT_KEY: the key after ``*attr.key`` (first key if ``attr.key`` is 0)."""
    r = _backend._call(_NEXT_KEY, attr)
    if r < 0:
        raise refusal(_NEXT_KEY, -r)


def map_lookup_and_delete_elem(attr: MapElemAttr) -> None:
    """BPF_MAP_LOOKUP_AND_DELETE_ELEM: lookup then delete (pop, for queues and stacks)."""
    r = _backend._call(_LOOKUP_AND_DELETE, attr)
    if r < 0:
        raise refusal(_LOOKUP_AND_DELETE, -r)


def map_freeze(map_fd: int) -> None:
    """BPF_MAP_FREEZE: make a map read-only from user space from now on."""
    bpf(Cmd.MAP_FREEZE, MapElemAttr(map_fd=map_fd))


def map_lookup_batch(attr: MapBatchAttr) -> None:
    """BPF_MAP_LOOKUP_BATCH: up to ``attr.count`` entries; ``attr.count`` says how many came.

    ENOENT means the walk reached the end (``attr.count`` entries still arrived).
    """
    bpf(Cmd.MAP_LOOKUP_BATCH, attr)


def map_lookup_and_delete_batch(attr: MapBatchAttr) -> None:
    """BPF_MAP_LOOKUP_AND_DELETE_BATCH: as :func:`map_lookup_batch`, deleting what it returns."""
    bpf(Cmd.MAP_LOOKUP_AND_DELETE_BATCH, attr)


def map_update_batch(attr: MapBatchAttr) -> None:
    """BPF_MAP_UPDATE_BATCH: store ``attr.count`` pairs; on error ``attr.count`` says how many."""
    bpf(Cmd.MAP_UPDATE_BATCH, attr)


def map_delete_batch(attr: MapBatchAttr) -> None:
    """BPF_MAP_DELETE_BATCH: remove ``attr.count`` keys; on error ``attr.count`` says how many."""
    bpf(Cmd.MAP_DELETE_BATCH, attr)


# -- programs --------------------------------------------------------------------------------
def prog_load(attr: ProgLoadAttr) -> FD:
    """BPF_PROG_LOAD: verify and load a program."""
    return FD(bpf(Cmd.PROG_LOAD, attr))


def prog_test_run(attr: TestRunAttr) -> None:
    """BPF_PROG_TEST_RUN: run a program on the given data/context; results land in ``attr``."""
    bpf(Cmd.PROG_TEST_RUN, attr)


# -- links and BTF ---------------------------------------------------------------------------
def link_create(attr: LinkCreateAttr) -> FD:
    """BPF_LINK_CREATE: attach a program through a link."""
    return FD(bpf(Cmd.LINK_CREATE, attr))


def btf_load(attr: BtfLoadAttr) -> FD:
    """BPF_BTF_LOAD: load raw BTF."""
    return FD(bpf(Cmd.BTF_LOAD, attr))


# -- the bpf filesystem ----------------------------------------------------------------------
def obj_pin(fd: int, path: str | bytes, file_flags: int = 0) -> None:
    """BPF_OBJ_PIN: make the object of ``fd`` live on as the file ``path`` in a bpffs."""
    buf = ctypes.create_string_buffer(os.fsencode(path))
    attr = ObjAttr(pathname=ctypes.addressof(buf), bpf_fd=fd, file_flags=file_flags)
    bpf(Cmd.OBJ_PIN, attr)


def obj_get(path: str | bytes, file_flags: int = 0) -> FD:
    """BPF_OBJ_GET: a new fd for the object pinned at ``path``."""
    buf = ctypes.create_string_buffer(os.fsencode(path))
    attr = ObjAttr(pathname=ctypes.addressof(buf), file_flags=file_flags)
    return FD(bpf(Cmd.OBJ_GET, attr))


# -- ids and info ----------------------------------------------------------------------------
def _next_id(cmd: Cmd, start: int) -> int:
    attr = GetIdAttr(start_id=start)
    bpf(cmd, attr)
    return attr.next_id


def prog_get_next_id(start: int) -> int:
    """BPF_PROG_GET_NEXT_ID: the next program id after ``start`` (ENOENT at the end)."""
    return _next_id(Cmd.PROG_GET_NEXT_ID, start)


def map_get_next_id(start: int) -> int:
    """BPF_MAP_GET_NEXT_ID: the next map id after ``start`` (ENOENT at the end)."""
    return _next_id(Cmd.MAP_GET_NEXT_ID, start)


def link_get_next_id(start: int) -> int:
    """BPF_LINK_GET_NEXT_ID: the next link id after ``start`` (ENOENT at the end)."""
    return _next_id(Cmd.LINK_GET_NEXT_ID, start)


def btf_get_next_id(start: int) -> int:
    """BPF_BTF_GET_NEXT_ID: the next BTF object id after ``start`` (ENOENT at the end)."""
    return _next_id(Cmd.BTF_GET_NEXT_ID, start)


def prog_get_fd_by_id(prog_id: int) -> FD:
    """BPF_PROG_GET_FD_BY_ID."""
    return FD(bpf(Cmd.PROG_GET_FD_BY_ID, GetIdAttr(start_id=prog_id)))


def map_get_fd_by_id(map_id: int, open_flags: int = 0) -> FD:
    """BPF_MAP_GET_FD_BY_ID (``open_flags``: BPF_F_RDONLY / BPF_F_WRONLY)."""
    return FD(bpf(Cmd.MAP_GET_FD_BY_ID, GetIdAttr(start_id=map_id, open_flags=open_flags)))


def link_get_fd_by_id(link_id: int) -> FD:
    """BPF_LINK_GET_FD_BY_ID."""
    return FD(bpf(Cmd.LINK_GET_FD_BY_ID, GetIdAttr(start_id=link_id)))


def btf_get_fd_by_id(btf_id: int) -> FD:
    """BPF_BTF_GET_FD_BY_ID."""
    return FD(bpf(Cmd.BTF_GET_FD_BY_ID, GetIdAttr(start_id=btf_id)))


def obj_get_info_by_fd(fd: int, info: Any) -> int:
    """BPF_OBJ_GET_INFO_BY_FD: fill ``info`` (a ``bpf_*_info`` structure); returns the length
    the kernel wrote."""
    attr = InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
    bpf(Cmd.OBJ_GET_INFO_BY_FD, attr)
    return attr.info_len
