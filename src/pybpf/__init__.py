"""pybpf: a pure-Python eBPF toolkit.

Write eBPF (assembly, restricted Python, clang/Aya objects), load it through raw bpf(2) with
libbpf's conventions, attach it, talk to it, and run it in a user-space VM.

The public API is curated here and in the subpackages' ``__all__``; modules whose name starts
with an underscore are private.
"""

from __future__ import annotations

from pybpf import errors
from pybpf.errors import (
    AssemblerError,
    BPFError,
    BTFError,
    ClosedError,
    CodecError,
    CompileError,
    DecodeError,
    ELFError,
    NotSupportedError,
    ParseError,
    SpecError,
    SyscallError,
    VerifierError,
    VMError,
)

__version__ = "0.1.0"

__all__ = [
    "AssemblerError",
    "BPFError",
    "BTFError",
    "ClosedError",
    "CodecError",
    "CompileError",
    "DecodeError",
    "ELFError",
    "NotSupportedError",
    "ParseError",
    "SpecError",
    "SyscallError",
    "VMError",
    "VerifierError",
    "__version__",
    "errors",
]
