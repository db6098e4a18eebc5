"""ELF64 record layouts and constants, declared once as data.

Each record is a :class:`Layout`: its fields in file order with a :mod:`struct` code. The byte
order is chosen in one place (:meth:`Layout.struct`); nothing else spells ``<`` or ``>``.
Reference: the System V gABI, "Object Files" (https://www.sco.com/developers/gabi/latest/
ch4.intro.html), and ``/usr/include/elf.h``; BPF relocations: the kernel's
Documentation/bpf/llvm_reloc.rst.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Literal

    ByteOrder = Literal["little", "big"]
else:
    ByteOrder = str  # (a Literal of str for type checkers)

__all__ = [
    "EHDR",
    "ELFCLASS64",
    "ELFDATA2LSB",
    "ELFDATA2MSB",
    "ELFMAG",
    "EM",
    "ET",
    "REL",
    "RELA",
    "R_BPF",
    "SHDR",
    "SHF",
    "SHN",
    "SHT",
    "STB",
    "STT",
    "STV",
    "SYM",
    "WORD",
    "ByteOrder",
    "Layout",
]


_ORDER_CHAR = {"little": "<", "big": ">"}


class Layout:
    """A fixed-size ELF record: named fields in file order, each with a :mod:`struct` code.

    ``struct(byteorder)`` gives the compiled :class:`struct.Struct` for one byte order; its
    ``unpack`` yields the fields in the order of ``fields``.
    """

    __slots__ = ("_offsets", "_structs", "fields", "name", "size")

    def __init__(self, name: str, fields: tuple[tuple[str, str], ...]) -> None:
        self.name = name
        self.fields = tuple(field for field, _ in fields)
        codes = "".join(code for _, code in fields)
        self._structs = {order: struct.Struct(ch + codes) for order, ch in _ORDER_CHAR.items()}
        self.size = self._structs["little"].size
        self._offsets = {
            field: struct.calcsize("<" + "".join(code for _, code in fields[:i]))
            for i, (field, _) in enumerate(fields)
        }

    def struct(self, byteorder: ByteOrder) -> struct.Struct:
        """The compiled struct for ``byteorder`` (``"little"`` or ``"big"``)."""
        return self._structs[byteorder]

    def offset(self, field: str) -> int:
        """The byte offset of ``field`` in the record (for error locations)."""
        return self._offsets[field]

    def __repr__(self) -> str:
        return f"Layout({self.name}, {self.size} bytes)"


# e_ident: the first 16 bytes, byte-order independent.
#
#   0      4        5         6         7          8            16
#   | 7f 'E' 'L' 'F' | class | data | version | osabi | abiversion, pad |
ELFMAG = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
ELFDATA2MSB = 2
EI_CLASS = 4
EI_DATA = 5

#   0          16       18         20         24        32        40        48
#   | e_ident  | e_type | e_machine| e_version| e_entry | e_phoff | e_shoff |
#   48        52         54            56         58            60         62           64
#   | e_flags | e_ehsize | e_phentsize | e_phnum | e_shentsize | e_shnum | e_shstrndx |
EHDR = Layout(
    "Elf64_Ehdr",
    (
        ("e_ident", "16s"),
        ("e_type", "H"),
        ("e_machine", "H"),
        ("e_version", "I"),
        ("e_entry", "Q"),
        ("e_phoff", "Q"),
        ("e_shoff", "Q"),
        ("e_flags", "I"),
        ("e_ehsize", "H"),
        ("e_phentsize", "H"),
        ("e_phnum", "H"),
        ("e_shentsize", "H"),
        ("e_shnum", "H"),
        ("e_shstrndx", "H"),
    ),
)

#   0         4         8          16        24          32        40        44        48
#   | sh_name | sh_type | sh_flags | sh_addr | sh_offset | sh_size | sh_link | sh_info |
#   48             56           64
#   | sh_addralign | sh_entsize |
SHDR = Layout(
    "Elf64_Shdr",
    (
        ("sh_name", "I"),
        ("sh_type", "I"),
        ("sh_flags", "Q"),
        ("sh_addr", "Q"),
        ("sh_offset", "Q"),
        ("sh_size", "Q"),
        ("sh_link", "I"),
        ("sh_info", "I"),
        ("sh_addralign", "Q"),
        ("sh_entsize", "Q"),
    ),
)

#   0         4                    5          6          8          16        24
#   | st_name | st_info (bind:4 type:4) | st_other | st_shndx | st_value | st_size |
#   (st_other: visibility in the low 2 bits)
SYM = Layout(
    "Elf64_Sym",
    (
        ("st_name", "I"),
        ("st_info", "B"),
        ("st_other", "B"),
        ("st_shndx", "H"),
        ("st_value", "Q"),
        ("st_size", "Q"),
    ),
)

#   0          8                         16          24
#   | r_offset | r_info (sym:32 type:32) | r_addend |   (r_addend: RELA only, signed)
# SHT_SYMTAB_SHNDX: one 32-bit section index per symbol (for st_shndx == SHN_XINDEX).
WORD = Layout("Elf64_Word", (("word", "I"),))

REL = Layout("Elf64_Rel", (("r_offset", "Q"), ("r_info", "Q")))
RELA = Layout("Elf64_Rela", (("r_offset", "Q"), ("r_info", "Q"), ("r_addend", "q")))


class ET(IntEnum):
    """Object file type (``e_type``): eBPF objects are ``REL``."""

    NONE = 0
    REL = 1
    EXEC = 2
    DYN = 3
    CORE = 4


class EM(IntEnum):
    """Machine (``e_machine``). Old LLVM wrote ``NONE`` for eBPF objects (libbpf accepts it)."""

    NONE = 0
    SPARCV9 = 43
    PPC64 = 21
    S390 = 22
    ARM = 40
    X86_64 = 62
    AARCH64 = 183
    RISCV = 243
    BPF = 247
    LOONGARCH = 258


class SHT(IntEnum):
    """Section type (``sh_type``), including the LLVM and GNU extensions seen in objects."""

    NULL = 0
    PROGBITS = 1
    SYMTAB = 2
    STRTAB = 3
    RELA = 4
    HASH = 5
    DYNAMIC = 6
    NOTE = 7
    NOBITS = 8
    REL = 9
    SHLIB = 10
    DYNSYM = 11
    INIT_ARRAY = 14
    FINI_ARRAY = 15
    PREINIT_ARRAY = 16
    GROUP = 17
    SYMTAB_SHNDX = 18
    RELR = 19
    LLVM_ODRTAB = 0x6FFF4C00
    LLVM_LINKER_OPTIONS = 0x6FFF4C01
    LLVM_ADDRSIG = 0x6FFF4C03
    LLVM_DEPENDENT_LIBRARIES = 0x6FFF4C04
    LLVM_SYMPART = 0x6FFF4C05
    LLVM_PART_EHDR = 0x6FFF4C06
    LLVM_PART_PHDR = 0x6FFF4C07
    LLVM_BB_ADDR_MAP = 0x6FFF4C0A
    LLVM_CALL_GRAPH_PROFILE = 0x6FFF4C09
    LLVM_OFFLOADING = 0x6FFF4C0B
    LLVM_LTO = 0x6FFF4C0C
    GNU_ATTRIBUTES = 0x6FFFFFF5
    GNU_HASH = 0x6FFFFFF6
    GNU_LIBLIST = 0x6FFFFFF7
    GNU_VERDEF = 0x6FFFFFFD
    GNU_VERNEED = 0x6FFFFFFE
    GNU_VERSYM = 0x6FFFFFFF


class SHF(IntFlag):
    """Section flags (``sh_flags``)."""

    WRITE = 0x1
    ALLOC = 0x2
    EXECINSTR = 0x4
    MERGE = 0x10
    STRINGS = 0x20
    INFO_LINK = 0x40
    LINK_ORDER = 0x80
    OS_NONCONFORMING = 0x100
    GROUP = 0x200
    TLS = 0x400
    COMPRESSED = 0x800
    GNU_RETAIN = 0x200000
    EXCLUDE = 0x80000000


class SHN(IntEnum):
    """Special section indexes (``st_shndx``, ``e_shstrndx``)."""

    UNDEF = 0
    LORESERVE = 0xFF00
    ABS = 0xFFF1
    COMMON = 0xFFF2
    XINDEX = 0xFFFF


class STT(IntEnum):
    """Symbol type: the low 4 bits of ``st_info``."""

    NOTYPE = 0
    OBJECT = 1
    FUNC = 2
    SECTION = 3
    FILE = 4
    COMMON = 5
    TLS = 6
    GNU_IFUNC = 10


class STB(IntEnum):
    """Symbol binding: the high 4 bits of ``st_info``."""

    LOCAL = 0
    GLOBAL = 1
    WEAK = 2
    GNU_UNIQUE = 10


class STV(IntEnum):
    """Symbol visibility: the low 2 bits of ``st_other``."""

    DEFAULT = 0
    INTERNAL = 1
    HIDDEN = 2
    PROTECTED = 3


class R_BPF(IntEnum):
    """eBPF relocation types (the low 32 bits of ``r_info``), as LLVM and the kernel name them.

    Members keep their full names (``R_BPF.R_BPF_64_64``) because the suffixes start with a
    digit; :mod:`pybpf.elf` also exports each as a module constant (``R_BPF_64_64``).
    See https://docs.kernel.org/bpf/llvm_reloc.html.
    """

    R_BPF_NONE = 0
    R_BPF_64_64 = 1
    """``lddw`` immediate (64 bits split over two slots): maps, globals."""
    R_BPF_64_ABS64 = 2
    """A 64-bit data word (DWARF, .maps initialisers)."""
    R_BPF_64_ABS32 = 3
    """A 32-bit data word (DWARF, BTF)."""
    R_BPF_64_NODYLD32 = 4
    """A 32-bit data word that the dynamic loader leaves alone (.BTF, .BTF.ext)."""
    R_BPF_64_32 = 10
    """A call's 32-bit immediate (bpf-to-bpf calls, kfuncs)."""
