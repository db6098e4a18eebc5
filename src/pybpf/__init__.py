"""pybpf: a pure-Python eBPF toolkit.

Write eBPF (assembly, restricted Python, clang/Aya objects), load it through raw bpf(2) with
libbpf's conventions, attach it, talk to it, and run it in a user-space VM.

The public API is curated here and in the subpackages' ``__all__``; modules whose name starts
with an underscore are private.
"""

from __future__ import annotations

from pybpf import errors
from pybpf._util import lazy_exports
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

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf._load import load

# ``load`` brings the loader and the kernel layer: imported on first use, so that ``import
# pybpf`` (and every ``pybpf`` command, which imports this package first) stays light.
__getattr__ = lazy_exports(__name__, {"pybpf._load": "load"})

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
    "load",
]
