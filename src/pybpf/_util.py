"""Small helpers shared by every layer (standard library only)."""

from __future__ import annotations

__all__ = ["align", "s16", "s32", "s64", "u32", "u64"]


def align(value: int, to: int) -> int:
    """``value`` rounded up to a multiple of ``to`` (a power of two)."""
    return (value + to - 1) & ~(to - 1)


def s16(v: int) -> int:
    """The low 16 bits of ``v`` as a signed integer."""
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def s32(v: int) -> int:
    """The low 32 bits of ``v`` as a signed integer."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def s64(v: int) -> int:
    """The low 64 bits of ``v`` as a signed integer."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v & (1 << 63) else v


def u32(v: int) -> int:
    """The low 32 bits of ``v``."""
    return v & 0xFFFFFFFF


def u64(v: int) -> int:
    """The low 64 bits of ``v``."""
    return v & 0xFFFFFFFFFFFFFFFF
