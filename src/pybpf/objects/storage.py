"""Storage maps: values kept per kernel object, and stack traces.

Local storage (``sk_storage`` 5.2, ``inode_storage`` 5.10, ``task_storage`` 5.11,
``cgrp_storage`` 6.2) keeps one value per socket, inode, task or cgroup; user space names the
object by a file descriptor (a socket, an open file, a pidfd, a cgroup directory) as the key.
These maps cannot be iterated. Cgroup storage (``cgroup_storage``, its per-CPU twin) holds the
values of programs attached to cgroups, keyed by ``(cgroup inode id, attach type)``. Stack
trace maps hold the addresses of the stacks programs recorded, by stack id.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator

from pybpf._uapi import MapType
from pybpf.errors import NotSupportedError
from pybpf.objects.codec import Codec, RawCodec, SplitCodec
from pybpf.objects.kv import HashMap, KeyValueMap
from pybpf.objects.percpu import _PerCPU

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CgroupStorageMap",
    "FDKeyCodec",
    "LocalStorageMap",
    "PerCPUCgroupStorageMap",
    "StackTraceMap",
]


class FDKeyCodec(RawCodec):
    """A raw codec whose keys may also be objects with ``fileno()`` (keyed by their fd)."""

    def encode_key(self, key: object) -> bytes:
        fileno = getattr(key, "fileno", None)
        if fileno is not None:
            key = fileno()
        return super().encode_key(key)


class LocalStorageMap(
    KeyValueMap,
    types=(MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE),
):
    """Values attached to sockets, inodes, tasks or cgroups; the key is an fd of the object.

    ``m[sock]`` reads the value the programs stored for that socket; ``m[pidfd] = v`` stores
    one. Iteration, ``len`` and the list views are not possible (the kernel cannot list them).
    """

    def raw_codec(self) -> Codec:
        return FDKeyCodec(self.key_size, self.value_size)

    def typed_codec(self) -> Codec:
        """Keys stay fds (or objects with ``fileno()``); values are typed from BTF."""
        return SplitCodec(self.raw_codec(), super().typed_codec())

    def _not_listable(self) -> NotSupportedError:
        kind = self.type.name.lower()
        return NotSupportedError(
            f"listing the entries of {kind} maps", None, "look values up by fd"
        )

    def __iter__(self) -> Iterator[Any]:
        raise self._not_listable()

    def __len__(self) -> int:
        raise self._not_listable()

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        raise self._not_listable()

    def clear(self) -> None:
        raise self._not_listable()


class CgroupStorageMap(HashMap, types=(MapType.CGROUP_STORAGE,)):
    """``cgroup_storage``: one value per (cgroup, attach type) a program is attached to."""


class PerCPUCgroupStorageMap(_PerCPU, HashMap, types=(MapType.PERCPU_CGROUP_STORAGE,)):
    """``percpu_cgroup_storage``: as :class:`CgroupStorageMap`, one value per CPU."""

    def raw_codec(self) -> Codec:
        return self.per_cpu(RawCodec(self.key_size, self.value_size))


class StackTraceMap(HashMap, types=(MapType.STACK_TRACE,)):
    """``stack_trace``: stack id → instruction pointers (``value_size / 8`` frames at most).

    Values decode as bytes like any map; :meth:`addresses` gives the frames as ints.
    """

    int_keys = True

    def raw_codec(self) -> Codec:
        return RawCodec(self.key_size, self.value_size, int_keys=True)

    def addresses(self, stack_id: int) -> list[int]:
        """The instruction pointers of stack ``stack_id``, innermost first, without the
        zero padding.

        Raises:
            KeyError: there is no such stack.
        """
        raw = self._lookup_raw(stack_id)
        order = "<" if sys.byteorder == "little" else ">"
        frames = struct.unpack(f"{order}{len(raw) // 8}Q", raw[: len(raw) // 8 * 8])
        return [ip for ip in frames if ip]
