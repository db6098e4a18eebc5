"""``pybpf demo``: the main job on an embedded default — an XDP firewall, in the VM and in
the kernel, side by side.

The bundled firewall (``tests/testdata/src/firewall.bpf.c``, compiled by clang) parses
Ethernet/IPv4, counts packets per IPv4 source in ``COUNTERS`` and drops sources found in
``BLOCKLIST``. The demo runs it over the bundled packets (``pybpf/data/demo.pcap``) in the
user-space VM, blocks one address through the map part way, and prints each verdict and the
counters. As root, the same packets go through the kernel's ``BPF_PROG_TEST_RUN`` with the
same maps, in a column beside the VM's, and the two are compared.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
from collections.abc import MutableMapping
from pathlib import Path

from pybpf._records import field, record
from pybpf.cli._demo_data import bundled, describe, ipv4_source, read_pcap
from pybpf.errors import BPFError
from pybpf.spec import CollectionSpec, load_collection_spec
from pybpf.vm import TIERS, VM

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]

VERDICTS = {0: "ABORTED", 1: "DROP", 2: "PASS", 3: "TX", 4: "REDIRECT"}
BLOCK = "203.0.113.7"  # the scanner of the bundled capture
BLOCK_AFTER = 9  # frames run before it is blocked


@record
class Column:
    """What one runner (a VM tier or the kernel) made of the frames."""

    verdicts: list[int] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the bundled XDP firewall over bundled packets in the VM (and, as root, "
        "in the kernel beside it)",
    )
    p.add_argument("--pcap", metavar="FILE", help="Ethernet frames to run instead")
    p.add_argument("--object", metavar="FILE", help="a firewall object to run instead")
    p.add_argument("--block", default=BLOCK, help=f"the address to block (default {BLOCK})")
    p.add_argument("--after", type=int, default=BLOCK_AFTER, help="frames before blocking it")
    p.add_argument("--tier", choices=TIERS, help="the VM tier (default: jit with llvmlite)")
    p.add_argument("--no-kernel", action="store_true", help="run in the VM only")
    p.set_defaults(func=_demo)


def _inputs(args: argparse.Namespace) -> tuple[CollectionSpec, list[bytes], bytes]:
    try:
        obj = Path(args.object).read_bytes() if args.object else bundled("firewall.o")
        pcap = Path(args.pcap).read_bytes() if args.pcap else bundled("demo.pcap")
        blocked = ipaddress.IPv4Address(args.block).packed
    except OSError as exc:
        raise BPFError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except ValueError as exc:
        raise BPFError(f"--block: {exc}") from exc
    spec = load_collection_spec(obj, name="firewall")
    for need in ("BLOCKLIST", "COUNTERS"):
        if need not in spec.maps:
            raise BPFError(f"the object has no {need} map: not a firewall like the bundled one")
    return spec, [f.data for f in read_pcap(pcap)], blocked


def _kv(m: object) -> MutableMapping[Any, Any]:
    """A hash map (VM or kernel) as the mutable mapping of raw bytes both kinds offer.

    Raises:
        BPFError: the object's map is not a key/value map.
    """
    m = getattr(m, "raw", m)
    if not isinstance(m, MutableMapping):
        raise BPFError(f"{m!r} is not a hash map")
    return m


def _counters(items: list[tuple[Any, Any]]) -> dict[str, int]:
    return {
        str(ipaddress.IPv4Address(bytes(k))): int.from_bytes(bytes(v), "little") for k, v in items
    }


def _column(coll: Any, frames: list[bytes], blocked: bytes, after: int) -> Column:
    """The frames through a loaded firewall (a VM's collection or the kernel's: the same
    API), ``blocked`` put in its BLOCKLIST before frame ``after``."""
    prog = next(iter(coll.programs.values()))
    blocklist, counters = _kv(coll.maps["BLOCKLIST"]), _kv(coll.maps["COUNTERS"])
    col = Column()
    for i, frame in enumerate(frames):
        if i == after:
            blocklist[blocked] = (1).to_bytes(4, "little")
        col.verdicts.append(prog.test_run(frame).retval)
    col.counters = _counters(list(counters.items()))
    return col


def _run(
    spec: CollectionSpec, frames: list[bytes], blocked: bytes, after: int, tier: str
) -> Column:
    """The frames through the firewall in a VM on ``tier``."""
    return _column(VM(tier=tier).load_collection(spec), frames, blocked, after)  # type: ignore[arg-type]


def _kernel(spec: CollectionSpec, frames: list[bytes], blocked: bytes, after: int) -> Column:
    """The same in the kernel (``BPF_PROG_TEST_RUN``), maps created without the object's BTF.

    Raises:
        BPFError, OSError: the kernel refused (no root, no bpf(2) …).
    """
    from pybpf.objects import Collection  # noqa: PLC0415 - the kernel side only when asked

    plain = spec.copy()
    for m in plain.maps.values():
        m.btf, m.key_type, m.value_type = None, None, None
    with Collection.load(plain) as coll:
        return _column(coll, frames, blocked, after)


def _kernel_or_reason(
    spec: CollectionSpec, frames: list[bytes], blocked: bytes, after: int
) -> tuple[Column | None, str]:
    try:
        return _kernel(spec, frames, blocked, after), ""
    except (BPFError, OSError) as exc:
        errno_ = getattr(exc, "errno", None)
        if errno_ in (1, 13):  # EPERM, EACCES
            return None, "needs root (CAP_BPF) for BPF_PROG_LOAD and BPF_PROG_TEST_RUN"
        if errno_ == 38:  # ENOSYS
            return None, "this system has no bpf(2)"
        return None, f"the kernel refused: {str(exc).splitlines()[0]}"


def _default_tier() -> str:
    return "jit" if importlib.util.find_spec("llvmlite") is not None else "fast"


def _table(
    frames: list[bytes], vm: Column, kernel: Column | None, args: argparse.Namespace
) -> None:
    head = f"{'#':>3}  {'frame':<52} {'VM':>8}"
    print(head + (f" {'kernel':>8}" if kernel else ""))
    for i, frame in enumerate(frames):
        if i == args.after:
            print(f"{'':>3}  -- BLOCKLIST[{args.block}] = 1 " + "-" * 30)
        row = f"{i + 1:>3}  {describe(frame)[:52]:<52} {VERDICTS.get(vm.verdicts[i], '?'):>8}"
        if kernel:
            row += f" {VERDICTS.get(kernel.verdicts[i], '?'):>8}"
            row += "" if kernel.verdicts[i] == vm.verdicts[i] else "  <- differs"
        print(row)


def _counter_table(frames: list[bytes], vm: Column, kernel: Column | None) -> None:
    sources = sorted(vm.counters.keys() | (kernel.counters.keys() if kernel else set()))
    seen = [s for f in frames if (s := ipv4_source(f))]
    print(
        f"\nCOUNTERS (packets per IPv4 source){'':>20} {'VM':>8}"
        + (f" {'kernel':>8}" if kernel else "")
    )
    for src in sources:
        row = f"     {src:<49} {vm.counters.get(src, 0):>8}"
        if kernel:
            row += f" {kernel.counters.get(src, 0):>8}"
        print(row + f"   ({seen.count(src)} in the capture)")


def _demo(args: argparse.Namespace) -> int:
    spec, frames, blocked = _inputs(args)
    tier = args.tier or _default_tier()
    prog = next(iter(spec.programs.values()))
    print(f"XDP firewall '{prog.name}' ({prog.insn_count} instructions; maps BLOCKLIST, COUNTERS)")
    print(f"{len(frames)} frames; {args.block} blocked after frame {args.after}; VM tier {tier}\n")
    vm = _run(spec, frames, blocked, args.after, tier)
    kernel, why = (
        (None, "--no-kernel")
        if args.no_kernel
        else _kernel_or_reason(spec, frames, blocked, args.after)
    )
    _table(frames, vm, kernel, args)
    _counter_table(frames, vm, kernel)
    others = [t for t in TIERS if t != tier and (t != "jit" or _default_tier() == "jit")]
    agree = all(_same(vm, _run(spec, frames, blocked, args.after, t)) for t in others)
    print(f"\nVM tiers {', '.join([tier, *others])}: {'all agree' if agree else 'DIFFER'}")
    if kernel is None:
        print(f"kernel column absent: {why}")
        return 0 if agree else 1
    same = _same(vm, kernel)
    print("VM == kernel: same verdicts and counters" if same else "VM != kernel: see above")
    return 0 if same and agree else 1


def _same(a: Column, b: Column) -> bool:
    return a.verdicts == b.verdicts and a.counters == b.counters
