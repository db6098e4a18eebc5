"""The fast first pass over a BTF blob: header checks and the type offset index.

Parsing vmlinux BTF (~126k types) must take milliseconds, so this pass creates no object per
type: the type section is read as native-order u32 words (a zero-copy ``memoryview`` cast when
the blob's byte order is the host's, a byte-swapped ``array`` copy otherwise), and the loop
only appends each record's word index and advances by a length looked up in a dict keyed by
the record's whole ``info`` word (a few hundred distinct values in vmlinux), filled from
:data:`~pybpf.btf.kinds.RECORD` on first sight.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

from pybpf._records import immutable
from pybpf.btf.kinds import BTF_MAGIC, BTF_VERSION, HEADER, ByteOrder, record_words
from pybpf.errors import BTFError, Location

__all__ = ["Header", "Words", "parse_header", "scan", "type_words"]

Words = Sequence[int]
"""Native-order u32 words: a ``memoryview`` cast to ``"I"`` or an ``array("I")``."""

if array("I").itemsize != 4:  # pragma: no cover - every CPython platform has 4-byte ints
    raise ImportError("pybpf.btf needs a 4-byte C unsigned int")

_HOST: ByteOrder = "little" if sys.byteorder == "little" else "big"
_MAGIC_BYTES = {BTF_MAGIC.to_bytes(2, "little"): "little", BTF_MAGIC.to_bytes(2, "big"): "big"}


@immutable
class Header:
    """``struct btf_header`` of a parsed blob, with its byte order."""

    byteorder: ByteOrder
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int

    @property
    def types_start(self) -> int:
        """Byte offset of the type section in the blob."""
        return self.hdr_len + self.type_off

    @property
    def strings_start(self) -> int:
        """Byte offset of the string section in the blob."""
        return self.hdr_len + self.str_off


def parse_header(data: memoryview, source: str | None) -> Header:
    """Check the header and that both sections lie inside ``data`` (libbpf's rules).

    Raises:
        BTFError: truncated, bad magic or version, or sections out of bounds or misaligned.
    """
    size = len(data)
    if size < HEADER["little"].size:
        raise BTFError(f"truncated header ({size} of 24 bytes)", Location(source, offset=0))
    order = _MAGIC_BYTES.get(bytes(data[:2]))
    if order is None:
        raise BTFError(f"bad magic {bytes(data[:2]).hex()} (want eb9f)", Location(source, offset=0))
    byteorder: ByteOrder = "little" if order == "little" else "big"
    _, version, flags, hdr_len, *rest = HEADER[byteorder].unpack_from(data)
    hdr = Header(byteorder, version, flags, hdr_len, *rest)
    if version != BTF_VERSION:
        raise BTFError(f"unsupported version {version}", Location(source, offset=2))
    if hdr_len < 24 or hdr_len > size:
        raise BTFError(f"header length {hdr_len} outside 24..{size}", Location(source, offset=4))
    _check_sections(hdr, size - hdr_len, source)
    return hdr


def _check_sections(hdr: Header, left: int, source: str | None) -> None:
    if hdr.str_off + hdr.str_len > left:
        raise BTFError(
            f"string section ({hdr.str_off:#x}+{hdr.str_len:#x}) past the end "
            f"({left:#x} bytes after the header)",
            Location(source, offset=hdr.hdr_len + hdr.str_off),
        )
    if hdr.type_off + hdr.type_len > hdr.str_off:
        raise BTFError(
            f"type section ({hdr.type_off:#x}+{hdr.type_len:#x}) overlaps the string "
            f"section at {hdr.str_off:#x}",
            Location(source, offset=hdr.types_start),
        )
    if hdr.type_off % 4 or hdr.type_len % 4:
        raise BTFError(
            f"type section ({hdr.type_off:#x}+{hdr.type_len:#x}) not 4-byte aligned",
            Location(source, offset=hdr.types_start),
        )


def type_words(data: memoryview, hdr: Header) -> Words:
    """The type section as native-order u32 words (zero-copy when the byte order is the host's)."""
    raw = data[hdr.types_start : hdr.types_start + hdr.type_len]
    if hdr.byteorder == _HOST:
        return raw.cast("I")
    words = array("I")
    words.frombytes(raw)
    words.byteswap()
    return words


def scan(words: Words, first_id: int, types_start: int, source: str | None) -> list[int]:
    """The word index of each type record, in id order (the offset index).

    Raises:
        BTFError: a record of unknown kind, or one running past the end of the section.
    """
    offsets: list[int] = []
    append = offsets.append
    sizes: dict[int, int] = {}
    info_words = words[1:]
    i = 0
    # The hot loop (~10 ms for vmlinux): no bounds test, it ends by IndexError on the info
    # word of the record starting at (or past) the end; that start is popped below.
    while True:
        try:
            while True:
                append(i)
                i += sizes[info_words[i]]
        except KeyError:
            at = types_start + 4 * i
            i += _learn(sizes, info_words[i], first_id + len(offsets) - 1, at, source)
        except IndexError:
            break
    offsets.pop()  # the start appended when the loop ended
    if i != len(words):
        # i < len: a record starts at i but its header is cut short; i > len: the last overran.
        bad = i if i < len(words) else offsets[-1]
        count = len(offsets) + (i < len(words))
        raise BTFError(
            f"type [{first_id + count - 1}] runs past the end of the type section",
            Location(source, offset=types_start + 4 * bad),
        )
    return offsets


def _learn(sizes: dict[int, int], info: int, type_id: int, at: int, source: str | None) -> int:
    try:
        sizes[info] = size = record_words(info)
    except KeyError:
        raise BTFError(
            f"type [{type_id}] has unknown kind {(info >> 24) & 0x1F}",
            Location(source, offset=at + 4),
        ) from None
    return size
