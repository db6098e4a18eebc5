"""``BPF_MAP_TYPE_PERF_EVENT_ARRAY``: per-CPU sample buffers for ``bpf_perf_event_output``.

Each index (a CPU) has a buffer of ``pages`` pages; a sample that does not fit is counted as
lost, as a full perf ring would. ``max_entries`` 0 means one index per CPU (as libbpf sets).
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Iterator

from pybpf._util import align
from pybpf.spec import MapSpec
from pybpf.vm.maps.base import MapHost, VMMap

__all__ = ["PerfEventArrayMap"]

PAGE = 4096
BPF_F_INDEX_MASK = 0xFFFF_FFFF
BPF_F_CURRENT_CPU = 0xFFFF_FFFF
_SAMPLE_HEADER = 8 + 4  # perf_event_header + u32 size of PERF_RECORD_SAMPLE raw data


class PerfEventArrayMap(VMMap):
    """Samples per CPU: :meth:`records` consumes ``(cpu, bytes)``; ``lost`` counts drops."""

    def __init__(self, spec: MapSpec, host: MapHost, pages: int = 8) -> None:
        super().__init__(spec, host)
        self.nslots = self.max_entries or host.ncpus
        self.capacity = pages * PAGE
        self._buffers: list[deque[bytes]] = [deque() for _ in range(self.nslots)]
        self._used = [0] * self.nslots
        self.lost = [0] * self.nslots

    def bpf_output(self, flags: int, payload: bytes) -> int:
        """``bpf_perf_event_output``: 0, ``-E2BIG`` for a bad index, ``-ENOSPC`` when full."""
        index = flags & BPF_F_INDEX_MASK
        if index == BPF_F_CURRENT_CPU:
            index = self.host.cpu
        if flags >> 32 or index >= self.nslots:
            return -errno.E2BIG if index >= self.nslots else -errno.EINVAL
        cost = align(_SAMPLE_HEADER + len(payload), 8)
        if self._used[index] + cost > self.capacity:
            self.lost[index] += 1
            return -errno.ENOSPC
        self._buffers[index].append(payload)
        self._used[index] += cost
        return 0

    def records(self, cpu: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Consume samples: ``(cpu, raw sample)`` pairs, CPU by CPU (or of one ``cpu``)."""
        cpus = range(self.nslots) if cpu is None else [cpu]
        for index in cpus:
            buf = self._buffers[index]
            while buf:
                payload = buf.popleft()
                self._used[index] -= align(_SAMPLE_HEADER + len(payload), 8)
                yield index, payload

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return self.records()

    def __len__(self) -> int:
        return self.nslots
