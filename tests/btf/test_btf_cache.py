"""The index cache: used when intact, ignored when not, never a reason to fail."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from pybpf.btf import (
    BTF,
    Int,
    IntEncoding,
    Kind,
    Member,
    Ptr,
    Struct,
    Type,
    _index,
    cache,
    encode,
    format_raw,
)
from pybpf.errors import BTFError
from tests.btf.btfutil import vmlinux


def _types(count: int) -> list[Type]:
    types: list[Type] = [Int(name="int", size=4, encoding=IntEncoding.SIGNED, nr_bits=32)]
    while len(types) < count:
        n = len(types)
        members = (Member("a", 1, 0), Member("p", n + 2, 32))
        types.append(Struct(name=f"s{n}", size=8, members=members))
        types.append(Ptr(type=n + 1))
    return types


@pytest.fixture(scope="module")
def big() -> bytes:
    return encode(_types(cache.MIN_TYPES + 10))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.idx"))


def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kw: object) -> list[int]:
        raise AssertionError("the index pass ran although the cache should have served")

    monkeypatch.setattr(_index, "scan", boom)


def same(a: BTF, b: BTF) -> None:
    assert list(a.offsets) == list(b.offsets)
    assert format_raw(a) == format_raw(b)
    assert a.find("s1001", Kind.STRUCT) == b.find("s1001", Kind.STRUCT) == [1002]


def test_second_open_uses_the_entry(
    big: bytes, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cache.load_cached(big, directory=folder)
    assert len(entries(folder)) == 1
    no_scan(monkeypatch)
    second = cache.load_cached(big, directory=folder)
    same(first, second)


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: b"",  # empty
        lambda raw: b"garbage" * 10,  # not an entry
        lambda raw: raw[:40] + bytes([raw[40] ^ 0xFF]) + raw[41:],  # payload bit flip
        lambda raw: raw[:8] + struct.pack("=I", 999) + raw[12:],  # another version
    ],
)
def test_damaged_entry_falls_back_and_is_rewritten(
    big: bytes, folder: Path, damage: object
) -> None:
    cache.load_cached(big, directory=folder)
    (entry,) = entries(folder)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))  # type: ignore[operator]
    btf = cache.load_cached(big, directory=folder)
    same(btf, BTF(big))
    assert entry.read_bytes() == good


def test_tampered_entry_with_a_valid_checksum_is_caught_on_decode(big: bytes, folder: Path) -> None:
    # Accidental damage fails the payload checksum (above). An entry rewritten on purpose
    # with a consistent checksum may pass the sampled checks, but every decoded record is
    # checked against the index again, so it cannot make pybpf return a wrong type.
    cache.load_cached(big, directory=folder)
    (entry,) = entries(folder)
    raw = bytearray(entry.read_bytes())
    at = 32 + 4 * 101  # offsets[101], not among the sampled records
    struct.pack_into("=I", raw, at, struct.unpack_from("=I", raw, at)[0] + 3)
    struct.pack_into("=I", raw, 24, zlib.crc32(bytes(raw[32:])))
    entry.write_bytes(bytes(raw))
    btf = cache.load_cached(big, directory=folder)
    with pytest.raises(BTFError, match="does not end where the next begins"):
        btf.validate()


def test_read_only_directory_is_not_an_error(big: bytes, folder: Path) -> None:
    folder.mkdir()
    folder.chmod(0o500)
    try:
        btf = cache.load_cached(big, directory=folder)
        same(btf, BTF(big))
        if os.geteuid() != 0:  # root writes anyway
            assert entries(folder) == []
    finally:
        folder.chmod(0o700)
    assert not list(folder.glob(".tmp-*"))


def test_unwritable_location_is_not_an_error(big: bytes, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    btf = cache.load_cached(big, directory=blocker / "cache")
    same(btf, BTF(big))


def test_small_btf_is_not_cached(folder: Path) -> None:
    data = encode(_types(10))
    cache.load_cached(data, directory=folder)
    assert not folder.exists()


def test_old_entries_are_pruned(folder: Path) -> None:
    for i in range(cache.MAX_ENTRIES + 3):  # the key covers the types, not the strings
        cache.load_cached(encode(_types(cache.MIN_TYPES + 10 + 2 * i)), directory=folder)
    assert len(entries(folder)) == cache.MAX_ENTRIES


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("PYBPF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "pybpf" / "btf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "pybpf" / "btf"


@pytest.mark.tool
def test_vmlinux_through_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYBPF_CACHE_DIR", str(tmp_path))
    path = str(vmlinux())
    cold = BTF.from_path(path, cache=True)
    no_scan(monkeypatch)
    warm = BTF.from_path(path, cache=True)
    assert list(cold.offsets) == list(warm.offsets)
    assert cold.find("task_struct", Kind.STRUCT) == warm.find("task_struct", Kind.STRUCT)


def test_hashed_name_index_is_kept(
    big: bytes, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cache.load_cached(big, directory=folder)
    assert first.names.hashed is None
    first.index_names()  # saved by itself once built
    no_scan(monkeypatch)
    second = cache.load_cached(big, directory=folder)
    assert second.names.hashed is not None
    assert list(second.names.hashed[0]) == list(first.names.hashed[0])  # type: ignore[index]
    same(first, second)
    third = cache.load_cached(big, directory=folder, index_names=True)  # already there
    assert third.names.hashed is not None
