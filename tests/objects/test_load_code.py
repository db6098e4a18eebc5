"""The code a load hands the kernel is built from the spec's bytes, not decoded and encoded.

:func:`pybpf.objects._load.program_code` writes map fds into a parsed program's linked
image (with its relocations' edits and, after CO-RE, its patches) without decoding it; the
result must be byte for byte what encoding the decoded, patched instructions gives, for
every program of every fixture, as parsed and as relocated (against its own BTF, an
unrelated object's, and the running kernel's when present), and refuse what the decoding
path refuses with the same error. Also: RLIMIT_MEMLOCK is lifted only after an EPERM.
"""

from __future__ import annotations

import errno
import resource
from pathlib import Path

import pytest

from pybpf import features
from pybpf.asm.instruction import encode
from pybpf.btf._btf import BTF
from pybpf.errors import BPFError
from pybpf.objects import _load, _memlock
from pybpf.spec._linker import LinkedCode
from pybpf.spec.core import CoreError
from pybpf.spec.core.relocate import PatchedCode, relocate
from pybpf.spec.specs import CollectionSpec, ProgramSpec
from tests.conftest import TESTDATA

OBJ = TESTDATA / "obj"
VMLINUX = Path("/sys/kernel/btf/vmlinux")
FIXTURES = sorted(p.stem for p in OBJ.glob("*.el.*.o"))
_INSTRUCTIONS = vars(ProgramSpec)["instructions"]


def _parse(fixture: str) -> CollectionSpec | None:
    try:
        return CollectionSpec.from_file(OBJ / f"{fixture}.o")
    except BPFError:
        return None  # fixtures of bad input


def _fds(prog: ProgramSpec, spec: CollectionSpec) -> dict[str, int]:
    """A made-up fd for every map of the collection (100, 101, ...)."""
    return {name: 100 + i for i, name in enumerate(spec.maps)}


def _decoded_code(prog: ProgramSpec, fds: dict[str, int]) -> bytes | type[Exception]:
    twin = ProgramSpec(prog.name, prog.type, list(prog.instructions))  # decoded
    twin.byte_order = prog.byte_order
    try:
        return encode(_load.patch_maps(twin, fds), prog.byte_order)
    except (BPFError, ValueError) as exc:
        return type(exc)


def _fast_code(prog: ProgramSpec, fds: dict[str, int]) -> bytes | type[Exception]:
    try:
        return _load.program_code(prog, fds)
    except (BPFError, ValueError) as exc:
        return type(exc)


def _check(spec: CollectionSpec) -> int:
    """Compare both paths on every program; how many had their bytes made undecoded."""
    fast = 0
    for prog in spec.programs.values():
        pending = _INSTRUCTIONS.pending(prog)
        if isinstance(pending, (LinkedCode, PatchedCode)):
            fast += pending.image() is not None
        fds = _fds(prog, spec)
        got = _fast_code(prog, fds)  # first: the decoded path below decodes the program
        assert got == _decoded_code(prog, fds), prog.name
    return fast


@pytest.mark.parametrize("fixture", FIXTURES)
def test_parsed_programs(fixture: str) -> None:
    spec = _parse(fixture)
    if spec is None:
        pytest.skip("pybpf refuses this fixture")
    if spec.byte_order != "little":
        pytest.skip("the bytes path is for host-order programs")
    assert _check(spec) == len(spec.programs)


def _targets() -> list[tuple[str, Path]]:
    found = [("own", Path()), ("other", OBJ / "firewall.el.v3.o")]
    if VMLINUX.exists():
        found.append(("vmlinux", VMLINUX))
    return found


@pytest.mark.parametrize("target", _targets(), ids=lambda t: t[0])
@pytest.mark.parametrize("fixture", ["bs_bootstrap.el.v3", "core.el.v3", "bs_task_iter.el.v3"])
def test_relocated_programs(fixture: str, target: tuple[str, Path]) -> None:
    spec = _parse(fixture)
    assert spec is not None and isinstance(spec.btf, BTF)
    which, path = target
    if which == "own":
        btf = spec.btf
    elif which == "other":
        other = CollectionSpec.from_file(path).btf
        assert isinstance(other, BTF)
        btf = other
    else:
        btf = BTF.from_path(path)
    try:
        relocated, _ = relocate(spec, btf)
    except CoreError:
        pytest.skip("libbpf refuses this relocation too")
    assert _check(relocated) == len(relocated.programs)


def test_a_reference_to_no_map_takes_the_decoding_path() -> None:
    spec = _parse("bs_bootstrap.el.v3")
    assert spec is not None
    prog = next(iter(spec.programs.values()))
    with pytest.raises(BPFError, match="not loaded"):
        _load.program_code(prog, {})


class _Limits:
    """RLIMIT_MEMLOCK as a test sets it (nothing changes the process's real limits)."""

    def __init__(self, soft: int) -> None:
        self.soft, self.raised = soft, False

    def getrlimit(self, which: int) -> tuple[int, int]:
        return self.soft, self.soft

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        self.soft, self.raised = limits[0], True


@pytest.mark.parametrize(
    ("soft", "memcg", "err", "raised"),
    [
        (8 << 20, False, errno.EPERM, True),  # an old kernel past the limit: lift it
        (8 << 20, True, errno.EPERM, False),  # memcg accounting: the EPERM is real
        (resource.RLIM_INFINITY, False, errno.EPERM, False),  # nothing to lift
        (8 << 20, False, errno.EINVAL, False),  # not a memlock refusal
    ],
)
def test_memlock_is_lifted_only_after_an_eperm_that_needs_it(
    monkeypatch: pytest.MonkeyPatch, soft: int, memcg: bool, err: int, raised: bool
) -> None:
    limits = _Limits(soft)
    monkeypatch.setattr(_memlock, "resource", limits, raising=False)
    monkeypatch.setattr(limits, "RLIMIT_MEMLOCK", resource.RLIMIT_MEMLOCK, raising=False)
    monkeypatch.setattr(limits, "RLIM_INFINITY", resource.RLIM_INFINITY, raising=False)
    monkeypatch.setattr(_memlock, "_state", {"done": False})
    monkeypatch.setattr(features, "have", lambda feature: memcg)
    assert _memlock.memlock_raised(err) is raised
    assert limits.raised is raised
    assert _memlock.memlock_raised(err) is False  # once per process
