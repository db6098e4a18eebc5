"""Externs: ``.kconfig`` values (libbpf's parsing rules, table-driven, no kernel needed) and,
on the kernel, the kconfig, ksym and kfunc externs of tests/testdata/src/externs.bpf.c as
its programs read them, compared with libbpf's own log of the same load."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable

import pytest

import pybpf._load as pybpf_load
from pybpf.errors import SpecError
from pybpf.features import kernel_version_code
from pybpf.objects._kconfig import KernelFacts, kconfig_image, read_kernel_config
from pybpf.objects._ksyms import POISON_KFUNC_BASE, Resolved, explain_kfunc_log, patch_externs
from pybpf.objects._load_kernel import kallsyms
from pybpf.spec import ExternKind, ExternSpec, KconfigType, load_collection_spec
from tests.conftest import GOLDEN, OBJ
from tests.objects.progs import op

OBJECT = OBJ / "externs.el.v3.o"
KERNEL = (GOLDEN / "VERSIONS.txt").read_text().split("kernel (load logs): ")[1].strip()
K = KconfigType


def kcfg(name: str, kind: KconfigType, size: int, *, weak: bool = False, signed: bool = False):
    return ExternSpec(name, ExternKind.KCONFIG, weak, None, 0, 0, 0, size, kind, signed)


def facts(config: Iterable[str] | None = (), version: int = 0x6122C) -> KernelFacts:
    lines = list(config) if config is not None else None
    return KernelFacts(lambda: version, lambda: True, lambda: False, lambda: lines)


def image(ext: ExternSpec, line: str | None = None, **kw: object) -> bytes:
    config = [line] if line is not None else []
    return kconfig_image([ext], ext.size, facts(config), **kw)  # type: ignore[arg-type]


# (extern, .config line, the bytes libbpf writes)
VALUES = [
    (kcfg("CONFIG_A", K.BOOL, 1), "CONFIG_A=y", b"\1"),
    (kcfg("CONFIG_A", K.BOOL, 1), "CONFIG_A=n", b"\0"),
    (kcfg("CONFIG_A", K.TRISTATE, 4), "CONFIG_A=y", (1).to_bytes(4, "little")),
    (kcfg("CONFIG_A", K.TRISTATE, 4), "CONFIG_A=m", (2).to_bytes(4, "little")),
    (kcfg("CONFIG_A", K.TRISTATE, 4), "CONFIG_A=n", bytes(4)),
    (kcfg("CONFIG_A", K.CHAR, 1), "CONFIG_A=m", b"m"),
    (kcfg("CONFIG_A", K.CHAR, 1), "CONFIG_A=65", b"A"),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A=250", (250).to_bytes(4, "little")),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A=0x10", (16).to_bytes(4, "little")),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A=010", (8).to_bytes(4, "little")),
    (kcfg("CONFIG_A", K.INT, 4, signed=True), "CONFIG_A=-1", b"\xff" * 4),
    (kcfg("CONFIG_A", K.INT, 8), "CONFIG_A=18446744073709551615", b"\xff" * 8),
    (kcfg("CONFIG_A", K.INT, 2), "CONFIG_A=65535", b"\xff\xff"),
    (kcfg("CONFIG_A", K.CHAR_ARRAY, 8), 'CONFIG_A="(none)"', b"(none)\0\0"),
    (kcfg("CONFIG_A", K.CHAR_ARRAY, 4), 'CONFIG_A="toolong"', b"too\0"),
    (kcfg("CONFIG_A", K.CHAR_ARRAY, 4), 'CONFIG_A=""', b"\0\0\0\0"),
    (kcfg("CONFIG_A", K.INT, 4, weak=True), None, bytes(4)),
    (kcfg("CONFIG_A", K.INT, 4, weak=True), "CONFIG_B=y", bytes(4)),
    (kcfg("CONFIG_A", K.INT, 4, weak=True), "# CONFIG_A is not set", bytes(4)),
]


@pytest.mark.parametrize(("ext", "line", "want"), VALUES)
def test_kconfig_values_as_libbpf_writes_them(ext: ExternSpec, line: str, want: bytes) -> None:
    assert image(ext, line) == want


# (extern, .config line, libbpf's complaint)
REFUSED = [
    (kcfg("CONFIG_A", K.BOOL, 1), "CONFIG_A=m", "implies tristate or char"),
    (kcfg("CONFIG_A", K.BOOL, 1), "CONFIG_A=1", "implies integer type"),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A=y", "implies bool, tristate, or char"),
    (kcfg("CONFIG_A", K.INT, 4), 'CONFIG_A="x"', "implies char array"),
    (kcfg("CONFIG_A", K.INT, 1), "CONFIG_A=256", "doesn't fit in 1 bytes"),
    (kcfg("CONFIG_A", K.INT, 4, signed=True), "CONFIG_A=2147483648", "doesn't fit"),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A=12abc", "isn't a valid integer"),
    (kcfg("CONFIG_A", K.TRISTATE, 4), "CONFIG_A=3", "implies integer type"),
    (kcfg("CONFIG_A", K.CHAR_ARRAY, 4), 'CONFIG_A="open', "invalid string config"),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A=", "no value"),
    (kcfg("CONFIG_A", K.INT, 4), "CONFIG_A", "no separator"),
    (kcfg("CONFIG_A", K.INT, 4), None, "(strong): not resolved"),
    (kcfg("LINUX_NOT_A_THING", K.INT, 4), None, "unrecognized virtual extern"),
    (kcfg("NOT_CONFIG", K.INT, 4, weak=True), None, "unrecognized virtual extern"),
]


@pytest.mark.parametrize(("ext", "line", "reason"), REFUSED)
def test_kconfig_values_libbpf_refuses(ext: ExternSpec, line: str | None, reason: str) -> None:
    with pytest.raises(SpecError, match=re.escape(reason)):
        image(ext, line)


def test_virtual_externs() -> None:
    exts = [
        kcfg("LINUX_KERNEL_VERSION", K.INT, 4),
        kcfg("LINUX_HAS_BPF_COOKIE", K.BOOL, 1),
        kcfg("LINUX_HAS_SYSCALL_WRAPPER", K.BOOL, 1),
        kcfg("LINUX_UNKNOWN_BUT_WEAK", K.INT, 4, weak=True),
    ]
    exts[1].offset, exts[2].offset, exts[3].offset = 4, 5, 8
    data = kconfig_image(exts, 12, facts())
    assert data == (0x6122C).to_bytes(4, "little") + b"\1\0\0\0" + bytes(4)
    with pytest.raises(SpecError, match="failed to get kernel version"):
        kconfig_image(exts[:1], 4, facts(version=0))


def test_overrides_come_first() -> None:
    hz, host = kcfg("CONFIG_HZ", K.INT, 4), kcfg("CONFIG_HOST", K.CHAR_ARRAY, 8)
    host.offset = 4
    lines = ["CONFIG_HZ=250", 'CONFIG_HOST="box"']
    got = kconfig_image([hz, host], 12, facts(lines), {"CONFIG_HZ": 1000})
    assert got == (1000).to_bytes(4, "little") + b"box\0\0\0\0\0"
    got = kconfig_image([hz, host], 12, facts(lines), 'CONFIG_HOST="pybpf"\n')
    assert got == (250).to_bytes(4, "little") + b"pybpf\0\0\0"
    got = kconfig_image([hz, host], 12, facts(lines), {"CONFIG_HOST": "raw"})
    assert got[4:] == b"raw\0\0\0\0\0"
    lsm = kcfg("CONFIG_LSM", K.TRISTATE, 4)
    assert kconfig_image([lsm], 4, facts(None), {"CONFIG_LSM": "m"}) == b"\2\0\0\0"
    flag = kcfg("LINUX_HAS_BPF_COOKIE", K.BOOL, 1)
    assert kconfig_image([flag], 1, facts(), {"LINUX_HAS_BPF_COOKIE": False}) == b"\0"
    assert kconfig_image([flag], 1, facts(), {"LINUX_HAS_BPF_COOKIE": 1}) == b"\1"
    with pytest.raises(SpecError, match="isn't boolean compatible"):
        kconfig_image([flag], 1, facts(), {"LINUX_HAS_BPF_COOKIE": 2})


def test_no_kernel_config_at_all() -> None:
    weak = kcfg("CONFIG_X", K.INT, 4, weak=True)
    assert kconfig_image([weak], 4, facts(None)) == bytes(4)
    strong = kcfg("CONFIG_Y", K.BOOL, 1)
    with pytest.raises(SpecError, match=r"'CONFIG_Y' \(strong\): not resolved \(no kernel config"):
        kconfig_image([strong], 1, facts(None))


def test_reading_the_kernel_config_reads_what_libbpf_reads() -> None:
    lines = read_kernel_config()
    boot = f"/boot/config-{os.uname().release}"
    if lines is None:
        assert not os.path.exists(boot) and not os.path.exists("/proc/config.gz")
        return
    if os.path.exists(boot):
        with open(boot) as f:
            assert list(lines) == f.read().splitlines()
    else:
        with gzip.open("/proc/config.gz", "rt") as f:
            assert list(lines) == f.read().splitlines()


def test_kfunc_and_ksym_patching() -> None:
    spec = load_collection_spec(OBJECT)
    prog = spec.programs["read_ksyms"]
    found = {
        "vfs_read": Resolved(address=0xFFFFFFFF816BAB70),
        "bpf_rcu_read_lock": Resolved(btf_id=100),
        "bpf_rcu_read_unlock": Resolved(btf_id=101, btf_fd=9, fd_index=1),
    }
    insns = patch_externs(prog.instructions, spec.externs, found)
    assert not any(i.ref in spec.externs for i in insns)
    calls = [i for i in insns if i.opcode == 0x85 and i.src == 2]
    assert {(i.imm, i.off) for i in calls} == {(100, 0), (101, 1)}
    index = list(spec.externs).index("pybpf_no_such_kfunc")
    poisoned = [i for i in insns if i.opcode == 0x85 and i.imm >= POISON_KFUNC_BASE]
    assert [i.imm for i in poisoned] == [POISON_KFUNC_BASE + index]
    wide = [i for i in insns if i.is_wide and i.src == 0 and i.imm64 == 0xFFFFFFFF816BAB70]
    assert len(wide) == 1


def test_a_reached_poisoned_kfunc_call_is_explained() -> None:
    log = "5: (85) call unknown#2002000003\ninvalid func unknown#2002000003\n"
    got = explain_kfunc_log(log, ["a", "b", "c", "missing_kfunc"])
    assert got == (
        "5: <invalid kfunc call>\nkfunc 'missing_kfunc' is referenced but wasn't resolved\n"
    )


def test_kallsyms_lookup(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "kallsyms")
    with open(path, "w") as f:
        f.write(
            "ffffffff81000000 T _stext\n"
            "ffffffff81000010 T vfs_read\n"
            "ffffffff81000020 d counter.llvm.123456\n"
            "ffffffff81000030 t helper\t[mod]\n"
            "ffffffff81000040 T vfs_read_more\n"
        )
    got = kallsyms(["vfs_read", "counter", "helper", "absent", "vfs"], path)
    assert got == {
        "vfs_read": 0xFFFFFFFF81000010,
        "counter": 0xFFFFFFFF81000020,
        "helper": 0xFFFFFFFF81000030,
    }
    with open(path, "a") as f:
        f.write("ffffffff81000050 t vfs_read\n")
    with pytest.raises(SpecError, match="ambiguous"):
        kallsyms(["vfs_read"], path)


# -- on the kernel ---------------------------------------------------------------------------
def _golden(pattern: str) -> list[str]:
    return re.findall(pattern, (GOLDEN / "externs.el.v3" / "load.log").read_text())


def _config() -> dict[str, str]:
    out = {}
    for line in read_kernel_config() or ():
        name, sep, value = line.partition("=")
        if sep and name.startswith("CONFIG_"):
            out[name] = value
    return out


def test_kconfig_as_programs_read_it(kernel: None) -> None:
    config = _config()
    with pybpf_load.load(OBJECT) as coll:
        assert coll.programs["read_kconfig"].test_run(ctx=b"").retval == 0
        got = coll.variables["kconfig_out"].value
    assert got.kernel_version == kernel_version_code()
    assert got.hz == int(config["CONFIG_HZ"])
    assert got.bpf_syscall == (config.get("CONFIG_BPF_SYSCALL") == "y")
    assert got.bpf_lsm == {"y": 1, "m": 2}.get(config.get("CONFIG_BPF_LSM", "n"), 0)
    assert got.unknown_int == 0 and got.unknown_bool == 0
    assert got.hostname == config.get("CONFIG_DEFAULT_HOSTNAME", '""').strip('"').encode()
    if os.uname().release == KERNEL:  # the values libbpf set, in its own words
        (version,) = _golden(r"'LINUX_KERNEL_VERSION': set to (0x[0-9a-f]+)")
        assert got.kernel_version == int(version, 16)
        (hz,) = _golden(r"'CONFIG_HZ': set to (\d+)")
        assert got.hz == int(hz)


def test_kconfig_overrides_reach_the_program(kernel: None) -> None:
    kconfig = {"CONFIG_HZ": 1000, "CONFIG_PYBPF_NOT_AN_OPTION": 7, "LINUX_KERNEL_VERSION": 5}
    with pybpf_load.load(OBJECT, kconfig=kconfig) as coll:
        coll.programs["read_kconfig"].test_run(ctx=b"")
        got = coll.variables["kconfig_out"].value
    assert (got.hz, got.unknown_int, got.kernel_version) == (1000, 7, 5)


def test_ksyms_as_programs_read_them(kernel: None) -> None:
    with pybpf_load.load(OBJECT) as coll:
        assert coll.programs["read_ksyms"].test_run(ctx=b"").retval == 0
        got = coll.variables["ksym_out"].value
    assert got[0] == kallsyms(["vfs_read"])["vfs_read"] != 0  # untyped: its address
    assert got[3] == 0 and got[4] == 0  # weak, not found: zero
    assert got[5] == 0  # bpf_ksym_exists(pybpf_no_such_kfunc)


def test_kfuncs_resolve_to_libbpf_ids(kernel: None) -> None:
    spec = load_collection_spec(OBJECT)
    with pybpf_load.load(spec, programs=["read_ksyms"]) as coll:
        insns = coll.programs["read_ksyms"].spec.instructions  # type: ignore[union-attr]
    ids = sorted(i.imm for i in insns if i.opcode == 0x85 and i.src == 2)
    assert len(ids) == 2
    if os.uname().release == KERNEL:
        golden = _golden(r"'(bpf_rcu_read_\w+)': resolved to kernel \[(\d+)\]")
        assert ids == sorted(int(i) for _, i in golden)


def test_a_strong_ksym_the_kernel_lacks(kernel: None) -> None:
    spec = load_collection_spec(OBJECT)
    spec.externs["pybpf_no_such_symbol"].weak = False
    with pytest.raises(SpecError, match=r"'pybpf_no_such_symbol' \(strong\): not resolved"):
        pybpf_load.load(spec)
    # only the programs loaded need their externs resolved
    with pybpf_load.load(spec, programs=["read_kconfig"]) as coll:
        assert set(coll.programs) == {"read_kconfig"}


def test_weak_kfunc_call_reached_is_explained(kernel: None) -> None:
    spec = load_collection_spec(OBJECT)
    prog = spec.programs["read_ksyms"]
    insns = list(prog.instructions)
    # drop the bpf_ksym_exists() guard: make the jump around the call fall through
    for i, insn in enumerate(insns):
        if insn.opcode == 0x15 and insns[i + 2].ref == "pybpf_no_such_kfunc":
            insns[i] = op("JMP.JA", off=0)
    prog.instructions = insns
    with pytest.raises(Exception, match="kfunc 'pybpf_no_such_kfunc' is referenced but"):
        pybpf_load.load(spec, programs=["read_ksyms"])
