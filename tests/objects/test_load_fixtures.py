"""Every fixture object against what ``bpftool prog loadall`` (libbpf 1.1) did with it on this
machine (tests/testdata/golden/loadall.json): the objects it loads load with
:func:`pybpf.load`, the ones it refuses are refused for the same reason — except where
pybpf deliberately goes further than libbpf 1.1 (listed in ``_PYBPF_LOADS``).

The live comparison (:func:`test_xlated_equals_bpftool`) loads the same object with bpftool
and with pybpf and compares the instructions the verifier kept (``bpftool prog dump
xlated``), which shows every CO-RE, map, kconfig and ksym value patched in the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf._load as pybpf_load
from pybpf.errors import BTFError, SpecError, SyscallError, VerifierError
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.spec import load_collection_spec
from tests.conftest import GOLDEN, OBJ, tool

LOADALL = json.loads((GOLDEN / "loadall.json").read_text())
KERNEL = (GOLDEN / "VERSIONS.txt").read_text().split("kernel (load logs): ")[1].strip()

# Objects libbpf 1.1 refuses by its policy or age, which pybpf loads (and why).
_PYBPF_LOADS = {
    "maps_legacy.el.v3": "legacy `maps` definitions: libbpf >= 1.0 refuses them by policy, "
    "pybpf (like cilium/ebpf) still reads them",
    "sec_new.el.v3": "section names libbpf learnt after 1.1 (netfilter, tcx, netkit, ...): "
    "pybpf's table is libbpf 1.7's",
}


@pytest.fixture(autouse=True)
def _no_pins_left() -> Iterator[None]:
    """Remove what loading with the default pin root pinned by name (``pybpf_pin_*`` maps
    of the fixtures, pinned by pybpf and by bpftool alike) and was not there before."""
    before = set(os.listdir(BPFFS_ROOT)) if os.path.isdir(BPFFS_ROOT) else set()
    yield
    if os.path.isdir(BPFFS_ROOT):
        for name in set(os.listdir(BPFFS_ROOT)) - before:
            if name.startswith("pybpf_pin_"):
                os.unlink(os.path.join(BPFFS_ROOT, name))


def _loadable() -> list[str]:
    return sorted(k for k, v in LOADALL.items() if v["loaded"])


def _refused() -> list[str]:
    return sorted(k for k, v in LOADALL.items() if v["loaded"] is False)


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: loading programs requires CAP_BPF or CAP_SYS_ADMIN")


def _autoload(name: str) -> set[str]:
    spec = load_collection_spec(OBJ / f"{name}.o")
    return {n for n, p in spec.programs.items() if p.autoload}


@pytest.mark.parametrize("name", _loadable())
def test_what_bpftool_loads_pybpf_loads(name: str) -> None:
    _require_root()
    with pybpf_load.load(OBJ / f"{name}.o") as coll:
        assert set(coll.programs) == _autoload(name)
        for prog in coll.programs.values():
            assert prog.info().xlated_size > 0


@pytest.mark.parametrize("name", sorted(_PYBPF_LOADS))
def test_objects_pybpf_loads_beyond_libbpf_1_1(name: str) -> None:
    _require_root()
    assert LOADALL[name]["loaded"] is False
    with pybpf_load.load(OBJ / f"{name}.o") as coll:
        assert set(coll.programs) == _autoload(name)


def _refusal(name: str) -> Exception:
    with pytest.raises((SyscallError, SpecError, BTFError)) as caught:
        pybpf_load.load(OBJ / f"{name}.o").close()
    return caught.value


@pytest.mark.parametrize("name", [n for n in _refused() if n not in _PYBPF_LOADS])
def test_what_bpftool_refuses_pybpf_refuses_alike(name: str) -> None:
    _require_root()
    if os.uname().release != KERNEL:
        pytest.skip(f"loadall.json records kernel {KERNEL}; this is {os.uname().release}")
    golden = LOADALL[name]
    exc = _refusal(name)
    if "verifier" in golden:  # the verifier's last word, as libbpf explained it
        assert isinstance(exc, VerifierError)
        assert golden["verifier"] in exc.log
        assert f"program {golden['program']!r}" in str(exc)
    elif golden["reason"] == "Operation not permitted":  # the kernel refuses the type here
        assert isinstance(exc, SyscallError) and exc.errno == 1
        assert f"program {golden['program']!r}" in str(exc)
    elif "not resolved" in golden["reason"]:  # extern 'init_task' (strong): not resolved
        assert isinstance(exc, SpecError)
        assert golden["reason"] in str(exc)
    else:  # the halves of a linked object: externs only the linker resolves
        assert name.startswith("link_") and isinstance(exc, BTFError)
        assert "link the objects first" in str(exc)


def _normalized(text: str) -> str:
    """An xlated dump without what differs between two loads of the same object (map ids),
    nor between a uprobe and a uprobe-multi program: pybpf loads USDT programs as
    ``TRACE_UPROBE_MULTI`` where the kernel has uprobe-multi links, as libbpf >= 1.3 does
    and 1.1 did not, so their cookie helper differs — and with it the tag of the
    subprogram calling it (the instructions themselves are still compared)."""
    text = re.sub(r"map\[id:\d+\]", "map[id]", text)
    text = re.sub(r"bpf_get_attach_cookie_\w+#-?\d+", "bpf_get_attach_cookie", text)
    return re.sub(r"#bpf_prog_[0-9a-f]{16}_", "#bpf_prog_<tag>_", text)


def _xlated(bpftool: str, path: str) -> str:
    out = subprocess.run(
        [bpftool, "prog", "dump", "xlated", "pinned", path],
        capture_output=True,
        text=True,
        check=True,
    )
    return _normalized(out.stdout)


@pytest.fixture
def pindirs() -> Iterator[tuple[str, str]]:
    base = os.path.join(BPFFS_ROOT, f"pybpf_xlated_{os.getpid()}")
    yield f"{base}_bpftool", f"{base}_pybpf"
    for d in (f"{base}_bpftool", f"{base}_pybpf"):
        shutil.rmtree(d, ignore_errors=True)


_COMPARED = [
    n
    for n in _loadable()
    if n.startswith(("bs_", "core", "globals", "externs", "maps", "btf_kinds", "isa_calls"))
    or n in ("linked.el.v3", "struct_ops.el.v3", "sec_btf.el.v3", "firewall.el.v3")
]


_WRAPPER = re.compile(r"extern \(kcfg\) 'LINUX_HAS_SYSCALL_WRAPPER': set to (0x\d+)")


def _libbpf_wrapper(name: str) -> dict[str, int]:
    """libbpf's LINUX_HAS_SYSCALL_WRAPPER for this object, from its golden log.

    libbpf asks by creating a kprobe on ``__<arch>_sys_bpf``; where kprobes cannot be
    created (this machine) it says 0 although the wrapper exists, and pybpf says 1 (see
    pybpf.objects._load_kernel.has_syscall_wrapper). The comparison takes libbpf's value.
    """
    found = _WRAPPER.search((GOLDEN / name / "load.log").read_text())
    if found is None:
        return {}
    if os.uname().release != KERNEL:
        pytest.skip(f"libbpf's LINUX_HAS_SYSCALL_WRAPPER is recorded for kernel {KERNEL}")
    return {"LINUX_HAS_SYSCALL_WRAPPER": int(found.group(1), 16)}


@pytest.mark.parametrize("name", _COMPARED)
def test_xlated_equals_bpftool(name: str, pindirs: tuple[str, str]) -> None:
    """CO-RE, kconfig, ksyms, kfuncs and maps patched exactly as libbpf patches them."""
    _require_root()
    bpftool = tool("bpftool")
    theirs, ours = pindirs
    obj = str(OBJ / f"{name}.o")
    kconfig = _libbpf_wrapper(name)
    argv = [bpftool, "prog", "loadall", obj, theirs]
    done = subprocess.run(argv, capture_output=True, check=False)
    if done.returncode:
        pytest.skip(f"bpftool could not load {name}: {done.stderr.decode()[-200:]}")
    with pybpf_load.load(obj, kconfig=kconfig) as coll:
        for prog_name, prog in coll.programs.items():
            prog.pin(os.path.join(ours, prog_name))
    for prog_name in sorted(os.listdir(theirs)):
        mine = _xlated(bpftool, os.path.join(ours, prog_name))
        assert mine == _xlated(bpftool, os.path.join(theirs, prog_name)), prog_name


def test_golden_lists_every_object() -> None:
    objects = {p.name.removesuffix(".o") for p in Path(OBJ).glob("*.o")}
    assert objects == set(LOADALL)
