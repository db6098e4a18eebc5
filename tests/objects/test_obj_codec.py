"""Codecs: what keys and values are accepted, what comes back, and the errors in between."""

from __future__ import annotations

import ctypes
import ipaddress
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pybpf.objects import CodecError, FDCodec, LPMCodec, LPMKey, PerCPUCodec, RawCodec
from pybpf.objects.codec import split


@given(st.integers(0, 2**32 - 1), st.integers(-(2**63), 2**64 - 1))
def test_ints_round_trip_through_the_host_byte_order(key: int, value: int) -> None:
    codec = RawCodec(4, 8, int_keys=True, int_values=True)
    raw_key, raw_value = codec.encode_key(key), codec.encode_value(value)
    assert raw_key == key.to_bytes(4, sys.byteorder)
    assert codec.decode_key(raw_key) == key
    assert codec.decode_value(raw_value) == value % 2**64


@given(st.binary(min_size=6, max_size=6), st.integers(1, 40))
def test_bytes_pass_through_and_batches_split(data: bytes, count: int) -> None:
    codec = RawCodec(6, 6)
    assert codec.encode_key(data) == data == codec.decode_value(codec.encode_value(data))
    assert codec.decode_keys(data * count, count) == [data] * count
    as_ints = RawCodec(6, 6, int_values=True).decode_values(data * count, count)
    assert as_ints == [int.from_bytes(data, sys.byteorder)] * count


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"abc", "key is 3 bytes, but this map's keys are 4 bytes"),
        (bytearray(5), "key is 5 bytes"),
        (2**32, "key 4294967296 does not fit in 4 bytes"),
        (-(2**31) - 1, "does not fit in 4 bytes"),
        ("text", "key must be bytes or an int (4 bytes), not str"),
        (None, "not NoneType"),
        (3.0, "not float"),
    ],
)
def test_bad_keys(value: object, error: str) -> None:
    with pytest.raises(CodecError, match=error.replace("(", r"\(").replace(")", r"\)")) as info:
        RawCodec(4, 4).encode_key(value)
    assert isinstance(info.value, (TypeError, ValueError))


def test_buffers_are_accepted() -> None:
    codec = RawCodec(4, 8)
    assert codec.encode_key(ctypes.c_uint32(7)) == (7).to_bytes(4, sys.byteorder)
    assert codec.encode_value(memoryview(b"12345678")) == b"12345678"
    assert codec.encode_key(-1) == b"\xff" * 4


def test_split_of_empty_sizes() -> None:
    assert split(b"", 0, 3) == [b"", b"", b""]
    assert list(split(b"abcdef", 2, 3)) == [b"ab", b"cd", b"ef"]


def test_per_cpu_codec_pads_to_8_bytes() -> None:
    codec = PerCPUCodec(RawCodec(4, 3), cpus=2)
    assert codec.value_size == 16
    assert codec.encode_value([b"abc", b"def"]) == b"abc" + bytes(5) + b"def" + bytes(5)
    assert codec.encode_value(b"xyz") == (b"xyz" + bytes(5)) * 2
    assert codec.decode_value(b"abc" + bytes(5) + b"def" + bytes(5)) == [b"abc", b"def"]
    with pytest.raises(CodecError, match="3 entries; this machine has 2 CPUs"):
        codec.encode_value([b"abc"] * 3)


def test_lpm_codec() -> None:
    codec = LPMCodec(8, RawCodec(8, 4))
    raw = codec.encode_key(ipaddress.ip_network("192.168.0.0/16"))
    assert raw == (16).to_bytes(4, sys.byteorder) + bytes([192, 168, 0, 0])
    assert codec.encode_key((16, 0xC0A80000)) == raw == codec.encode_key((16, b"\xc0\xa8\0\0"))
    assert codec.decode_key(raw) == LPMKey(16, b"\xc0\xa8\0\0")
    for bad in ((33, 0), (1, 2, 3), "10.0.0.0/8", (-1, 0)):
        with pytest.raises(CodecError):
            codec.encode_key(bad)


def test_fd_codec_takes_objects_with_fileno() -> None:
    class Thing:
        def fileno(self) -> int:
            return 9

    assert FDCodec(4, 4).encode_value(Thing()) == (9).to_bytes(4, sys.byteorder)
