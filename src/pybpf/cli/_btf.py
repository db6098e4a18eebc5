"""``pybpf btf dump FILE [--format raw|c] [--base FILE]``: BTF as bpftool prints it.

The output is byte for byte that of ``bpftool btf dump file FILE [format c]`` (bpftool 7.1):
FILE is an eBPF object (its ``.BTF`` section) or a raw BTF file such as
``/sys/kernel/btf/vmlinux``. Module BTF (``/sys/kernel/btf/<module>``) is split BTF on top of
vmlinux: give the base with ``--base`` (bpftool's ``-B``), or let it default to
``/sys/kernel/btf/vmlinux`` for files in that directory, as bpftool does.
"""

from __future__ import annotations

import argparse
import sys

from pybpf.btf import BTF, format_c, format_raw

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["register"]

_SYSFS = "/sys/kernel/btf/"
_VMLINUX = _SYSFS + "vmlinux"


def register(sub: Any) -> None:
    """Add the ``btf`` command (with its ``dump`` subcommand) to the ``pybpf`` parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "btf", help="inspect BTF (dump it as bpftool does)", description=__doc__
    )
    btf_sub = parser.add_subparsers(dest="btf_command", metavar="SUBCOMMAND", required=True)
    dump = btf_sub.add_parser(
        "dump",
        help="print the types of an object's .BTF or of a raw BTF file",
        description="Print BTF types exactly as `bpftool btf dump file FILE [format c]`.",
    )
    dump.add_argument("file", metavar="FILE", help="an eBPF object or a raw BTF file")
    dump.add_argument(
        "--format",
        choices=("raw", "c"),
        default="raw",
        help="raw: one entry per type (default); c: compilable C, like vmlinux.h",
    )
    dump.add_argument(
        "-B",
        "--base",
        metavar="FILE",
        help="base BTF of split BTF (default for /sys/kernel/btf/<module>: vmlinux)",
    )
    dump.set_defaults(func=_dump)


def _dump(args: argparse.Namespace) -> int:
    try:
        base = _base(args.file, args.base)
        btf = BTF.from_path(args.file, base=base)
    except OSError as exc:
        print(f"pybpf btf dump: {exc.filename or args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    text = format_c(btf) if args.format == "c" else format_raw(btf)
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()
    return 0


def _base(path: str, base: str | None) -> BTF | None:
    if base is not None:
        return BTF.from_path(base)
    if path.startswith(_SYSFS) and path != _VMLINUX:
        return BTF.from_path(_VMLINUX)
    return None
