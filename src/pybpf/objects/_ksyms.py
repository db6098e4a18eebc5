"""``__ksym`` externs: kernel variables and kfuncs, found in the kernel and patched in.

As libbpf's ``bpf_object__resolve_ksyms_btf_id``, ``kallsyms_cb`` and
``bpf_object__relocate_data``:

* a typed variable (``extern const struct rq runqueues __ksym``) is the ``VAR`` of that name
  in vmlinux BTF, else in a module's own BTF; its type must be compatible with the
  declared one. Its ``lddw`` becomes ``src=BTF_ID``, ``imm`` the kernel's BTF id and the
  second half the module BTF's fd (0 for vmlinux);
* an untyped symbol (``extern const void sym __ksym``) is its ``/proc/kallsyms`` address,
  loaded as a plain 64-bit constant;
* a kfunc (``extern void f(void) __ksym``) is the ``FUNC`` of its essential name (``f___v2``
  looks for ``f``) with a compatible prototype; its ``call`` gets ``src=KFUNC``, ``imm`` the
  BTF id and ``off`` the index of the module's BTF fd in the load's ``fd_array``.

A weak extern that is not found (or, for a kfunc, not compatible) is zero: an ``lddw`` loads
0, and a call becomes libbpf's poisoned ``call 2002000000 + extern index``, which the
verifier rejects only if it is reachable (``bpf_ksym_exists()`` guards it)::

    lddw  r1, BTF_ID  ->  | 0x18 | src=3 | imm = kernel BTF id | 0 | imm = module BTF fd |
    call  KFUNC       ->  | 0x85 | src=2 | off = fd_array index | imm = kernel BTF id |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pybpf._records import immutable
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import CallKind, PseudoSrc
from pybpf.btf._btf import BTF
from pybpf.btf._load import KernelBTF
from pybpf.btf.kinds import Kind
from pybpf.btf.types import Func, Var
from pybpf.objects._errors import SpecError
from pybpf.objects._load_kernel import ModuleFDs, find_in_kernel, kallsyms
from pybpf.spec import ExternKind, ExternSpec
from pybpf.spec.core import types_are_compat

__all__ = [
    "POISON_KFUNC_BASE",
    "Resolved",
    "explain_kfunc_log",
    "extern_refs",
    "patch_externs",
    "resolve_ksyms",
]

POISON_KFUNC_BASE = 2002000000
"""libbpf's ``POISON_CALL_KFUNC_BASE``: an unresolved weak kfunc's call becomes a call of
helper ``POISON_KFUNC_BASE + extern index``."""

_CALL = 0x85


@immutable
class Resolved:
    """What a ksym extern resolved to: a kernel BTF id (with the module's BTF fd and
    ``fd_array`` index, 0 for vmlinux) or a kallsyms ``address``."""

    btf_id: int = 0
    btf_fd: int = 0
    fd_index: int = 0
    address: int = 0


def extern_refs(insns: Iterable[Instruction], externs: Mapping[str, ExternSpec]) -> set[str]:
    """The ksym and kfunc externs these instructions use (kconfig ones are map refs)."""
    return {i.ref for i in insns if i.ref is not None and i.ref in externs}


def resolve_ksyms(
    externs: Sequence[ExternSpec],
    kbtf: KernelBTF | None,
    modules: ModuleFDs,
) -> dict[str, Resolved]:
    """Find each ksym and kfunc extern in the kernel; weak ones not found are left out.

    Raises:
        SpecError: a strong extern not found, or of a type the kernel's differs from.
        NotSupportedError: typed externs need kernel BTF and the kernel has none.
    """
    out: dict[str, Resolved] = {}
    untyped = [e for e in externs if e.kind is ExternKind.KSYM and not e.typed]
    addresses = kallsyms(e.name for e in untyped) if untyped else {}
    for ext in untyped:
        if ext.name in addresses:
            out[ext.name] = Resolved(address=addresses[ext.name])
    for ext in externs:
        if ext.kind is ExternKind.KCONFIG or (ext.kind is ExternKind.KSYM and not ext.typed):
            continue
        found = _typed(ext, kbtf, modules)
        if found is not None:
            out[ext.name] = found
    for ext in externs:
        if ext.kind is not ExternKind.KCONFIG and ext.name not in out and not ext.weak:
            raise SpecError(f"extern {ext.name!r} (strong): not resolved")
    return out


def _typed(ext: ExternSpec, kbtf: KernelBTF | None, modules: ModuleFDs) -> Resolved | None:
    """libbpf's ``bpf_object__resolve_ksym_var_btf_id`` / ``..._func_btf_id``."""
    if kbtf is None:
        return None
    local = ext.btf
    if not isinstance(local, BTF):
        raise SpecError(f"extern {ext.name!r} has no BTF")
    is_func = isinstance(local[ext.btf_id], Func)
    name = ext.essential_name if is_func else ext.name
    found = find_in_kernel(kbtf, name, Kind.FUNC if is_func else Kind.VAR)
    if found is None:
        return None
    target = found.btf[found.type_id]
    if not isinstance(target, (Func, Var)):  # find_in_kernel looked for these kinds
        return None
    targ_type, _ = found.btf.skip_mods_and_typedefs(target.type)
    if not types_are_compat(local, ext.type, found.btf, targ_type):
        if is_func and ext.weak:
            return None
        what = "func ksym" if is_func else "var ksym"
        where = found.module or "vmlinux"
        raise SpecError(
            f"extern ({what}) {ext.name!r}: its declared type is incompatible with "
            f"[{targ_type}] {found.btf.name_of(targ_type) or '(anon)'} in {where}"
        )
    if not found.module:
        return Resolved(btf_id=found.type_id)
    index = modules.index(found.module) if is_func else 0
    return Resolved(btf_id=found.type_id, btf_fd=modules.fd(found.module), fd_index=index)


