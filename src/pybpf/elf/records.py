"""The value types an :class:`~pybpf.elf.ELFFile` yields: sections, symbols, relocations.

Fields are the ELF fields with the ``sh_``/``st_``/``r_`` prefix dropped and the packed ones
split (``st_info`` into ``type`` and ``bind``; ``r_info`` into ``sym_index`` and ``type``).
Known enum values come back as the enum member (``SHT.PROGBITS``), unknown ones as plain ints.
"""

from __future__ import annotations

from pybpf._records import MISSING, field, immutable, record
from pybpf.elf._layout import R_BPF, SHT, STB, STT, STV
from pybpf.errors import ELFError, Location

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    _T = TypeVar("_T")

__all__ = ["FileView", "Relocation", "Section", "Symbol"]


class FileView:
    """The bytes of the file a :class:`Section` came from (a read-only memoryview).

    A wrapper rather than a bare memoryview so that sections stay copyable, picklable and
    usable with :func:`dataclasses.asdict`: copies share the view, pickles carry the bytes.
    """

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view

    def __copy__(self) -> FileView:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FileView:
        return self

    def __reduce__(self) -> tuple[Callable[[bytes], FileView], tuple[bytes]]:
        return _unpickle_file_view, (bytes(self.view),)

    def __repr__(self) -> str:
        return f"<FileView {len(self.view)} bytes>"


def _unpickle_file_view(data: bytes) -> FileView:
    return FileView(memoryview(data))


_NO_FILE = FileView(memoryview(b""))


@immutable
class Section:
    """One section header, with lazy, bounds-checked access to its contents.

    ``type`` is an :class:`SHT` member when known; ``flags`` a plain int to test against
    :class:`SHF` (``sec.flags & SHF.EXECINSTR``). ``link`` and ``info`` are the raw
    ``sh_link``/``sh_info`` (for a relocation section: the symbol table and the target section).
    """

    name: str
    index: int
    type: SHT | int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int
    file: FileView = field(default=_NO_FILE, repr=False, compare=False)
    """The file's bytes; :attr:`data` is a slice of them (none for a hand-made section)."""

    @property
    def data(self) -> memoryview:
        """The section's bytes: a read-only view into the file, empty for ``SHT_NOBITS``.

        Raises:
            ELFError: the section's ``sh_offset``/``sh_size`` run past the end of the file.
        """
        view = self.file.view
        if self.type == SHT.NOBITS:
            return view[0:0]
        end = self.offset + self.size
        if end > len(view):
            raise ELFError(
                f"section contents ({self.size:#x} bytes) run past the end of the file "
                f"({len(view):#x} bytes)",
                Location(self.name or f"section {self.index}", offset=self.offset),
            )
        return view[self.offset : end]


@immutable
class Symbol:
    """One symbol table entry. ``index`` is its position in the table (0 is the null symbol).

    ``shndx`` is the section it is defined in, or an :class:`SHN` member (``SHN.UNDEF``,
    ``SHN.ABS``, ``SHN.COMMON``); extended indexes (``SHN_XINDEX``) are already resolved.
    Section symbols (``STT.SECTION``) usually have an empty ``name``, as in the file.
    """

    name: str
    value: int
    size: int
    type: STT | int
    bind: STB | int
    visibility: STV
    shndx: int
    index: int


@immutable
class Relocation:
    """One relocation entry, with its symbol resolved.

    ``offset`` is the byte offset in the section it applies to; ``type`` an :class:`R_BPF`
    member for eBPF objects (a plain int for other machines or unknown types); ``addend`` is
    0 for ``SHT_REL`` entries (eBPF objects keep the addend in the instruction).
    """

    offset: int
    type: R_BPF | int
    sym_index: int
    symbol: Symbol
    addend: int = 0


def _fast_constructor(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of ``cls`` (a frozen slotted record) about twice as fast.

    A frozen record sets each field through ``object.__setattr__``; that dominates the
    cost of decoding thousands of symbols and relocations. The returned callable builds a
    mutable twin with the same slots (plain attribute stores), then makes it a ``cls``
    instance by ``__class__`` assignment, which CPython allows between identical slot
    layouts. The result is an ordinary, frozen ``cls``. Where the interpreter refuses the
    assignment, ``cls`` itself is returned.
    """

    def become(self: Any) -> None:
        self.__class__ = cls

    annotations: dict[str, object] = {}
    namespace: dict[str, object] = {"__annotations__": annotations, "__post_init__": become}
    for f in getattr(cls, "__record_fields__", ()):
        annotations[f.name] = f.type
        if f.default is not MISSING:
            namespace[f.name] = f.default
    namespace["__doc__"] = f"A mutable {cls.__name__}."
    twin: Any = record(type(f"_Mutable{cls.__name__}", (), namespace), slots=True, eq=False)
    try:
        probe = twin(*[None] * len(annotations))
    except TypeError:
        return cls
    made: Callable[..., _T] = twin
    return made if type(probe) is cls else cls


new_section = _fast_constructor(Section)
new_symbol = _fast_constructor(Symbol)
new_relocation = _fast_constructor(Relocation)
