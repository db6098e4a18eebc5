#!/usr/bin/env python3
"""Regenerate tests/testdata/golden/ from the objects in obj/ with the reference tools.

Usage (from anywhere; as root for the kernel part)::

    python3 tests/testdata/gen_golden.py            # every object, load logs included
    python3 tests/testdata/gen_golden.py --no-load  # tool outputs only (no root needed)
    python3 tests/testdata/gen_golden.py isa_alu core   # only objects of these fixtures

For each object ``obj/STEM.o`` (STEM = NAME.<el|eb>.<v1..v4>) it writes ``golden/STEM/``:

==================  =======================================================================
objdump.txt         ``llvm-objdump-19 -d STEM.o``
objdump-alu32.txt   ``llvm-objdump-19 -d --mattr=+alu32 STEM.o`` (v3 and v4 objects)
objdump-r.txt       ``llvm-objdump-19 -d -r STEM.o`` (one object per fixture: el.v3, else
                    the first variant the source lists)
readelf.txt         ``llvm-readelf-19 -S -s -r --wide STEM.o``
btf.txt, btf.h      ``bpftool btf dump file STEM.o`` and ``... format c``
load.log            (little-endian objects) ``bpftool -d prog loadall STEM.o PINDIR``: libbpf's
                    debug log, with the verifier logs of programs that loaded left out, the
                    logs of refused programs cut to their last lines, "verification time"
                    lines dropped and kernel addresses written as 0x<kaddr>
core.txt            the CO-RE lines of load.log (objects with CO-RE relocations)
==================  =======================================================================

and ``golden/loadall.json`` (did ``bpftool prog loadall`` load each object on this machine, and
if not, which program failed, the errno text and the verifier's last word) plus
``golden/VERSIONS.txt`` (the tools and kernel).
Every tool runs in obj/ on the bare file name, so outputs name ``STEM.o``, not a path. A
file over GZIP_OVER bytes is stored as ``NAME.gz`` (gzip, mtime 0: deterministic).

Pins: programs are pinned under /sys/fs/bpf/pybpf-golden/ (removed afterwards); maps pinned
by name (fixtures name them ``pybpf_pin_*``) land in /sys/fs/bpf and are removed when this
run created them. bpffs is mounted on /sys/fs/bpf when it is not (and left mounted).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OBJ = HERE / "obj"
SRC = HERE / "src"
GOLDEN = HERE / "golden"

OBJDUMP = "llvm-objdump-19"
READELF = "llvm-readelf-19"
BPFTOOL = "bpftool"
CLANG = "clang-19"

BPFFS = Path("/sys/fs/bpf")
PIN_ROOT = BPFFS / "pybpf-golden"
PIN_PREFIX = "pybpf_pin_"

GZIP_OVER = 256 * 1024
FAILED_LOG_TAIL = 40

KERNEL_ADDRESS = re.compile(r"0xffff[0-9a-f]{12}")
CORE_LINE = re.compile(
    r"^libbpf: (prog '[^']+': relo #|CO-RE relocating|sec '[^']+': found \d+ CO-RE)"
)
PROG_FAILED = re.compile(r"^libbpf: prog '([^']+)': BPF program load failed: (.*)$")
LOG_BEGIN = re.compile(r"^libbpf: prog '([^']+)': -- BEGIN PROG LOAD LOG --$")
LOG_END = "-- END PROG LOAD LOG --"
ERROR_HINT = re.compile(r"not supported|unrecognized|not resolved|not found|failed to find")


@dataclass(frozen=True)
class Target:
    """One object file: obj/NAME.ENDIAN.CPU.o."""

    path: Path

    @property
    def stem(self) -> str:
        return self.path.name[: -len(".o")]

    @property
    def name(self) -> str:
        return self.stem.split(".")[0]

    @property
    def endian(self) -> str:
        return self.stem.split(".")[1]

    @property
    def cpu(self) -> str:
        return self.stem.split(".")[2]


def listed_variants(name: str) -> list[str]:
    """The variants a fixture source lists on its ``// pybpf-variants:`` line."""
    source = SRC / f"{name}.bpf.c"
    if not source.exists():  # the linked object has no source of its own
        source = SRC / "link_a.bpf.c"
        tag = "// pybpf-linked:"
    else:
        tag = "// pybpf-variants:"
    for line in source.read_text().splitlines():
        if line.startswith(tag):
            return line[len(tag) :].split()
    return []


