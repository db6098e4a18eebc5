"""The one exception hierarchy of pybpf.

Every error pybpf raises on purpose is a :class:`BPFError`. Input that cannot be parsed is a
:class:`ParseError` that says where; a kernel refusal is a :class:`SyscallError` (an
:class:`OSError` carrying the errno and the bpf(2) command); a refused program is a
:class:`VerifierError` carrying the whole verifier log. No ``struct.error``, ctypes error or
bare ``OSError`` reaches a user: lower-level failures are re-raised as one of these, chained
with ``raise ... from``.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "AssemblerError",
    "BPFError",
    "BTFError",
    "ClosedError",
    "CodecError",
    "CompileError",
    "DecodeError",
    "ELFError",
    "Location",
    "NotSupportedError",
    "ParseError",
    "SpecError",
    "SyscallError",
    "VMError",
    "VerifierError",
]


class BPFError(Exception):
    """Root of every exception pybpf raises on purpose.

    Catch this to handle any pybpf failure; catch a subclass to handle one kind.
    """


class Location:
    """Where in an input a parse error happened.

    Text inputs have a 1-based ``line`` and ``column``; binary inputs a byte ``offset`` (and,
    for instruction streams, the instruction index ``insn``); ``source`` names the file or
    section when known. Any of them may be ``None``.
    """

    __slots__ = ("column", "insn", "line", "offset", "source")

    def __init__(
        self,
        source: str | None = None,
        *,
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
        insn: int | None = None,
    ) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.offset = offset
        self.insn = insn

    def __str__(self) -> str:
        parts: list[str] = []
        if self.source is not None:
            parts.append(self.source)
        if self.line is not None:
            parts.append(f"line {self.line}")
            if self.column is not None:
                parts.append(f"column {self.column}")
        if self.insn is not None:
            parts.append(f"insn {self.insn}")
        if self.offset is not None:
            parts.append(f"offset {self.offset:#x}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Location({self})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Location):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, k) for k in self.__slots__))


class ParseError(BPFError, ValueError):
    """Input that pybpf could not parse: assembly text, instruction bytes, ELF, BTF.

    ``location`` says where (line and column for text, byte offset for binary input);
    ``reason`` is the message without the location. Subclasses name the format.
    """

    def __init__(self, reason: str, location: Location | None = None) -> None:
        self.reason = reason
        self.location = location or Location()
        where = str(self.location)
        super().__init__(f"{where}: {reason}" if where else reason)


class AssemblerError(ParseError):
    """Assembly text that does not assemble: an unknown mnemonic, a bad register or operand,
    a number out of range, an unknown or duplicate label. Has ``line`` and ``column``."""


class DecodeError(ParseError):
    """Instruction bytes that do not decode: truncated input, an unknown opcode, a reserved
    field that is not zero, a register above r10, a jump into the middle of an ``lddw``.
    Has the byte ``offset`` and instruction index ``insn``."""


class ELFError(ParseError):
    """An ELF object that is truncated, corrupted, or not a 64-bit eBPF object.
    Names the section (when known) and the byte offset."""


class BTFError(ParseError):
    """BTF or .BTF.ext data that is truncated or inconsistent (bad magic, type ids out of
    range, strings outside the string section). Names the section and the byte offset."""


class CompileError(ParseError):
    """Restricted Python that the pybpf compiler cannot translate; points at the source
    line and column of the offending construct."""


class VMError(BPFError):
    """A program the user-space VM refused or stopped: a memory access outside the regions
    the program may touch, an unknown helper, the instruction budget exhausted, a failed
    load-time check. Carries ``pc``, the instruction and, for a memory fault, the ``address``
    when known."""

    address: int | None

    def __init__(
        self,
        reason: str,
        *,
        pc: int | None = None,
        insn: object = None,
        address: int | None = None,
    ) -> None:
        self.reason = reason
        self.pc = pc
        self.insn = insn
        self.address = address
        where = f"pc {pc}: " if pc is not None else ""
        shown = f" ({insn})" if insn is not None else ""
        super().__init__(f"{where}{reason}{shown}")


class NotSupportedError(BPFError):
    """A feature the running kernel (or this machine) does not have.

    Unlike :class:`SyscallError` it is not a refusal of a valid request: the feature is
    absent. ``feature`` names it; ``min_kernel`` is the first Linux version with it, when known.
    """

    def __init__(self, feature: str, min_kernel: str | None = None, detail: str = "") -> None:
        self.feature = feature
        self.min_kernel = min_kernel
        msg = f"{feature} is not supported"
        if min_kernel:
            msg += f" (requires Linux >= {min_kernel})"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


class CodecError(BPFError, TypeError, ValueError):
    """A key or value that cannot be encoded for a map (kernel or user-space): bytes of the
    wrong size (the message names the expected and the given size), an integer out of range,
    or a type the map's codec does not take. Raised before any system call; both a
    ``TypeError`` and a ``ValueError``."""


class SpecError(BPFError, ValueError):
    """A map or program spec that cannot be created or loaded, found before asking the kernel:
    a name that references no map, an unresolved label, a size the map type forbids, a pinned
    map that does not match its spec."""


class ClosedError(BPFError, ValueError):
    """An operation on a map, program, link or reader that was already closed."""


class SyscallError(BPFError, OSError):
    """The kernel refused a bpf(2) (or related) call.

    An :class:`OSError`: ``errno`` is the kernel's error number, ``command`` the bpf(2)
    command name (``BPF_MAP_CREATE`` …), ``hint`` a suggestion where one helps.
    """

    def __init__(self, command: str, err: int, hint: str = "") -> None:
        self.command = command
        self.hint = hint
        name = _errno.errorcode.get(err, str(err))
        msg = f"{command}: {name} ({os.strerror(err)})"
        if hint:
            msg += f"; {hint}"
        OSError.__init__(self, err, msg)

    def __str__(self) -> str:
        return str(self.strerror)


class VerifierError(SyscallError):
    """The verifier refused a program. ``log`` keeps the whole verifier log; ``str()`` shows a
    short summary (the last lines, and the failing instruction with its source line when the
    program has line info)."""

    def __init__(self, command: str, err: int, log: str, summary: str = "") -> None:
        self.log = log
        self.summary = summary or _tail(log)
        super().__init__(command, err)

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n{self.summary}" if self.summary else base


def _tail(log: str, lines: int = 3) -> str:
    kept = [ln for ln in log.strip().splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])
