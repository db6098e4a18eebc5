"""Walking a map in batches (BPF_MAP_LOOKUP_BATCH and friends), and one key at a time.

A batch walk asks the kernel for up to ``chunk`` entries per call, passing back the cursor
the kernel returned (``out_batch`` → ``in_batch``); ENOENT ends the walk (entries may still
have arrived with it). Where the kernel or the map type has no batch commands, callers fall
back to :func:`iter_next_keys` (BPF_MAP_GET_NEXT_KEY).
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterator

from pybpf.errors import SyscallError
from pybpf.features import BATCH_OPS, have
from pybpf.features._core import ENOTSUPP
from pybpf.sys import (
    FD,
    MapBatchAttr,
    MapElemAttr,
    map_get_next_key,
    map_lookup_and_delete_batch,
    map_lookup_batch,
)

__all__ = ["UNSUPPORTED", "Batches", "batch_supported", "iter_next_keys"]

UNSUPPORTED = frozenset({errno.EINVAL, errno.EOPNOTSUPP, ENOTSUPP})
_MAX_CHUNK = 1 << 17
_MAX_BUFFER = 16 << 20


def batch_supported() -> bool:
    """Whether the kernel has the batch commands at all (Linux >= 5.6)."""
    try:
        return have(BATCH_OPS)
    except SyscallError:
        return False


def default_chunk(max_entries: int, key_size: int, value_bytes: int) -> int:
    """Entries per batch call: the whole map, up to 128k entries and 16 MiB of buffers."""
    per_entry = max(1, key_size + value_bytes)
    return max(1, min(max_entries or 1, _MAX_CHUNK, _MAX_BUFFER // per_entry))


class Batches:
    """The buffers of batch walks over one map (reused from walk to walk)."""

    def __init__(self, fd: FD, key_size: int, value_bytes: int, chunk: int) -> None:
        self.fd, self.key_size, self.value_bytes = fd, key_size, value_bytes
        self._resize(chunk)
        token = max(key_size, 8)  # hash maps pass a u32 bucket, others the last key
        self.tok_in = ctypes.create_string_buffer(token)
        self.tok_out = ctypes.create_string_buffer(token)

    def _resize(self, chunk: int) -> None:
        self.chunk = chunk
        self.keys = ctypes.create_string_buffer(max(1, chunk * self.key_size))
        self.values = ctypes.create_string_buffer(max(1, chunk * self.value_bytes))

    def walk(self, *, delete: bool = False) -> Iterator[tuple[bytes, bytes, int]]:
        """Yield ``(keys, values, count)`` per call until the map is exhausted.

        Raises:
            SyscallError: the first call failed (EINVAL/ENOTSUPP: no batches for this map).
        """
        call = map_lookup_and_delete_batch if delete else map_lookup_batch
        attr = MapBatchAttr(map_fd=self.fd.fileno(), out_batch=ctypes.addressof(self.tok_out))
        while True:
            attr.keys, attr.values = ctypes.addressof(self.keys), ctypes.addressof(self.values)
            attr.count = self.chunk
            done = self._call(call, attr)
            if done is None:
                continue
            n = attr.count
            if n:
                keys = ctypes.string_at(attr.keys, n * self.key_size)
                yield keys, ctypes.string_at(attr.values, n * self.value_bytes), n
            if done:
                return
            ctypes.memmove(self.tok_in, self.tok_out, len(self.tok_out))
            attr.in_batch = ctypes.addressof(self.tok_in)

    def _call(self, call: object, attr: MapBatchAttr) -> bool | None:
        """One batch call: True at the end, False to go on, None to retry (buffer grown)."""
        try:
            call(attr)  # type: ignore[operator]
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return True
            if exc.errno == errno.ENOSPC and attr.count == 0:
                # A bucket holds more entries than the chunk: grow and ask again.
                self._resize(self.chunk * 2)
                return None
            raise
        return False


def iter_next_keys(fd: FD, key_size: int) -> Iterator[bytes]:
    """Every key, by BPF_MAP_GET_NEXT_KEY (on hash maps a key deleted meanwhile restarts
    the walk from the first key, as the kernel does)."""
    cur = ctypes.create_string_buffer(max(1, key_size))
    nxt = ctypes.create_string_buffer(max(1, key_size))
    attr = MapElemAttr(map_fd=fd.fileno(), key=0, value=ctypes.addressof(nxt))
    while True:
        try:
            map_get_next_key(attr)
        except SyscallError as exc:
            if exc.errno == errno.ENOENT:
                return
            raise
        key = nxt.raw[:key_size]
        yield key
        ctypes.memmove(cur, nxt, key_size)
        attr.key = ctypes.addressof(cur)
