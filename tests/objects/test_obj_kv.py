"""Hash and array maps as Python mappings, on the fake kernel and the real one."""

from __future__ import annotations

import errno
import gc
from collections.abc import Iterator, MutableMapping

import pytest

from pybpf._uapi import Cmd
from pybpf.errors import ClosedError, NotSupportedError, SyscallError
from pybpf.objects import ArrayMap, CodecError, HashMap, Map, RawCodec, SpecError, UpdateFlags
from pybpf.spec import MapSpec, MapType
from pybpf.sys import current, use_backend
from pybpf.sys.fake import FakeBackend


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


@pytest.fixture
def hmap(backend: str) -> Iterator[HashMap]:
    with Map.create(MapSpec("kv_test", MapType.HASH, 4, 8, 16)) as m:
        assert isinstance(m, HashMap)
        yield m


@pytest.fixture
def amap(backend: str) -> Iterator[ArrayMap]:
    with Map.create(MapSpec("arr_test", MapType.ARRAY, 4, 4, 4)) as m:
        assert isinstance(m, ArrayMap)
        yield m


def test_hash_map_is_a_mutable_mapping(hmap: HashMap) -> None:
    assert isinstance(hmap, MutableMapping)
    hmap[1] = 10
    hmap[u32(2)] = (20).to_bytes(8, "little")
    assert hmap[1] == (10).to_bytes(8, "little")
    assert hmap[u32(1)] == hmap[1]
    assert 1 in hmap and 3 not in hmap
    assert len(hmap) == 2
    assert sorted(hmap) == [u32(1), u32(2)]
    assert hmap.get(3) is None and hmap.get(3, "x") == "x"
    del hmap[1]
    assert 1 not in hmap and len(hmap) == 1


def test_missing_keys_raise_key_error(hmap: HashMap) -> None:
    with pytest.raises(KeyError):
        hmap[5]
    with pytest.raises(KeyError):
        del hmap[5]
    with pytest.raises(KeyError):
        hmap.lookup_and_delete(5)


def test_views_are_snapshots_from_one_walk(hmap: HashMap) -> None:
    hmap.codec = RawCodec(4, 8, int_keys=True, int_values=True)
    for k in range(10):
        hmap[k] = k * k
    assert sorted(hmap.items()) == [(k, k * k) for k in range(10)]
    assert sorted(hmap.keys()) == list(range(10))
    assert sorted(hmap.values()) == [k * k for k in range(10)]
    assert dict(hmap) == {k: k * k for k in range(10)}


def test_update_flags(hmap: HashMap) -> None:
    hmap.put(1, 1, UpdateFlags.NOEXIST)
    with pytest.raises(SyscallError) as info:
        hmap.put(1, 2, UpdateFlags.NOEXIST)
    assert info.value.errno == errno.EEXIST and "exists" in str(info.value)
    hmap.put(1, 3, UpdateFlags.EXIST)
    with pytest.raises(KeyError):
        hmap.put(2, 3, UpdateFlags.EXIST)
    assert hmap[1] == (3).to_bytes(8, "little")


def test_full_map_says_so(backend: str) -> None:
    with Map.create(MapSpec("full", MapType.HASH, 4, 4, 2)) as m:
        m[1], m[2] = 1, 2
        with pytest.raises(SyscallError) as info:
            m[3] = 3
    assert info.value.errno == errno.E2BIG and "full (2 entries)" in str(info.value)


def test_lookup_and_delete_pop_next_key(hmap: HashMap) -> None:
    hmap.codec = RawCodec(4, 8, int_keys=True, int_values=True)
    hmap[1], hmap[2] = 11, 22
    assert hmap.lookup_and_delete(1) == 11 and 1 not in hmap
    assert hmap.pop(2) == 22 and hmap.pop(2, None) is None
    with pytest.raises(KeyError):
        hmap.pop(2)
    hmap[7] = 70
    assert hmap.next_key() == 7 and hmap.next_key(7) is None


def test_clear_and_batches(hmap: HashMap) -> None:
    hmap.codec = RawCodec(4, 8, int_keys=True, int_values=True)
    hmap.update_batch(range(12), [k + 100 for k in range(12)])
    assert sorted(hmap.lookup_batch()) == [(k, k + 100) for k in range(12)]
    hmap.delete_batch(range(6))
    assert sorted(hmap) == list(range(6, 12))
    drained = hmap.lookup_and_delete_batch()
    assert sorted(drained) == [(k, k + 100) for k in range(6, 12)] and len(hmap) == 0
    hmap.update_batch([1, 2], [3, 4])
    hmap.clear()
    assert len(hmap) == 0


