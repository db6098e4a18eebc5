"""Bad input of every shape: only BTFError comes out, quickly, without huge allocations."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pybpf.btf import BTF, BTFExt, Const, Int, Member, Ptr, Struct, Typedef, encode, format_c
from pybpf.elf import ELFFile
from pybpf.errors import BTFError
from tests.btf.btfutil import BTFDATA, touch_everything
from tests.conftest import OBJ

_ELF = ELFFile.from_path(OBJ / "core.el.v3.o")
_BTF_SEC = bytes(_ELF.get_section_by_name(".BTF").data)  # type: ignore[union-attr]
_EXT_SEC = bytes(_ELF.get_section_by_name(".BTF.ext").data)  # type: ignore[union-attr]
SEEDS = [
    _BTF_SEC,
    bytes(ELFFile.from_path(OBJ / "btf_kinds.eb.v3.o").get_section_by_name(".BTF").data),  # type: ignore[union-attr]
    (BTFDATA / "synthetic.el.btf").read_bytes(),
]
BASE = BTF.from_path(str(BTFDATA / "split_base.btf"))
SPLIT = (BTFDATA / "split_mod.btf").read_bytes()
fuzz = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def parse(data: bytes, base: BTF | None = None) -> None:
    try:
        btf = BTF(data, base=base, name="fuzz")
    except BTFError as exc:
        assert exc.location.source == "fuzz"
        return
    touch_everything(btf)


def flip(data: bytes, positions: list[int]) -> bytes:
    out = bytearray(data)
    for p in positions:
        out[(p // 8) % len(out)] ^= 1 << (p % 8)
    return bytes(out)


@fuzz
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    parse(data)
    parse(b"\x9f\xeb\x01\x00\x18\x00\x00\x00" + data)  # past the magic check


@fuzz
@given(st.sampled_from(SEEDS), st.lists(st.integers(0, 1 << 20), min_size=1, max_size=8))
def test_bit_flips(seed: bytes, positions: list[int]) -> None:
    parse(flip(seed, positions))


@fuzz
@given(st.sampled_from(SEEDS), st.integers(0, 4000))
def test_truncations(seed: bytes, cut: int) -> None:
    parse(seed[: cut % (len(seed) + 1)])


@fuzz
@given(st.lists(st.integers(0, 1 << 16), min_size=1, max_size=8), st.integers(0, 2000))
def test_split_btf_flips_and_truncations(positions: list[int], cut: int) -> None:
    parse(flip(SPLIT, positions), BASE)
    parse(SPLIT[: cut % (len(SPLIT) + 1)], BASE)


@pytest.mark.parametrize("field", range(5))
def test_header_claiming_huge_lengths(field: int) -> None:
    fields = [24, 0, 16, 16, 5]
    fields[field] = 0xFFFFFFF0
    data = struct.pack("<HBB5I", 0xEB9F, 1, 0, *fields) + b"\0" * 21
    with pytest.raises(BTFError):
        BTF(data)


def _ext_parse(data: bytes) -> None:
    btf = BTF(_BTF_SEC)
    try:
        ext = BTFExt(data, btf)
    except BTFError as exc:
        assert exc.location.source == ".BTF.ext"
        return
    ext.encode()


@fuzz
@given(st.binary(max_size=256))
def test_ext_random_bytes(data: bytes) -> None:
    _ext_parse(data)
    _ext_parse(b"\x9f\xeb\x01\x00\x20\x00\x00\x00" + data)


@fuzz
@given(st.lists(st.integers(0, 1 << 16), min_size=1, max_size=8), st.integers(0, 4000))
def test_ext_flips_and_truncations(positions: list[int], cut: int) -> None:
    _ext_parse(flip(_EXT_SEC, positions))
    _ext_parse(_EXT_SEC[: cut % (len(_EXT_SEC) + 1)])


# -- structures that loop or nest without end ------------------------------------------------
def test_deep_nesting_is_an_error_not_a_crash() -> None:
    depth = 3000  # struct s0 { struct s1 m; }, struct s1 { struct s2 m; } ... (ids ascending)
    types = [Int(name="int", size=4, nr_bits=32)]
    types += [Struct(name=f"s{i}", size=4, members=(Member("m", i + 3, 0),)) for i in range(depth)]
    types.append(Struct(name="last", size=4, members=(Member("m", 1, 0),)))
    btf = BTF(encode(types))
    touch_everything(btf)
    with pytest.raises(BTFError):
        format_c(btf)


def test_loops_everywhere_terminate() -> None:
    loops = [
        [Typedef(name="t", type=2), Ptr(type=1)],  # typedef t *t
        [Const(type=1)],  # const of itself
        [Struct(name="s", size=4, members=(Member("m", 1, 0),))],  # contains itself
        [Struct(name="", size=8, members=(Member("m", 2, 0),)), Ptr(type=1)],
    ]
    for types in loops:
        btf = BTF(encode(types))
        touch_everything(btf)
