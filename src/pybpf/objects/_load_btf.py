"""The collection's own BTF in the kernel, and the func/line info programs load with.

As libbpf's ``bpf_object__sanitize_and_load_btf``: the object's BTF with libbpf's fix-ups
(``CollectionSpec.btf_fixups``: DATASEC sizes and offsets, externs, hidden functions) and
the kinds the kernel lacks sanitised away (:mod:`pybpf.objects._sanitize`) is loaded once;
maps name their key and value types in it and programs their ``func_info``/``line_info``.
It is optional — a kernel that refuses it gets maps and programs without BTF — except for
struct_ops, whose programs and map the kernel checks against it.

Records as the kernel reads them (``struct bpf_func_info``, ``struct bpf_line_info`` in
include/uapi/linux/bpf.h), host byte order, ``insn_off`` in instruction slots::

    func_info  | insn_off u32 | type_id u32 |
    line_info  | insn_off u32 | file_name_off u32 | line_off u32 | line_col u32 |
"""

from __future__ import annotations

import struct

from pybpf._records import record
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import Kind
from pybpf.errors import NotSupportedError, SyscallError, VerifierError
from pybpf.features import btf_kind, have
from pybpf.features._core import known
from pybpf.features.btf import BTF_KINDS
from pybpf.objects._sanitize import QMARK_DATASEC, sanitized
from pybpf.objects.btf import BTFHandle
from pybpf.spec import CollectionSpec, ProgramSpec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.btf.types import Type

__all__ = ["LoadedBTF", "ext_info", "load_collection_btf"]

_FUNC_INFO = struct.Struct("=II")
_LINE_INFO = struct.Struct("=IIII")


@record
class LoadedBTF:
    """The collection's BTF as loaded (``handle`` ``None`` when the kernel took none, with
    ``error`` saying why), whether programs may carry func/line info, and ``fixed``: the
    BTF with libbpf's fix-ups (not sanitised), whose DATASECs have their sizes — what the
    maps' typed keys and values are read with."""

    handle: BTFHandle | None
    error: str = ""
    func_info: bool = False
    fixed: BTF | None = None

    def fileno(self) -> int:
        return self.handle.fileno() if self.handle is not None else 0

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def load_collection_btf(spec: CollectionSpec, *, mandatory: bool) -> LoadedBTF:
    """Load the collection's BTF, fixed up and sanitised for the running kernel.

    Raises:
        NotSupportedError: ``mandatory`` and the kernel has no BTF support.
        VerifierError, SyscallError: ``mandatory`` and the kernel refused the BTF.
    """
    btf = spec.btf
    if not isinstance(btf, BTF):
        return LoadedBTF(None, "the collection has no BTF")
    changes = spec.btf_fixups
    raw_fixed = sanitized(btf, changes, ())
    fixed = (
        BTF(raw_fixed, base=btf.base, name=btf.source, pointer_size=btf.pointer_size)
        if changes
        else btf
    )
    if _known_lacking():
        return _load_sanitized(btf, changes, raw_fixed, fixed, mandatory=mandatory)
    try:  # a kernel that knows every kind the BTF uses takes it as it is: no probe needed
        handle = BTFHandle.load(raw_fixed)
    except (VerifierError, SyscallError):
        return _load_sanitized(btf, changes, raw_fixed, fixed, mandatory=mandatory)
    return LoadedBTF(handle, func_info=_has_funcs(btf) or have(btf_kind("func")), fixed=fixed)


def _known_lacking() -> bool:
    """Whether probes asked before say the kernel lacks a BTF kind (then the BTF is
    sanitised first, as libbpf does, rather than tried as it is)."""
    kinds = [btf_kind(kind) for kind in BTF_KINDS]
    return any(known(feature) is False for feature in (*kinds, QMARK_DATASEC))


def _has_funcs(btf: BTF) -> bool:
    """Whether ``btf`` has a FUNC (then a kernel that took it knows FUNC, and so func info)."""
    return any(btf.kind_of(i) is Kind.FUNC for i in range(btf.start_id, len(btf)))


def _load_sanitized(
    btf: BTF, changes: dict[int, Type], raw_fixed: bytes, fixed: BTF, *, mandatory: bool
) -> LoadedBTF:
    """libbpf's way, where the kernel refused the BTF as it is: probe the kinds it uses,
    sanitise those the kernel lacks away, load that."""
    from pybpf.objects._sanitize import missing_kinds  # noqa: PLC0415 - old kernels only

    base = btf_kind("int")
    if not have(base):
        if mandatory:
            raise NotSupportedError("BTF", base.min_kernel, "struct_ops need it")
        return LoadedBTF(None, "the kernel does not take BTF", fixed=fixed)
    missing = missing_kinds(btf, changes)
    raw = sanitized(btf, changes, missing) if missing else raw_fixed
    try:
        handle = BTFHandle.load(raw)
    except (VerifierError, SyscallError) as exc:
        if mandatory:
            raise
        return LoadedBTF(None, f"the kernel refused the BTF: {exc}", fixed=fixed)
    return LoadedBTF(handle, func_info=have(btf_kind("func")), fixed=fixed)


def ext_info(prog: ProgramSpec) -> tuple[bytes, bytes]:
    """A program's ``func_info`` and ``line_info`` records, encoded for BPF_PROG_LOAD."""
    pack_func, pack_line = _FUNC_INFO.pack, _LINE_INFO.pack
    funcs = b"".join(pack_func(f.insn, f.type_id) for f in prog.func_info)
    lines = b"".join(
        pack_line(r.insn, r.file_name_off, r.line_off, r.line_col) for r in prog.line_info
    )
    return funcs, lines
