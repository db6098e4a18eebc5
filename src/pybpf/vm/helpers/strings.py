"""String helpers: ``trace_printk`` (into :mod:`logging`), ``snprintf``, ``strncmp``.

Formats follow the kernel's ``bpf_bprintf_prepare``: ``%d %i %u %x %X %o %c %s %%`` with
flags, width, precision and ``l``/``ll``/``z`` (64-bit; without them an integer is 32-bit),
and the pointer forms ``%p %pK %px %pB %pi4 %pI4 %pi6 %pI6 %pks %pus``.
"""

from __future__ import annotations

import errno
import ipaddress
import re

from pybpf._util import s32, s64
from pybpf.errors import VMError
from pybpf.vm._code import HelperFn
from pybpf.vm.env import Env

__all__ = ["STRING_HELPERS", "bprintf"]

MAX_STR = 4096
_SPEC = re.compile(
    rb"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?:\.(?P<prec>\d+))?"
    rb"(?P<len>ll|l|z|hh|h)?(?P<conv>[diouxXcs%]|p(?:[iI][46]|ks|us|[KxB])?)"
)


def bprintf(env: Env, fmt: bytes, args: list[int]) -> bytes:
    """``fmt`` formatted with ``args`` (u64 values; ``%s`` and ``%p…`` read VM memory).

    Raises:
        VMError: a bad conversion, too few arguments, or an unreadable string argument.
    """
    out = bytearray()
    pos = argi = 0
    while True:
        at = fmt.find(b"%", pos)
        if at < 0:
            out += fmt[pos:]
            return bytes(out)
        out += fmt[pos:at]
        m = _SPEC.match(fmt, at)
        if m is None:
            raise VMError(f"unsupported format at {fmt[at : at + 4]!r}")
        pos = m.end()
        if m["conv"] == b"%":
            out += b"%"
            continue
        if argi >= len(args):
            raise VMError("format needs more arguments than given")
        out += _convert(env, m, args[argi])
        argi += 1


def _convert(env: Env, m: re.Match[bytes], arg: int) -> bytes:
    conv = m["conv"].decode()
    spec = "%" + (m["flags"] + m["width"]).decode()
    if m["prec"] is not None:
        spec += "." + m["prec"].decode()
    if conv == "s":
        return (spec + "s").encode() % env.mem.read_cstr(arg, MAX_STR)
    if conv.startswith("p"):
        return (spec + "s").encode() % _pointer(env, conv, arg)
    if conv == "c":
        return (spec + "c").encode() % (arg & 0xFF)
    bits = {b"hh": 8, b"h": 16, b"l": 64, b"ll": 64, b"z": 64}.get(m["len"] or b"", 32)
    value = arg & ((1 << bits) - 1)
    if conv in "di":
        value = s32(value) if bits == 32 else s64(value) if bits == 64 else value
        conv = "d"
    elif conv == "u":
        conv = "d"
    return (spec + conv).encode() % value


def _pointer(env: Env, conv: str, arg: int) -> bytes:
    if conv in ("p", "pK", "px", "pB"):
        return f"{arg:#x}".encode() if conv == "p" else f"{arg:016x}".encode()
    if conv in ("pks", "pus"):
        return env.mem.read_cstr(arg, MAX_STR)
    if conv[2] == "4":
        raw = env.mem.read(arg, 4)
        return ".".join(f"{b:03d}" if conv[1] == "i" else str(b) for b in raw).encode()
    raw = env.mem.read(arg, 16)
    if conv[1] == "i":
        return raw.hex().encode()
    return str(ipaddress.IPv6Address(raw)).encode()


def _fmt(env: Env, fmt: int, size: int) -> bytes:
    raw = env.mem.read(fmt, size)
    nul = raw.find(b"\0")
    if nul < 0:
        raise VMError("format string is not NUL-terminated")
    return raw[:nul]


def trace_printk(env: Env, fmt: int, size: int, a1: int, a2: int, a3: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
    """``long bpf_trace_printk(fmt, fmt_size, ...)``: logged on logger ``pybpf.vm.trace``."""
    text = bprintf(env, _fmt(env, fmt, size), [a1, a2, a3])
    env.machine.trace_printk(text)
    return len(text)


def trace_vprintk(env: Env, fmt: int, size: int, data: int, data_len: int, *_: int) -> int:
    """``long bpf_trace_vprintk(fmt, fmt_size, data, data_len)``."""
    text = bprintf(env, _fmt(env, fmt, size), _u64s(env, data, data_len))
    env.machine.trace_printk(text)
    return len(text)


def _u64s(env: Env, data: int, data_len: int) -> list[int]:
    if data_len % 8 or data_len > 8 * 12:
        raise VMError(f"data_len {data_len} is not a multiple of 8 up to 96")
    raw = env.mem.read(data, data_len) if data_len else b""
    return [int.from_bytes(raw[i : i + 8], "little") for i in range(0, data_len, 8)]


def snprintf(env: Env, out: int, size: int, fmt: int, data: int, data_len: int) -> int:  # noqa: PLR0917 - registers r1-r5 are positional (the helper ABI)
    """``long bpf_snprintf(str, str_size, fmt, data, data_len)``: returns the length of the
    whole result with its NUL (the bytes written are cut to ``str_size``)."""
    text = bprintf(env, env.mem.read_cstr(fmt, MAX_STR), _u64s(env, data, data_len))
    if size:
        env.mem.write(out, text[: size - 1] + b"\0")
    return len(text) + 1


def strncmp(env: Env, s1: int, s1_size: int, s2: int, *_: int) -> int:
    """``long bpf_strncmp(s1, s1_sz, s2)``: as ``strncmp(s1, s2, s1_sz)`` (-1, 0 or 1)."""
    if s1_size == 0:
        return 0
    a = env.mem.read(s1, s1_size)
    b = env.mem.read_cstr(s2, MAX_STR) + b"\0"
    for x, y in zip(a, b, strict=False):
        if x != y:
            return -1 if x < y else 1
        if x == 0:
            return 0
    return 0 if len(b) >= len(a) else -errno.EINVAL


STRING_HELPERS: dict[int, HelperFn] = {
    6: trace_printk,
    165: snprintf,
    177: trace_vprintk,
    182: strncmp,
}
