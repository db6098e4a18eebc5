"""The policy of map creation: checks before the syscall, fix-ups, name fallbacks, errors."""

from __future__ import annotations

import errno
import mmap
from typing import Any

import pytest

from pybpf.errors import NotSupportedError, SyscallError
from pybpf.objects import Map, Program, SpecError
from pybpf.objects._create import BPF_F_NO_PREALLOC
from pybpf.spec import MapSpec, MapType, ProgramSpec, ProgType
from pybpf.sys import MapCreateAttr, ProgLoadAttr, use_backend
from pybpf.sys.fake import FakeBackend, Refusal
from tests.objects.progs import ret


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (MapSpec("a", MapType.ARRAY, 8, 4, 1), "array maps have 4-byte keys, not 8"),
        (MapSpec("q", MapType.QUEUE, 4, 4, 1), "queue maps have no key"),
        (MapSpec("r", MapType.RINGBUF, 0, 4, 4096), "ringbuf maps have no value"),
        (MapSpec("p", MapType.PROG_ARRAY, 4, 8, 1), "values are 4-byte fds or ids"),
        (MapSpec("h", MapType.HASH, 0, 4, 1), "key_size must be positive"),
        (MapSpec("h", MapType.HASH, 4, 0, 1), "value_size must be positive"),
        (MapSpec("h", MapType.HASH, 4, 4, 0), "max_entries must be positive"),
        (MapSpec("s", MapType.SK_STORAGE, 4, 4, 8), "sk_storage maps take max_entries 0"),
    ],
)
def test_impossible_specs_fail_before_the_syscall(
    fake: FakeBackend, spec: MapSpec, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        Map.create(spec)
    assert not any(c == 0 for c in fake.calls)  # no BPF_MAP_CREATE was made


def test_perf_event_array_defaults_to_one_slot_per_cpu(kernel: None) -> None:
    from pybpf.objects import possible_cpus

    with Map.create(MapSpec("perf", MapType.PERF_EVENT_ARRAY, 4, 4, 0)) as m:
        assert m.max_entries == m.info().max_entries == possible_cpus()


@pytest.mark.parametrize(
    ("asked", "made"),
    [(1, mmap.PAGESIZE), (mmap.PAGESIZE, mmap.PAGESIZE), (3 * mmap.PAGESIZE, 4 * mmap.PAGESIZE)],
)
def test_ring_buffers_are_rounded_to_a_power_of_two_of_pages(
    kernel: None, asked: int, made: int
) -> None:
    with Map.create(MapSpec("rb", MapType.RINGBUF, 0, 0, asked)) as m:
        assert m.info().max_entries == made == m.max_entries


def test_types_that_require_no_prealloc_get_it(kernel: None) -> None:
    with Map.create(MapSpec("lpm", MapType.LPM_TRIE, 8, 4, 4)) as m:
        assert m.info().flags & BPF_F_NO_PREALLOC


class OldKernel(FakeBackend):
    """A kernel without object names (< 4.15) or without dots in them (< 5.2)."""

    def __init__(self, *, names: bool, dots: bool) -> None:
        super().__init__()
        self.names, self.dots = names, dots
        self.seen: list[bytes] = []

    def _refuse(self, name: bytes) -> None:
        self.seen.append(name)
        if name and (not self.names or (b"." in name and not self.dots)):
            raise Refusal(errno.EINVAL)

    def _map_create(self, a: MapCreateAttr) -> int:
        self._refuse(a.map_name)
        return super()._map_create(a)

    def _prog_load(self, a: ProgLoadAttr) -> int:
        self._refuse(a.prog_name)
        return super()._prog_load(a)


@pytest.mark.parametrize(
    ("names", "dots", "made"),
    [(True, True, b".data.x"), (True, False, b"_data_x"), (False, False, b"")],
)
def test_names_fall_back_where_the_kernel_lacks_them(names: bool, dots: bool, made: bytes) -> None:
    with use_backend(OldKernel(names=names, dots=dots)) as old:
        with Map.create(MapSpec(".data.x", MapType.ARRAY, 4, 4, 1)) as m:
            assert m.info().name == made.decode()
        with Program.load(ProgramSpec(".data.x", ProgType.SOCKET_FILTER, ret(0))):
            pass
        assert old.seen[-1] == made


def test_unknown_map_type_is_not_supported_error() -> None:
    class NoQueues(FakeBackend):
        def _map_create(self, a: Any) -> int:
            if a.map_type == MapType.QUEUE:
                raise Refusal(errno.EINVAL)
            return super()._map_create(a)

    with use_backend(NoQueues()), pytest.raises(NotSupportedError) as info:
        Map.create(MapSpec("q", MapType.QUEUE, 0, 4, 4))
    assert info.value.feature == "map_type queue" and info.value.min_kernel == "4.20"


def test_refusal_of_a_known_type_keeps_the_errno_and_hints(kernel: None) -> None:
    with pytest.raises(SyscallError) as info:
        Map.create(MapSpec("bad_flags", MapType.HASH, 4, 4, 4, flags=1 << 31))
    assert info.value.errno == errno.EINVAL
    assert "check its sizes and flags" in str(info.value)


def test_eperm_hint_names_the_missing_privilege() -> None:
    class Unprivileged(FakeBackend):
        def call(self, cmd: int, attr: Any) -> int:
            return -errno.EPERM

    from pybpf.features import privileged

    with use_backend(Unprivileged()), pytest.raises(SyscallError) as info:
        Map.create(MapSpec("m", MapType.HASH, 4, 4, 4))
    assert info.value.errno == errno.EPERM
    expected = "the kernel forbids it" if privileged() else "needs CAP_BPF"
    assert expected in str(info.value)
