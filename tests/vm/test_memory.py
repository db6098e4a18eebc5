"""The address space: regions, windows, checked access."""

from __future__ import annotations

import pytest

from pybpf.errors import VMError
from pybpf.vm.memory import DYNAMIC_REGION, AddressSpace, region_base


def test_map_translate_and_access() -> None:
    mem = AddressSpace()
    region = mem.map(bytearray(b"\x01\x02\x03\x04\x05\x06\x07\x08"), "r")
    assert region.index == DYNAMIC_REGION
    base = region_base(region.index)
    assert mem.load(base, 4) == 0x04030201
    assert mem.load(base + 4, 2, signed=True) == 0x0605
    mem.store(base, 8, -1)
    assert mem.read(base, 3) == b"\xff\xff\xff"
    mem.write(base + 6, b"\x00\x01")
    assert mem.view(base + 6, 2).tobytes() == b"\x00\x01"


@pytest.mark.parametrize(("off", "size"), [(-1, 1), (7, 2), (8, 1), (0, 9)])
def test_out_of_window(off: int, size: int) -> None:
    mem = AddressSpace()
    base = mem.map(bytearray(8), "r").base
    with pytest.raises(VMError, match="out of bounds") as info:
        mem.read(base + off, size)
    assert info.value.address == base + off  # type: ignore[attr-defined]


def test_read_only_and_windows() -> None:
    mem = AddressSpace()
    region = mem.map(bytearray(16), "r", writable=False, lo=4, hi=12)
    with pytest.raises(VMError, match="read-only"):
        mem.store(region.base + 4, 1, 0)
    assert mem.load(region.base + 4, 8) == 0
    with pytest.raises(VMError):
        mem.load(region.base + 3, 1)
    mem.set_window(region, region.base, region.base + 16, writable=True)
    mem.store(region.base, 1, 1)


def test_unmap_reuses_indexes_and_tells_observers() -> None:
    mem = AddressSpace()
    seen: list[int] = []
    mem.observers.append(seen.append)
    a = mem.map(bytearray(1), "a")
    mem.unmap(a)
    with pytest.raises(VMError):
        mem.load(a.base, 1)
    b = mem.map(bytearray(1), "b")
    assert b.index == a.index
    assert seen == [a.index, a.index, b.index]


def test_read_cstr() -> None:
    mem = AddressSpace()
    base = mem.map(bytearray(b"abc\0def"), "s").base
    assert mem.read_cstr(base, 100) == b"abc"
    assert mem.read_cstr(base + 4, 2) == b"de"
    with pytest.raises(VMError, match="runs out"):
        mem.read_cstr(base + 4, 100)


def test_memoryview_buffers_must_be_writable() -> None:
    with pytest.raises(VMError, match="writable"):
        AddressSpace().map(memoryview(b"ro"), "r")  # type: ignore[arg-type]
