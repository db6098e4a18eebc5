""":class:`BTF`: a lazy, indexed view of one BTF blob (base or split).

Opening a blob checks the header and builds the offset index (one fast pass, no object per
type). Types are decoded on first access and cached. Names are found by searching the string
section for the name (C-speed ``bytes.find``), then the types using the offsets found
(:class:`~pybpf.btf._names.NameIndex`), so no name dictionary is built to answer a few
lookups; a process that searches many names gets the hashed name index instead (built once,
kept by :mod:`pybpf.btf.cache`), which answers in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from os import PathLike

from pybpf.btf import _index, layout
from pybpf.btf._decode import Decoder
from pybpf.btf._names import (
    NameIndex,
    SavedIndex,
    build_hashed,
    essential,
    hashed_positions,
    name_key,
)
from pybpf.btf.kinds import ByteOrder, Kind, record_words
from pybpf.btf.types import VOID, Member, Type
from pybpf.errors import BTFError, Location

__all__ = ["BTF"]

_SEARCHES_BEFORE_HASHING = 32  # name searches by scanning before the hashed index is built

_LONG_NAMES = (
    "long",
    "long int",
    "int long",
    "unsigned long",
    "long unsigned",
    "unsigned long int",
    "unsigned int long",
    "long unsigned int",
    "long int unsigned",
    "int unsigned long",
    "int long unsigned",
)


def _c_string(view: memoryview, at: int) -> bytes:
    """The NUL-terminated bytes at ``at`` in ``view`` (a string section, which ends with a
    NUL), read a little at a time."""
    size = 64
    while True:
        chunk = bytes(view[at : at + size])
        end = chunk.find(0)
        if end >= 0 or at + size >= len(view):
            return chunk if end < 0 else chunk[:end]
        size *= 4


class BTF:
    """One parsed BTF blob: ``btf[id]`` is a :mod:`~pybpf.btf.types` value.

    Example::

        vmlinux = BTF.from_path("/sys/kernel/btf/vmlinux")
        (task,) = vmlinux.find("task_struct", Kind.STRUCT)
        for member, bit_offset in vmlinux.iter_members(task): ...

    Args:
        data: the blob (a ``.BTF`` section or a raw file such as ``/sys/kernel/btf/vmlinux``).
            It is not copied; keep it unchanged while in use.
        base: for split BTF (a kernel module's), the BTF it extends; this blob's type ids
            continue after the base's, and its string offsets after the base's strings.
        name: names the section or file in error messages (default ``".BTF"``).
        pointer_size: bytes in a pointer; by default the base's, else guessed as libbpf does
            (from the size of ``long``), else 8. BTF read from an ELF64 file sets 8.
        index: a saved offset index and name arrays (from :mod:`pybpf.btf.cache`); each
            record is still checked against its offsets when decoded.

    Raises:
        BTFError: bad header, sections out of bounds, a malformed string section, a record of
            unknown kind or running past the type section. Type references and name offsets
            are checked when a type is decoded (:meth:`validate` decodes them all).
    """

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        *,
        base: BTF | None = None,
        name: str | None = None,
        pointer_size: int | None = None,
        index: SavedIndex | None = None,
    ) -> None:
        view = memoryview(data).cast("B").toreadonly()
        self.source = name or ".BTF"
        self.base = base
        self._data = view
        self.header = _index.parse_header(view, self.source)
        self.byteorder: ByteOrder = self.header.byteorder
        self.start_id = len(base) if base is not None else 1
        self.start_str_off = base.strings_end if base is not None else 0
        # Strings are read in place: in ``data`` itself when it is ``bytes`` (no copy of
        # vmlinux's 2 MB of strings); else in the view, one string at a time, until a search
        # of the whole section needs ``bytes.find`` and the section is copied (a mapped
        # vmlinux with the cache's hashed name index never is).
        self._blob, self._str_lo, self._str_hi = self._string_section(data, view)
        self._words = _index.type_words(view, self.header)
        offsets: Sequence[int]
        if index is None:
            offsets = _index.scan(self._words, self.start_id, self.header.types_start, self.source)
            self._names = NameIndex(self._words, offsets)
        else:
            offsets, column, referenced, hashed = index
            self._names = NameIndex(
                self._words, offsets, column=column, referenced=referenced, hashed=hashed
            )
        self._offsets = offsets
        self._count = self.start_id + len(offsets)
        self._types: dict[int, Type] = {}
        self._strings: dict[int, str] = {}
        self._found: dict[tuple[str, Kind | None, bool], list[int]] = {}
        self._searches = 0
        self.on_index_names: Callable[[BTF], None] | None = None
        """Called after :meth:`index_names` builds the index (the cache saves it then)."""
        self._pointer_size = pointer_size
        self._align_cache: dict[int, int] = {}
        self._decoder = Decoder(
            self._words, self.header.types_start, self._count, self.string, self.source
        )

    @classmethod
    def from_path(
        cls, path: str | PathLike[str], *, base: BTF | None = None, cache: bool = False
    ) -> BTF:
        """Read BTF from a file: an ELF object's ``.BTF`` section or a raw BTF file.

        With ``cache``, the index of a large raw file (vmlinux) is kept on disk, keyed by the
        content's hash (see :mod:`pybpf.btf.cache`), so reopening it skips the index pass.

        Raises:
            OSError: the file cannot be read.
            ELFError: an ELF file that is malformed.
            BTFError: no ``.BTF`` section, or malformed BTF.
        """
        from pybpf.btf._load import load_path  # noqa: PLC0415 - the loader imports this module

        return load_path(path, base=base, cache=cache)

    def _string_section(
        self, data: bytes | bytearray | memoryview, view: memoryview
    ) -> tuple[bytes | None, int, int]:
        """The string section: ``(data, lo, hi)`` for ``bytes``, else ``(None, lo, hi)``
        in the view (copied on first search, :meth:`_searchable_strings`)."""
        hdr = self.header
        lo, hi = hdr.strings_start, hdr.strings_start + hdr.str_len
        blob = data if isinstance(data, bytes) else None
        where = Location(self.source, offset=hdr.strings_start)
        if self.base is not None and lo == hi:
            return blob, lo, hi
        if lo == hi or view[hi - 1] != 0:
            raise BTFError("string section is empty or does not end with NUL", where)
        if self.base is None and view[lo] != 0:
            raise BTFError("string section does not start with an empty string", where)
        return blob, lo, hi

    def _searchable_strings(self) -> tuple[bytes, int, int]:
        """The string section as ``bytes`` (``bytes.find`` searches it), with its bounds."""
        if self._blob is None:
            lo, hi = self._str_lo, self._str_hi
            self._blob, self._str_lo, self._str_hi = bytes(self._data[lo:hi]), 0, hi - lo
        return self._blob, self._str_lo, self._str_hi

    def __repr__(self) -> str:
        split = f" on {self.base.source}" if self.base is not None else ""
        return f"<BTF {self.source}{split}: types {self.start_id}..{self._count - 1}>"

    # -- the index ---------------------------------------------------------------------------
    def __copy__(self) -> BTF:
        return self  # immutable once parsed: specs that copy themselves share it

    def __deepcopy__(self, memo: dict[int, object]) -> BTF:
        return self

    def __len__(self) -> int:
        """Number of type ids, counting void (0) and a base's types: ids are ``range(len)``."""
        return self._count

    @property
    def strings_end(self) -> int:
        """The first string offset past this blob's strings (a split BTF's strings start here)."""
        return self.start_str_off + self._str_hi - self._str_lo

    @property
    def data(self) -> memoryview:
        """The blob this BTF was parsed from."""
        return self._data

    @property
    def strings(self) -> bytes:
        """This blob's own string section (a copy)."""
        blob, lo, hi = self._searchable_strings()
        return blob[lo:hi]

    @property
    def offsets(self) -> Sequence[int]:
        """The offset index: the word index in the type section of each own type, by id."""
        return self._offsets

    @property
    def names(self) -> NameIndex:
        """The name lookup arrays (what :mod:`pybpf.btf.cache` stores)."""
        return self._names

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, int) and 0 <= type_id < self._count

    def __getitem__(self, type_id: int) -> Type:
        """The type with this id (decoded on first access).

        Raises:
            KeyError: no such id.
            BTFError: the record is malformed (a reference or name out of range).
        """
        try:
            return self._types[type_id]
        except KeyError:
            pass
        rel = type_id - self.start_id
        if 0 <= rel < len(self._offsets):
            return self._decode(type_id, rel)
        if type_id == 0:
            return VOID
        if self.base is None or type_id < 0 or rel >= 0:
            raise KeyError(type_id)
        return self.base[type_id]

    def get(self, type_id: int) -> Type | None:
        """The type with this id, or ``None`` when there is none."""
        try:
            return self[type_id]
        except KeyError:
            return None

    def _decode(self, type_id: int, rel: int) -> Type:
        offs = self._offsets
        o = offs[rel]
        t = self._decoder.decode(o, type_id)
        end = offs[rel + 1] if rel + 1 < len(offs) else len(self._words)
        if end - o != record_words(self._words[o + 1]):
            raise self._decoder.error(f"type [{type_id}] does not end where the next begins", o)
        self._types[type_id] = t
        return t

    def _record(self, type_id: int) -> int:
        """The word index of an own type's record (``KeyError`` for other ids)."""
        rel = type_id - self.start_id
        if not 0 <= rel < len(self._offsets):
            raise KeyError(type_id)
        return self._offsets[rel]

    def iter_types(self, *, include_base: bool = False) -> Iterator[tuple[int, Type]]:
        """``(id, type)`` for this blob's types in id order (first the base's, if asked)."""
        if include_base and self.base is not None:
            yield from self.base.iter_types(include_base=True)
        for type_id in range(self.start_id, self._count):
            yield type_id, self[type_id]

    def validate(self) -> None:
        """Decode every type, so that a malformed record raises now rather than on use.

        Raises:
            BTFError: the first malformed record.
        """
        for type_id in range(self.start_id, self._count):
            self[type_id]

    def kind_of(self, type_id: int) -> Kind:
        """The kind of a type, read from its record without decoding it.

        Raises:
            KeyError: no such id.
        """
        if type_id < self.start_id and type_id >= 0:
            return Kind.UNKN if type_id == 0 else self._base().kind_of(type_id)
        return Kind((self._words[self._record(type_id) + 1] >> 24) & 0x1F)

    def name_of(self, type_id: int) -> str:
        """The name of a type (``""`` for anonymous types and void).

        Raises:
            KeyError: no such id.
            BTFError: its name offset is outside the string sections.
        """
        if type_id < self.start_id and type_id >= 0:
            return "" if type_id == 0 else self._base().name_of(type_id)
        return self._decoder.name(self._record(type_id))

    def _base(self) -> BTF:
        if self.base is None:
            raise KeyError(0)
        return self.base

    # -- strings -----------------------------------------------------------------------------
    def string(self, offset: int) -> str:
        """The NUL-terminated string at ``offset`` (a split BTF's offsets span the base's).

        Undecodable bytes come back as surrogates (``errors="surrogateescape"``).

        Raises:
            KeyError: the offset is outside the string sections.
        """
        try:
            return self._strings[offset]
        except KeyError:
            pass
        rel = offset - self.start_str_off
        if rel < 0:
            if self.base is None:
                raise KeyError(offset)
            return self.base.string(offset)
        at = self._str_lo + rel
        if at >= self._str_hi:
            raise KeyError(offset)
        blob = self._blob
        raw = _c_string(self._data, at) if blob is None else blob[at : blob.index(0, at)]
        text = raw.decode("utf-8", "surrogateescape")
        self._strings[offset] = text
        return text

    def _string_offsets(self, text: bytes, *, flavors: bool = False) -> list[int]:
        """Offsets (in this blob and its bases) of the strings equal to ``text`` (suffixes of
        longer strings included) or, with ``flavors``, whose essential name is ``text``."""
        found = self.base._string_offsets(text, flavors=flavors) if self.base is not None else []
        blob, lo, hi = self._searchable_strings()
        rebase = self.start_str_off - lo
        if not flavors:
            pattern = text + b"\0"
            at = blob.find(pattern, lo, hi)
            while at >= 0:
                found.append(rebase + at)
                at = blob.find(pattern, at + 1, hi)
            return found
        # One pass for both `text\0` and `text___...`, the latter kept if libbpf's essential
        # name of the whole string is `text`.
        import re  # noqa: PLC0415 - only flavoured names need a pattern

        name = text.decode("utf-8", "surrogateescape")
        for m in re.compile(re.escape(text) + b"(?:\0|___)").finditer(blob, lo, hi):
            off = rebase + m.start()
            if m.group().endswith(b"\0") or essential(self.string(off)) == name:
                found.append(off)
        return found

    # -- names -------------------------------------------------------------------------------
    def find(self, name: str, kind: Kind | None = None) -> list[int]:
        """Ids of every type called ``name`` (of ``kind``, if given), ascending; types of a
        base come first. Anonymous types are not found by ``""``."""
        return list(self._find(name, kind, flavors=False))

    def find_by_name_kind(self, name: str, kind: Kind) -> int | None:
        """The lowest id of a type called ``name`` of ``kind`` (libbpf's
        ``btf__find_by_name_kind``), ``0`` for ``"void"``, or ``None``."""
        if name == "void":
            return 0
        ids = self._find(name, kind, flavors=False)
        return ids[0] if ids else None

    def find_flavors(self, essential_name: str, kind: Kind | None = None) -> list[int]:
        """Ids of types named ``essential_name`` or ``essential_name___<flavor>``: the CO-RE
        candidates of a local type whose name without its ``___flavor`` suffix is
        ``essential_name`` (libbpf's ``bpf_core_add_cands``)."""
        return list(self._find(essential_name, kind, flavors=True))

    def index_names(self) -> None:
        """Build the hashed name index now (~0.1 s for vmlinux), so that every later lookup
        takes microseconds instead of a scan of the string section. Done by itself after
        a few dozen lookups; :mod:`pybpf.btf.cache` keeps the index it finds built."""
        if self._names.hashed is None:
            self._names.hashed = build_hashed(self._names.column, self.string)
            if self.on_index_names is not None:
                self.on_index_names(self)

    def _find(self, name: str, kind: Kind | None, flavors: bool) -> list[int]:
        key = (name, kind, flavors)
        found = self._found.get(key)
        if found is None:
            found = self._search(name, flavors) if name else []
            if kind is not None:
                found = [i for i in found if self.kind_of(i) == kind]
            self._found[key] = found
        return found

    def _search(self, name: str, flavors: bool) -> list[int]:
        """Ids (base first) named ``name`` or, with ``flavors``, of essential name ``name``."""
        ids = self.base._find(name, None, flavors) if self.base is not None else []
        self._searches += 1
        if self._searches > _SEARCHES_BEFORE_HASHING:
            self.index_names()
        hashed = self._names.hashed
        if hashed is not None:
            match = essential if flavors else str
            own = [
                i
                for i in (self.start_id + p for p in hashed_positions(hashed, name_key(name)))
                if match(self.name_of(i)) == name
            ]
        else:
            offsets = self._string_offsets(name.encode("utf-8", "surrogateescape"), flavors=flavors)
            own = [self.start_id + i for i in self._names.positions(offsets)]
        return ids + sorted(own)

    # -- layout ------------------------------------------------------------------------------
    @property
    def pointer_size(self) -> int:
        """Bytes in a pointer: as set, else the base's, else the size of ``long``, else 8."""
        if self._pointer_size is None:
            self._pointer_size = self._guess_pointer_size()
        return self._pointer_size

    def _guess_pointer_size(self) -> int:
        if self.base is not None:
            return self.base.pointer_size
        candidates = []
        for name in _LONG_NAMES:
            for type_id in self.find(name, Kind.INT):
                size = layout.resolve_size(self, type_id) if type_id else -1
                if size in (4, 8):
                    candidates.append((type_id, size))
        return min(candidates)[1] if candidates else 8

    def skip_mods_and_typedefs(self, type_id: int) -> tuple[int, Type]:
        """Follow typedefs and modifiers (const, volatile, restrict, type tags) from a type;
        returns the ``(id, type)`` reached.

        Raises:
            KeyError: no such id.
            BTFError: the chain loops.
        """
        return layout.skip_mods_and_typedefs(self, type_id)

    def sizeof(self, type_id: int) -> int:
        """The size of a type in bytes (libbpf's ``btf__resolve_size``).

        Raises:
            KeyError: no such id.
            BTFError: the type has no size (void, a forward declaration, a function), or its
                chain of references is deeper than 32.
        """
        return layout.sizeof(self, type_id)

    def alignof(self, type_id: int) -> int:
        """The alignment of a type in bytes (libbpf's ``btf__align_of``: 1 for a struct whose
        layout shows it is packed).

        Raises:
            KeyError: no such id.
            BTFError: the type has no alignment (void, a forward declaration, a function).
        """
        return layout.alignof(self, type_id)

    def iter_members(self, type_id: int, *, flatten: bool = False) -> Iterator[tuple[Member, int]]:
        """``(member, bit offset from the start of the type)`` of a struct or union (after
        typedefs and modifiers); with ``flatten``, the members of anonymous struct/union
        members in their place, as C name lookup sees them.

        Raises:
            BTFError: the type is not a struct or union.
        """
        return layout.iter_members(self, type_id, flatten=flatten)

    # -- encoding ----------------------------------------------------------------------------
    def encode(self, byteorder: ByteOrder | None = None) -> bytes:
        """This blob's types encoded again (the string section is kept, extended if needed).

        For BTF that clang or pahole wrote, ``BTF(x).encode() == x``.
        """
        from pybpf.btf.encode import encode  # noqa: PLC0415 - the encoder imports this module

        types = [t for _, t in self.iter_types()]
        order = byteorder or self.byteorder
        return encode(types, byteorder=order, base=self.base, strings=self.strings)

    def replaced(self, changes: Mapping[int, Type]) -> BTF:
        """A new BTF with some of this blob's types replaced (``{id: new type}``).

        This is how BTF is sanitised for an older kernel: the kinds it lacks are swapped for
        ones it has, keeping every id.

        Raises:
            KeyError: an id that is not one of this blob's own.
            ValueError: a new type that cannot be encoded.
        """
        from pybpf.btf.encode import encode  # noqa: PLC0415

        for type_id in changes:
            self._record(type_id)
        types = [changes.get(i, t) for i, t in self.iter_types()]
        data = encode(types, byteorder=self.byteorder, base=self.base, strings=self.strings)
        return BTF(data, base=self.base, name=self.source, pointer_size=self._pointer_size)
