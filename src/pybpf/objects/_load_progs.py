"""Preparing and loading a collection's programs, as libbpf's ``bpf_object__relocate`` and
``bpf_object_load_prog`` / ``libbpf_prepare_prog_load`` do.

Before any map exists, each program is made ready (:meth:`ProgramPreparer.prepare`, steps
1-3; step 4, :meth:`ProgramPreparer.attach_target`, just before it loads):

1. CO-RE relocations applied against the kernel's BTF (shared candidate cache);
2. ksym ``lddw`` and kfunc ``call`` instructions filled in (:mod:`pybpf.objects._ksyms`),
   references to an arena's globals moved to where they live in it;
3. the expected attach type adjusted: dropped on kernels that cannot take one where the
   section allows it (``SecFlag.EXP_ATTACH_OPT``), ``TRACE_UPROBE_MULTI`` for USDT programs
   where the kernel has uprobe-multi links, a struct_ops program's member index;
4. the attach target found: for ``tp_btf``/``fentry``/``fexit``/``fmod_ret``/``lsm``/
   ``iter`` the kernel's BTF id of ``btf_trace_<tp>``/``<func>``/``bpf_lsm_<hook>``/
   ``bpf_iter_<name>`` (``module:name`` looks in that module), for ``freplace`` the
   function's id in the target program's BTF.

Then, with the maps and the collection's BTF in the kernel, :func:`load_prepared` loads it
with its func/line info; a refusal's log is explained first (poisoned CO-RE relocations and
kfunc calls named, as libbpf does).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

from pybpf._records import field, record
from pybpf._uapi import AttachType, LinkType, ProgType
from pybpf.asm.opcodes import PseudoSrc
from pybpf.btf.kinds import Kind
from pybpf.features import EXP_ATTACH_TYPE, have
from pybpf.objects import _load
from pybpf.objects._errors import SpecError
from pybpf.objects._load_btf import LoadedBTF, ext_info
from pybpf.objects._load_kernel import Found, KernelView
from pybpf.objects.program import Program
from pybpf.spec import CollectionSpec, ProgramSpec
from pybpf.spec.sections import SecFlag, find_section

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.asm.instruction import Instruction
    from pybpf.features import Feature
    from pybpf.objects._ksyms import Resolved
    from pybpf.objects._load_structops import Attach
    from pybpf.spec._lazy import Lazy
    from pybpf.spec.core import CoreResult

# (CO-RE, externs, struct_ops and BTF attach targets are imported where they are needed:
# a load of an object that uses none of them does not pay for their modules.)
_INSTRUCTIONS: Lazy[list[Instruction]] = vars(ProgramSpec)["instructions"]

__all__ = ["Prepared", "ProgramPreparer", "load_prepared"]

# libbpf's btf_get_kernel_prefix_kind
_ATTACH_NAMES: dict[AttachType, tuple[str, Kind]] = {
    AttachType.TRACE_RAW_TP: ("btf_trace_", Kind.TYPEDEF),
    AttachType.LSM_MAC: ("bpf_lsm_", Kind.FUNC),
    AttachType.LSM_CGROUP: ("bpf_lsm_", Kind.FUNC),
    AttachType.TRACE_ITER: ("bpf_iter_", Kind.FUNC),
}
_BTF_TARGETS = frozenset({ProgType.TRACING, ProgType.LSM, ProgType.EXT})


@record
class Prepared:
    """A program ready to load once the maps exist."""

    spec: ProgramSpec
    core: list[CoreResult] = field(default_factory=list)
    expected_attach_type: int | None = None
    attach_btf_id: int = 0
    attach_module: str = ""
    attach_prog_fd: int = 0


class ProgramPreparer:
    """Makes the programs of one collection load ready (see the module docstring)."""

    def __init__(
        self,
        spec: CollectionSpec,
        kernel: KernelView,
        *,
        ksyms: Mapping[str, Resolved],
        struct_ops: Mapping[str, Attach],
        attach_programs: Mapping[str, object],
        arena: Mapping[str, int],
    ) -> None:
        self.spec = spec
        self.kernel = kernel
        self.ksyms = ksyms
        self.struct_ops = struct_ops
        self.attach_programs = attach_programs
        self.arena = {name: off for name, off in arena.items() if off}

    def prepare(self, name: str) -> Prepared:
        """Relocate, patch and find the attach target of program ``name``.

        Raises:
            CoreError: a CO-RE relocation libbpf would refuse.
            SpecError: no attach target, a struct_ops program no map uses.
            NotSupportedError: CO-RE or a BTF attach target without kernel BTF.
        """
        prog = self.spec.programs[name]
        out, results = self._relocated(prog)
        if self.spec.externs or self.arena:  # else the instructions stay undecoded
            from pybpf.objects._ksyms import extern_refs, patch_externs  # noqa: PLC0415

            insns: list[Instruction] = out.instructions
            if self.spec.externs and extern_refs(insns, self.spec.externs):
                insns = patch_externs(insns, self.spec.externs, self.ksyms)
            if self.arena:
                insns = _move_arena_refs(insns, self.arena)
            out.instructions = insns
        prepared = Prepared(out, results)
        self._attach_type(prepared)
        return prepared

    def _relocated(self, prog: ProgramSpec) -> tuple[ProgramSpec, list[CoreResult]]:
        if not prog.core_relos:
            out = copy.copy(prog)
            pending = _INSTRUCTIONS.pending(prog)  # a recipe is immutable: share it
            out.instructions = pending if pending is not None else list(prog.instructions)
            return out, []
        from pybpf.spec.core import relocate_program  # noqa: PLC0415 - CO-RE only

        asked = copy.copy(prog)
        asked.autoload = True  # relocate even a program loaded on request only
        return relocate_program(asked, self.kernel.core_cache())

    def _attach_type(self, prepared: Prepared) -> None:
        prog = prepared.spec
        sec = find_section(prog.section) if prog.section else None
        flags = sec.flags if sec is not None else SecFlag.NONE
        if flags & SecFlag.EXP_ATTACH_OPT and not have(EXP_ATTACH_TYPE):
            prepared.expected_attach_type = 0
        if flags & SecFlag.USDT and have(_link_type(LinkType.UPROBE_MULTI)):
            prog.attach_type = AttachType.TRACE_UPROBE_MULTI
        if prog.type == ProgType.STRUCT_OPS:
            found = self.struct_ops.get(prog.name)
            if found is None:
                raise SpecError(
                    f"program {prog.name!r}: a struct_ops program no struct_ops map uses "
                    "(did you forget to put it in one?)"
                )
            prepared.expected_attach_type = found.member
            prepared.attach_btf_id = found.btf_id
            prepared.attach_module = found.module

    def attach_target(self, prepared: Prepared) -> None:
        """Find the BTF attach target of a tracing, LSM or ``freplace`` program (libbpf does
        it just before loading each program, so an earlier program's refusal comes first).

        Raises:
            SpecError: no target named, or no such target.
            NotSupportedError: the kernel has no BTF.
        """
        prog = prepared.spec
        if prog.type not in _BTF_TARGETS:
            return
        if not prog.attach_to:
            raise SpecError(
                f"program {prog.name!r}: no BTF-based attach target is specified "
                "(set ProgramSpec.attach_to before loading)"
            )
        if prog.type == ProgType.EXT or prog.name in self.attach_programs:
            prepared.attach_prog_fd, prepared.attach_btf_id = self._in_program(prog)
            return
        found = self._in_kernel(prog)
        prepared.attach_btf_id, prepared.attach_module = found.type_id, found.module

    def _in_kernel(self, prog: ProgramSpec) -> Found:
        """libbpf's ``find_kernel_btf_id``."""
        kbtf = self.kernel.btf()
        prefix, kind = _ATTACH_NAMES.get(prog.attach_type or AttachType(0), ("", Kind.FUNC))
        module, sep, func = prog.attach_to.partition(":")
        if not sep:
            module, func = "", prog.attach_to
        name = prefix + func
        if module in ("", "vmlinux"):
            type_id = kbtf.vmlinux.find_by_name_kind(name, kind)
            if type_id is not None:
                return Found(type_id, kbtf.vmlinux, "")
        for mod in sorted(kbtf.modules):
            if module and mod != module:
                continue
            btf = kbtf.modules[mod]
            own = [i for i in btf.find(name, kind) if i >= btf.start_id]
            if own:
                return Found(own[0], btf, mod)
        raise SpecError(
            f"program {prog.name!r}: {name!r} ({kind.name.lower()}) is not in the kernel's "
            "BTF: no such attach target"
        )

    def _in_program(self, prog: ProgramSpec) -> tuple[int, int]:
        """libbpf's ``libbpf_find_prog_btf_id``: the function ``attach_to`` in the BTF of
        the program ``attach_programs`` names for ``prog``."""
        target = self.attach_programs.get(prog.name)
        if target is None:
            raise SpecError(
                f"program {prog.name!r} ({prog.type.name.lower()}) replaces a function of "
                "another program: pass that program in attach_programs"
            )
        from pybpf.btf._btf import BTF  # noqa: PLC0415 - freplace only
        from pybpf.objects.btf import BTFHandle  # noqa: PLC0415
        from pybpf.objects.info import program_info  # noqa: PLC0415

        fd = target if isinstance(target, int) else target.fileno()  # type: ignore[attr-defined]
        info = program_info(fd)
        if not info.btf_id:
            raise SpecError(f"program {prog.name!r}: the target program has no BTF")
        with BTFHandle.from_id(info.btf_id) as handle:
            btf = BTF(handle.raw(), name=f"program {info.name} BTF")
        type_id = btf.find_by_name_kind(prog.attach_to, Kind.FUNC)
        if type_id is None:
            raise SpecError(
                f"program {prog.name!r}: {prog.attach_to!r} is not a function of the target "
                f"program {info.name!r}"
            )
        return fd, type_id


def _link_type(t: LinkType) -> Feature:
    from pybpf.features.links import link_type  # noqa: PLC0415 - USDT programs only

    return link_type(t)


def _move_arena_refs(insns: Sequence[Instruction], arena: Mapping[str, int]) -> list[Instruction]:
    """References to an arena's globals, moved to where they were copied (libbpf's
    ``arena_data_off``)."""
    out = list(insns)
    for i, insn in enumerate(out):
        ref = insn.ref
        if ref is not None and ref in arena and insn.is_wide and insn.src == PseudoSrc.MAP_VALUE:
            out[i] = insn.with_fields(imm_hi=insn.imm_hi + arena[ref])
    return out


def load_prepared(
    prepared: Prepared,
    maps: Mapping[str, object],
    btf: LoadedBTF,
    kernel: KernelView,
    *,
    externs: Sequence[str],
    log_level: int = 0,
) -> Program:
    """Load a prepared program (``maps``: the collection's maps by name).

    Raises:
        VerifierError: refused; the log explains poisoned CO-RE relocations and kfunc calls.
        NotSupportedError, SyscallError: as :meth:`Program.load`.
    """
    spec = prepared.spec
    funcs, lines = ext_info(spec) if btf.handle is not None and btf.func_info else (b"", b"")
    results = prepared.core

    def explain(log: str) -> str:
        from pybpf.objects._ksyms import explain_kfunc_log  # noqa: PLC0415 - a refusal only
        from pybpf.spec.core import explain_verifier_log  # noqa: PLC0415

        return explain_kfunc_log(explain_verifier_log(log, results), externs)

    opts = _load.LoadOptions(
        log_level=log_level,
        attach_btf_id=prepared.attach_btf_id,
        attach_btf_obj_fd=kernel.modules.fd(prepared.attach_module)
        if prepared.attach_module
        else 0,
        attach_prog_fd=prepared.attach_prog_fd,
        prog_btf_fd=btf.fileno() if funcs else 0,
        func_info=funcs,
        line_info=lines,
        fd_array=kernel.modules.fd_array,
        explain=explain,
        expected_attach_type=prepared.expected_attach_type,
    )
    fd, log = _load.load(spec, maps, opts)
    return Program(fd, type=spec.type, name=spec.name, spec=spec, verifier_log=log)
