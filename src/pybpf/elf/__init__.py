"""The ELF layer: a sans-I/O, lazy reader of ELF64 eBPF objects in either byte order.

Example::

    from pybpf.elf import ELFFile, SHT

    elf = ELFFile.from_path("prog.bpf.o")
    for sec in elf.iter_sections(SHT.PROGBITS):
        print(sec.name, len(sec.data), len(elf.relocations(sec)))

Pure: bytes in, values out; only :meth:`ELFFile.from_path` touches the file system.
"""

from __future__ import annotations

from pybpf.elf._layout import EM, ET, R_BPF, SHF, SHN, SHT, STB, STT, STV
from pybpf.elf.file import ELFFile
from pybpf.elf.records import Relocation, Section, Symbol

R_BPF_NONE = R_BPF.R_BPF_NONE
R_BPF_64_64 = R_BPF.R_BPF_64_64
R_BPF_64_ABS64 = R_BPF.R_BPF_64_ABS64
R_BPF_64_ABS32 = R_BPF.R_BPF_64_ABS32
R_BPF_64_NODYLD32 = R_BPF.R_BPF_64_NODYLD32
R_BPF_64_32 = R_BPF.R_BPF_64_32

__all__ = [
    "EM",
    "ET",
    "R_BPF",
    "R_BPF_64_32",
    "R_BPF_64_64",
    "R_BPF_64_ABS32",
    "R_BPF_64_ABS64",
    "R_BPF_64_NODYLD32",
    "R_BPF_NONE",
    "SHF",
    "SHN",
    "SHT",
    "STB",
    "STT",
    "STV",
    "ELFFile",
    "Relocation",
    "Section",
    "Symbol",
]