def test_batch_update_stopping_part_way_says_how_far(backend: str) -> None:
    with Map.create(MapSpec("small", MapType.HASH, 4, 4, 4)) as m:
        assert isinstance(m, HashMap)
        with pytest.raises(SyscallError) as info:
            m.update_batch(range(6), range(6))
        assert info.value.errno == errno.E2BIG and "4 of 6 updated" in str(info.value)
        with pytest.raises(SpecError, match=r"only UpdateFlags\.LOCK"):
            m.update_batch([1], [1], UpdateFlags.NOEXIST)


def test_iteration_falls_back_without_batch_commands() -> None:
    missing = {Cmd.MAP_LOOKUP_BATCH, Cmd.MAP_LOOKUP_AND_DELETE_BATCH}
    with use_backend(FakeBackend(missing=missing)) as fake:
        m = Map.create(MapSpec("nobatch", MapType.HASH, 4, 4, 8))
        assert isinstance(m, HashMap)
        m.codec = RawCodec(4, 4, int_keys=True, int_values=True)
        for k in range(5):
            m[k] = k
        assert sorted(m.items()) == [(k, k) for k in range(5)]
        assert len(m) == 5 and sorted(m) == list(range(5))
        assert Cmd.MAP_GET_NEXT_KEY in fake.calls
        with pytest.raises(NotSupportedError):
            m.lookup_batch()
        m.close()


def test_array_map(amap: ArrayMap) -> None:
    assert len(amap) == 4 and list(amap) == [0, 1, 2, 3]
    amap[2] = b"abcd"
    assert amap[2] == b"abcd" and amap[0] == bytes(4)
    assert dict(amap.items()) == {0: bytes(4), 1: bytes(4), 2: b"abcd", 3: bytes(4)}
    with pytest.raises(KeyError):
        amap[4]
    with pytest.raises(SyscallError) as info:
        del amap[1]
    assert info.value.errno == errno.EINVAL and "cannot be deleted" in str(info.value)
    amap.clear()
    assert amap[2] == bytes(4)


def test_array_index_out_of_range_on_store(amap: ArrayMap) -> None:
    with pytest.raises(SyscallError) as info:
        amap[4] = 1
    assert info.value.errno == errno.E2BIG


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"abc", "key is 3 bytes, but this map's keys are 4 bytes"),
        (1 << 32, "does not fit in 4 bytes"),
        ("one", "must be bytes or an int"),
        (1.5, "must be bytes or an int"),
    ],
)
def test_bad_keys_are_codec_errors_before_any_call(key: object, message: str) -> None:
    with use_backend(FakeBackend()) as fake:
        m = Map.create(MapSpec("bad", MapType.HASH, 4, 4, 4))
        calls = len(fake.calls)
        for op in (lambda: m[key], lambda: m.__setitem__(key, 0), lambda: m.get(key)):
            with pytest.raises(CodecError, match=message):
                op()
        assert len(fake.calls) == calls
        m.close()


def test_bad_values_are_codec_errors(hmap: HashMap) -> None:
    with pytest.raises(CodecError, match="value is 2 bytes, but this map's values are 8 bytes"):
        hmap[1] = b"xx"
    with pytest.raises(CodecError) as info:
        hmap[1] = object()
    assert isinstance(info.value, TypeError)


def test_buffers_of_any_kind_are_keys(hmap: HashMap) -> None:
    import ctypes

    hmap[bytearray(u32(4))] = memoryview(bytes(8))
    assert ctypes.c_uint32(4) in hmap
    assert -1 not in hmap  # negative ints are two's complement: 0xffffffff


def test_closed_map_raises_closed_error(backend: str) -> None:
    m = Map.create(MapSpec("closing", MapType.HASH, 4, 4, 4))
    assert isinstance(m, HashMap)
    m[1] = 1
    m.close()
    m.close()
    for op in (lambda: m[1], lambda: m.__setitem__(1, 1), lambda: list(m), m.info, m.freeze):
        with pytest.raises(ClosedError):
            op()
    assert "closed" in repr(m)


def test_garbage_collected_map_closes_its_fd(backend: str) -> None:
    m = Map.create(MapSpec("gc", MapType.HASH, 4, 4, 4))
    fd = m.fileno()
    del m
    gc.collect()
    assert current().object_kind(fd) is None


def test_clone_is_an_independent_handle(hmap: HashMap) -> None:
    hmap[1] = 1
    twin = hmap.clone()
    assert twin.fileno() != hmap.fileno() and twin[1] == hmap[1]
    twin.close()
    assert hmap[1] == (1).to_bytes(8, "little")


def test_frozen_map_refuses_writes(hmap: HashMap) -> None:
    hmap[1] = 1
    hmap.freeze()
    assert hmap[1] == (1).to_bytes(8, "little")
    with pytest.raises(SyscallError) as info:
        hmap[2] = 2
    assert info.value.errno == errno.EPERM


def test_family_class_checks(backend: str) -> None:
    with pytest.raises(SpecError, match="is a HashMap, not a ArrayMap"):
        ArrayMap.create(MapSpec("wrong", MapType.HASH, 4, 4, 4))