def wants_relocs(target: Target) -> bool:
    """One -d -r listing per fixture: its el.v3 object, else its first listed variant."""
    variants = listed_variants(target.name)
    chosen = "el.v3" if "el.v3" in variants else (variants[0] if variants else "")
    return f"{target.endian}.{target.cpu}" == chosen


def run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a tool in obj/, capturing stdout and stderr as text."""
    proc = subprocess.run(cmd, cwd=OBJ, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def write(directory: Path, name: str, text: str) -> None:
    """Write a golden file, gzip-compressed (NAME.gz) when large; drop the other form."""
    directory.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    plain, packed = directory / name, directory / f"{name}.gz"
    if len(data) > GZIP_OVER:
        packed.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        plain.unlink(missing_ok=True)
    else:
        plain.write_bytes(data)
        packed.unlink(missing_ok=True)


def tool_outputs(target: Target) -> None:
    """The outputs of llvm-objdump, llvm-readelf and bpftool btf dump for one object."""
    out = GOLDEN / target.stem
    file = target.path.name
    write(out, "objdump.txt", run([OBJDUMP, "-d", file]).stdout)
    if target.cpu in ("v3", "v4"):
        write(out, "objdump-alu32.txt", run([OBJDUMP, "-d", "--mattr=+alu32", file]).stdout)
    if wants_relocs(target):
        write(out, "objdump-r.txt", run([OBJDUMP, "-d", "-r", file]).stdout)
    write(out, "readelf.txt", run([READELF, "-S", "-s", "-r", "--wide", file]).stdout)
    write(out, "btf.txt", run([BPFTOOL, "btf", "dump", "file", file]).stdout)
    write(out, "btf.h", run([BPFTOOL, "btf", "dump", "file", file, "format", "c"]).stdout)


def filter_load_log(raw: str) -> str:
    """Keep libbpf's lines; keep a refused program's verifier log tail; make it stable."""
    lines = raw.splitlines()
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if LOG_BEGIN.match(line):
            end = i + 1
            while end < len(lines) and lines[end] != LOG_END:
                end += 1
            failed = bool(kept) and PROG_FAILED.match(kept[-1]) is not None
            if failed:
                body = [x for x in lines[i + 1 : end] if not x.startswith("verification time")]
                if len(body) > FAILED_LOG_TAIL:
                    omitted = len(body) - FAILED_LOG_TAIL
                    body = [f"... ({omitted} earlier lines left out)", *body[-FAILED_LOG_TAIL:]]
                kept += [line, *body, LOG_END]
            i = end + 1
            continue
        kept.append(line)
        i += 1
    return KERNEL_ADDRESS.sub("0x<kaddr>", "\n".join(kept) + "\n")


def load_verdict(returncode: int, log: str) -> dict[str, object]:
    """What loadall.json says about one load: success, or which program failed and why."""
    if returncode == 0:
        return {"loaded": True}
    verdict: dict[str, object] = {"loaded": False}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        failed = PROG_FAILED.match(line)
        if failed:
            verdict["program"] = failed.group(1)
            verdict["reason"] = failed.group(2)
            message = verifier_message(lines[i + 1 :])
            if message:
                verdict["verifier"] = message
            return verdict
    libbpf = [x[len("libbpf: ") :] for x in log.splitlines() if x.startswith("libbpf: ")]
    hints = [x for x in libbpf if ERROR_HINT.search(x) and not x.startswith("failed to open '/")]
    verdict["reason"] = (hints or libbpf or [log.strip()])[0]
    return verdict


def verifier_message(lines: list[str]) -> str | None:
    """The verifier's complaint: the last line of the log that is not a statistic."""
    if not lines or not LOG_BEGIN.match(lines[0]):
        return None
    body = lines[1 : lines.index(LOG_END)] if LOG_END in lines else lines[1:]
    stats = ("stack depth", "processed ", "verification time", "mark_precise")
    words = [x for x in body if x.strip() and not x.startswith(stats)]
    return words[-1] if words else None


