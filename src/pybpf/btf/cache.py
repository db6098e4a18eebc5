"""An on-disk cache of the index of large raw BTF (vmlinux), keyed by the content's hash.

Opening vmlinux BTF costs a pass over ~126k type records (~10 ms in pure Python); with the
cache, a process that opened the same BTF before reads the index from a file instead. An entry
holds the offset index and the name arrays of :class:`~pybpf.btf._names.NameIndex` (the
hashed name index too, once some process built it: then lookups skip the string search)::

    +-----------------------------+  0
    | b"PYBPFBTI"  version (u32)  |  version includes the host byte order (entries are
    | count  type_len  types_crc  |  native-endian, never shared between hosts)
    | payload_crc  hashed         |  crc32 of everything after this 32-byte header;
    +-----------------------------+  32   entries in the hashed index (0: not built)
    | offsets     count x u32     |
    | name column count x u32     |
    | referenced  count x u32     |
    | hash keys   hashed x u32    |
    | positions   hashed x u32    |
    +-----------------------------+

The key is the CRC-32 of the BTF header and type section (strings do not affect the index)
with their length. An entry is trusted only if its own checksum and key match and a sample of
its records agrees with the BTF; every decoded record is checked against the index again. A
missing, stale or corrupt entry means parsing as usual, silently; a new entry is written to a
temporary file and renamed into place (atomic); a read-only or full disk is ignored.

Location: ``$PYBPF_CACHE_DIR``, else ``$XDG_CACHE_HOME/pybpf/btf``, else
``~/.cache/pybpf/btf``. At most :data:`MAX_ENTRIES` entries are kept (one per kernel build).
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from array import array
from contextlib import suppress

from pybpf.btf import _index
from pybpf.btf._btf import BTF
from pybpf.btf._names import SavedIndex
from pybpf.btf.kinds import record_words

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

__all__ = ["MAX_ENTRIES", "MIN_TYPES", "cache_dir", "load_cached"]

MIN_TYPES = 4096
"""BTF with fewer types than this is parsed directly (the index pass takes < 1 ms)."""
MAX_ENTRIES = 8
"""Entries kept in the cache directory; older ones are removed when one is added."""

_MAGIC = b"PYBPFBTI"
_VERSION = 2 | (0x100 if sys.byteorder == "big" else 0)
_HEAD = struct.Struct("=8s6I")
_SAMPLES = 64


def cache_dir() -> Path:
    """Where entries are kept (the directory may not exist yet)."""
    from pathlib import Path  # noqa: PLC0415 - the cache itself works with os.path

    return Path(_cache_dir())


def _cache_dir() -> str:
    explicit = os.environ.get("PYBPF_CACHE_DIR")
    if explicit:
        return explicit
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "pybpf", "btf")


def load_cached(
    data: bytes | bytearray | memoryview,
    *,
    name: str | None = None,
    base: BTF | None = None,
    directory: str | os.PathLike[str] | None = None,
    index_names: bool = False,
    read: Callable[[str], bytes | memoryview] | None = None,
) -> BTF:
    """Parse raw BTF, reusing (or saving) its index in the cache.

    Behaves exactly as ``BTF(data, base=base, name=name)``, only faster the second time.
    With ``index_names``, the hashed name index is built too (if the entry lacks it) and
    saved; it is also saved whenever the BTF builds it later by itself. ``read`` gives an
    entry's bytes (default: the file read whole); the kernel half maps the file instead, and
    the index's arrays are then views of the mapping, not copies (this layer may not map
    files).

    Raises:
        BTFError: malformed BTF (as :class:`~pybpf.btf.BTF` raises); OSError only from a
            ``read`` that raises something else than OSError for a missing entry.
    """
    view = memoryview(data).cast("B")
    hdr = _index.parse_header(view, name or ".BTF")
    types_end = hdr.types_start + hdr.type_len
    if hdr.type_len < MIN_TYPES * 12:
        return BTF(data, base=base, name=name)
    crc = zlib.crc32(view[:types_end])
    folder = os.fspath(directory) if directory is not None else _cache_dir()
    path = os.path.join(folder, f"{crc:08x}-{hdr.type_len:x}.idx")
    index = _read_entry(path, view, hdr, crc, read or _read_file)
    btf = BTF(data, base=base, name=name, index=index)
    if index is None:
        _write_entry(path, btf, hdr.type_len, crc)
    btf.on_index_names = lambda b: _write_entry(path, b, hdr.type_len, crc)
    if index_names:
        btf.index_names()
    return btf


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _read_entry(
    path: str,
    view: memoryview,
    hdr: _index.Header,
    crc: int,
    read: Callable[[str], bytes | memoryview],
) -> SavedIndex | None:
    """The index stored at ``path`` if it is there, intact and consistent with the BTF."""
    try:
        raw = read(path)
        magic, version, count, type_len, types_crc, payload_crc, hashed = _HEAD.unpack_from(raw)
    except (OSError, ValueError, struct.error):  # (ValueError: mapping an empty file)
        return None
    if (magic, version, type_len, types_crc) != (_MAGIC, _VERSION, hdr.type_len, crc):
        return None
    body = memoryview(raw)[_HEAD.size :]
    if len(body) != 12 * count + 8 * hashed or zlib.crc32(body) != payload_crc:
        return None
    offsets, column, referenced = (
        _u32s(body, 0, count),
        bytes(body[4 * count : 8 * count]),
        _u32s(body, 2 * count, count),
    )
    keys, positions = _u32s(body, 3 * count, hashed), _u32s(body, 3 * count + hashed, hashed)
    if not _plausible(offsets, column, _index.type_words(view, hdr)):
        return None
    return offsets, column, referenced, ((keys, positions) if hashed else None)


def _u32s(body: memoryview, start: int, count: int) -> Sequence[int]:
    """``count`` native u32 from item ``start`` of ``body``: a view, not a copy (entries are
    a few MB; allocating and copying them costs more than reading them)."""
    return body[4 * start : 4 * (start + count)].cast("I")


def _plausible(offsets: Sequence[int], column: bytes, words: _index.Words) -> bool:
    """Spot-check records spread over the index against the type section."""
    count, nwords = len(offsets), len(words)
    if count == 0 or offsets[0] != 0:
        return False
    names = memoryview(column).cast("I")
    for i in {*range(0, count, max(1, count // _SAMPLES)), count - 1}:
        o = offsets[i]
        end = offsets[i + 1] if i + 1 < count else nwords
        if not 0 <= o < end <= nwords or o + 1 >= nwords or names[i] != words[o]:
            return False
        try:
            if end - o != record_words(words[o + 1]):
                return False
        except KeyError:
            return False
    return True


def _write_entry(path: str, btf: BTF, type_len: int, crc: int) -> None:
    """Save ``btf``'s index atomically; any failure to write leaves no trace."""
    names = btf.names
    hashed = names.hashed or ((), ())
    parts = [btf.offsets, names.column, names.referenced, hashed[0], hashed[1]]
    body = b"".join(_packed(p) for p in parts)
    count, nhashed = len(btf.offsets), len(hashed[0])
    head = _HEAD.pack(_MAGIC, _VERSION, count, type_len, crc, zlib.crc32(body), nhashed)
    import tempfile  # noqa: PLC0415 - only a process that writes needs it

    folder = os.path.dirname(path)
    tmp = None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".idx")
        with os.fdopen(fd, "wb") as f:
            f.write(head + body)
        os.replace(tmp, path)
        tmp = None
        _prune(folder)
    except OSError:
        pass
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


def _packed(values: Sequence[int] | bytes) -> bytes:
    """Native u32 values as bytes (arrays and views of an entry are already packed)."""
    if isinstance(values, (bytes, array, memoryview)):
        return bytes(values)
    return array("I", values).tobytes()


def _prune(folder: str) -> None:
    def mtime(path: str) -> float:
        try:
            return os.stat(path).st_mtime
        except OSError:  # removed meanwhile by another process
            return 0.0

    names = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".idx")]
    for old in sorted(names, key=mtime, reverse=True)[MAX_ENTRIES:]:
        with suppress(OSError):
            os.unlink(old)