def patch_externs(
    insns: Sequence[Instruction],
    externs: Mapping[str, ExternSpec],
    resolved: Mapping[str, Resolved],
) -> list[Instruction]:
    """The instructions with every ksym ``lddw`` and kfunc ``call`` filled in (or zeroed and
    poisoned where a weak extern was not found)."""
    order = {name: i for i, name in enumerate(externs)}
    out = list(insns)
    for i, insn in enumerate(out):
        name = insn.ref
        if name is None or name not in externs or externs[name].kind is ExternKind.KCONFIG:
            continue
        found = resolved.get(name)
        if insn.opcode == _CALL:
            out[i] = _call(insn, found, order[name])
        else:
            out[i] = _lddw(insn, externs[name], found)
    return out


def _call(insn: Instruction, found: Resolved | None, index: int) -> Instruction:
    if found is None:  # libbpf's poison_kfunc_call
        return Instruction(_CALL, imm=POISON_KFUNC_BASE + index)
    return insn.with_fields(src=CallKind.KFUNC, imm=found.btf_id, off=found.fd_index, ref=None)


def _lddw(insn: Instruction, ext: ExternSpec, found: Resolved | None) -> Instruction:
    if found is not None and ext.typed:
        return insn.with_fields(
            src=PseudoSrc.BTF_ID, imm=found.btf_id, imm_hi=found.btf_fd, ref=None
        )
    address = found.address if found is not None else 0
    lo, hi = address & 0xFFFFFFFF, address >> 32
    return insn.with_fields(
        src=PseudoSrc.IMM64, imm=lo - (lo >> 31 << 32), imm_hi=hi - (hi >> 31 << 32), ref=None
    )


_POISONED = rf"^(\d+): \(85\) call unknown#({POISON_KFUNC_BASE // 1000}\d{{3}})$"


def explain_kfunc_log(log: str, externs: Sequence[str]) -> str:
    """libbpf's ``fixup_log_missing_kfunc_call``: a verifier log that stopped at a poisoned
    kfunc call names the kfunc::

        12: (85) call unknown#2002000003     12: <invalid kfunc call>
        invalid func unknown#2002000003  ->  kfunc 'name' is referenced but wasn't resolved
    """
    import re  # noqa: PLC0415 - only a refused load reads its log

    lines = log.split("\n")
    for i in range(len(lines) - 1):
        m = re.match(_POISONED, lines[i])
        if m and lines[i + 1] == f"invalid func unknown#{m.group(2)}":
            index = int(m.group(2)) - POISON_KFUNC_BASE
            if 0 <= index < len(externs):
                lines[i : i + 2] = [
                    f"{m.group(1)}: <invalid kfunc call>",
                    f"kfunc '{externs[index]}' is referenced but wasn't resolved",
                ]
                break
    return "\n".join(lines)