def ensure_bpffs() -> None:
    """Mount bpffs on /sys/fs/bpf when it is not there (it stays mounted)."""
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    if not any(m.split()[1:3] == [str(BPFFS), "bpf"] for m in mounts if m):
        subprocess.run(["mount", "-t", "bpf", "bpf", str(BPFFS)], check=True)


def load(target: Target) -> dict[str, object]:
    """bpftool -d prog loadall, its filtered log written; returns the loadall.json entry."""
    pins = PIN_ROOT / target.stem.replace(".", "_")
    shutil.rmtree(pins, ignore_errors=True)
    before = {p.name for p in BPFFS.iterdir()}
    proc = run([BPFTOOL, "-d", "prog", "loadall", target.path.name, str(pins)], check=False)
    shutil.rmtree(pins, ignore_errors=True)
    for pinned in BPFFS.iterdir():
        if pinned.name.startswith(PIN_PREFIX) and pinned.name not in before:
            pinned.unlink()
    log = filter_load_log(proc.stdout + proc.stderr)
    out = GOLDEN / target.stem
    write(out, "load.log", log)
    core = "".join(line + "\n" for line in log.splitlines() if CORE_LINE.match(line))
    if core:
        write(out, "core.txt", core)
    else:
        (out / "core.txt").unlink(missing_ok=True)
    return load_verdict(proc.returncode, log)


def load_all(targets: list[Target]) -> None:
    """Load every little-endian object; update golden/loadall.json."""
    path = GOLDEN / "loadall.json"
    results: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    ensure_bpffs()
    PIN_ROOT.mkdir(exist_ok=True)
    try:
        for target in targets:
            if target.endian == "eb":
                results[target.stem] = {
                    "loaded": None,
                    "reason": "big-endian object: not loadable on this little-endian host",
                }
                continue
            results[target.stem] = load(target)
            print(f"  load {target.stem}: {results[target.stem]}")
    finally:
        shutil.rmtree(PIN_ROOT, ignore_errors=True)
    known = {p.name[: -len(".o")] for p in OBJ.glob("*.o")}
    results = {k: v for k, v in sorted(results.items()) if k in known}
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def versions(loaded: bool) -> str:
    """The versions of everything that shaped the goldens (the kernel's: of the load logs)."""

    def first_lines(cmd: list[str], count: int = 1) -> str:
        proc = run(cmd, check=False)
        return "\n".join((proc.stdout or proc.stderr).strip().splitlines()[:count])

    llvm = [x.strip() for x in run([OBJDUMP, "--version"]).stdout.splitlines() if "version" in x]
    return "\n".join(
        [
            f"clang: {first_lines([CLANG, '--version'])}",
            f"llvm-objdump/llvm-readelf: {llvm[0] if llvm else '?'}",
            "bpftool: " + first_lines([BPFTOOL, "version"], 2).replace("\n", "; "),
            f"kernel (load logs): {kernel_release(loaded)}",
            "",
        ]
    )


def kernel_release(loaded: bool) -> str:
    """This kernel when the load logs were just made, else what the last full run recorded."""
    if loaded:
        return os.uname().release
    path = GOLDEN / "VERSIONS.txt"
    old = path.read_text().splitlines() if path.exists() else []
    tag = "kernel (load logs): "
    return next((x[len(tag) :] for x in old if x.startswith(tag)), "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only the objects of these fixtures")
    parser.add_argument("--no-load", action="store_true", help="skip bpftool prog loadall")
    args = parser.parse_args()

    for tool in (OBJDUMP, READELF, BPFTOOL):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install llvm-19 bpftool)")
    targets = [Target(p) for p in sorted(OBJ.glob("*.o"))]
    if args.names:
        targets = [t for t in targets if t.name in args.names]
    else:  # a full run: forget goldens of objects that are gone
        for stale in GOLDEN.iterdir() if GOLDEN.exists() else []:
            if stale.is_dir() and not (OBJ / f"{stale.name}.o").exists():
                shutil.rmtree(stale)
    for target in targets:
        print(f"golden {target.stem}")
        tool_outputs(target)
    loaded = not args.no_load and os.geteuid() == 0
    if not args.no_load and not loaded:
        print("not root: load logs and loadall.json left as they are", file=sys.stderr)
    if loaded:
        load_all(targets)
    (GOLDEN / "VERSIONS.txt").write_text(versions(loaded))


if __name__ == "__main__":
    main()
