"""Named, cached feature probes and the ``pybpf probe`` report."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from typing import Any

import pytest

from pybpf import features
from pybpf._uapi import LinkType, MapType, ProgType
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.features import kconfig, rawbtf
from pybpf.features.btf import load_raw_btf
from pybpf.sys import use_backend
from pybpf.sys.fake import FakeBackend
from tests.conftest import is_root, tool

needs_root = pytest.mark.skipif(not is_root(), reason="needs root: probes load maps and programs")


class Counting(FakeBackend):
    """A fake kernel that refuses everything with ``err`` (0: behave as the fake does)."""

    def __init__(self, err: int = 0) -> None:
        super().__init__()
        self.err = err

    def call(self, cmd: int, attr: Any) -> int:
        if self.err:
            self.calls.append(cmd)
            return -self.err
        return super().call(cmd, attr)


def test_kernel_names_prefer_the_current_alias() -> None:
    assert features.kernel_name(MapType.CGROUP_STORAGE) == "cgroup_storage"
    assert features.kernel_name(ProgType.SK_LOOKUP) == "sk_lookup"


def test_conclusive_answers_are_cached_per_backend() -> None:
    with use_backend(Counting()) as fake:
        assert features.have(features.map_type(MapType.HASH))
        assert not features.have(features.map_type(MapType.RINGBUF))  # the fake lacks it
        calls = len(fake.calls)
        assert features.have(features.map_type(MapType.HASH))
        assert not features.have(features.map_type(MapType.RINGBUF))
        assert len(fake.calls) == calls
    with use_backend(Counting()) as other:
        features.have(features.map_type(MapType.HASH))
        assert other.calls  # a new backend asks again


def test_inconclusive_answers_raise_and_are_not_cached() -> None:
    with use_backend(Counting(errno.EPERM)) as fake:
        for _ in range(2):
            with pytest.raises(SyscallError) as info:
                features.have(features.map_type(MapType.HASH))
            assert info.value.errno == errno.EPERM and "CAP_BPF" in str(info.value)
        assert len(fake.calls) == 2
        assert isinstance(features.status(features.BATCH_OPS), SyscallError)


def test_check_names_the_feature_and_its_kernel() -> None:
    with use_backend(Counting()), pytest.raises(NotSupportedError) as info:
        features.check(features.map_type(MapType.RINGBUF))
    assert info.value.feature == "map_type ringbuf" and info.value.min_kernel == "5.8"
    assert str(info.value) == "map_type ringbuf is not supported (requires Linux >= 5.8)"


def test_every_map_and_program_type_has_a_minimum_kernel() -> None:
    assert set(features.MAP_TYPE_MIN_KERNEL) == {t for t in MapType if t != MapType.UNSPEC}
    assert set(features.PROG_TYPE_MIN_KERNEL) == {t for t in ProgType if t != ProgType.UNSPEC}


@pytest.mark.parametrize(
    ("release", "code"),
    [("6.18.44-fc-v669", (6 << 16) + (18 << 8) + 44), ("5.4.300", (5 << 16) + (4 << 8) + 255)],
)
def test_kernel_version_code(monkeypatch: pytest.MonkeyPatch, release: str, code: int) -> None:
    uname = os.uname()
    fake = os.uname_result((uname.sysname, uname.nodename, release, "#1", uname.machine))
    monkeypatch.setattr(os, "uname", lambda: fake)
    monkeypatch.setattr("builtins.open", _no_signature(open))
    assert features.kernel_version_code() == code


def _no_signature(real: Any) -> Any:
    def fake_open(path: Any, *a: Any, **kw: Any) -> Any:
        if str(path) == "/proc/version_signature":
            raise FileNotFoundError(path)
        return real(path, *a, **kw)

    return fake_open


def test_kernel_config_parser() -> None:
    text = '# comment\nCONFIG_BPF=y\nCONFIG_HZ=250\n# CONFIG_X is not set\nCONFIG_S="a b"\n'
    assert kconfig.parse_kernel_config(text) == {
        "CONFIG_BPF": "y",
        "CONFIG_HZ": "250",
        "CONFIG_S": "a b",
    }


@needs_root
def test_raw_btf_blobs_load_and_broken_ones_do_not() -> None:
    good, _, _ = rawbtf.storage_btf(8)
    assert load_raw_btf(good) == 0
    unknown_kind = rawbtf.blob(rawbtf.type_record(0, rawbtf.Kind.ENUM64, 0, 3), b"\0")
    assert load_raw_btf(unknown_kind) == errno.EINVAL


@needs_root
def test_this_kernel_s_features() -> None:
    for feature in (
        features.BPF_SYSCALL,
        features.RINGBUF,
        features.BATCH_OPS,
        features.MMAPABLE_MAPS,
        features.OBJ_NAME,
        features.OBJ_NAME_DOT,
        features.MEMCG_ACCOUNT,
        features.GLOBAL_DATA,
        features.BOUNDED_LOOPS,
        features.LARGE_INSNS,
        features.ISA_V4,
        features.LOG_TRUE_SIZE,
        features.btf_kind("enum64"),
        features.link_type(LinkType.CGROUP),
        features.prog_type(ProgType.XDP),
        features.helper(ProgType.XDP, 1),
    ):
        assert features.have(feature), feature.name
    assert not features.have(features.helper(ProgType.XDP, 9))  # bpf_skb_store_bytes
    assert not features.have(features.helper(ProgType.SOCKET_FILTER, 44))  # xdp_adjust_head


@needs_root
def test_map_and_program_types_agree_with_bpftool() -> None:
    bpftool = [tool("bpftool"), "feature", "probe"]
    out = subprocess.run(bpftool, capture_output=True, text=True, check=True)
    found = re.findall(r"^eBPF (map_type|program_type) (\w+) is (NOT )?available", out.stdout, re.M)
    assert found
    by_name = {features.kernel_name(t): t for t in (*MapType, *ProgType)}
    for kind, name, absent in found:
        if name in ("tracing", "ext", "lsm"):  # bpftool counts EPERM as absent; we do not guess
            continue
        t = by_name[name]
        feature = features.map_type(t) if kind == "map_type" else features.prog_type(t)
        assert features.have(feature) is not bool(absent), name


@needs_root
def test_report_has_bpftool_s_shape() -> None:
    from pybpf.features.report import report

    lines = list(report())
    assert lines[0] == "Scanning system configuration..."
    for section in (
        "Scanning system call availability...",
        "Scanning eBPF program types...",
        "Scanning eBPF map types...",
        "Scanning eBPF helper functions...",
        "Scanning miscellaneous eBPF features...",
    ):
        assert section in lines
    assert "eBPF program_type xdp is available" in lines
    assert "eBPF map_type hash is available" in lines
    at = lines.index("eBPF helpers supported for program type xdp:")
    assert "\t- bpf_map_lookup_elem" in lines[at + 1 : at + 200]
    assert "bpf() syscall is available" in lines
