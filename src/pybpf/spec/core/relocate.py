"""Applying a program's CO-RE relocations: ``spec + target BTF -> relocated spec``.

Pure: the target BTF is passed in (the kernel half passes the running kernel's vmlinux and
module BTF; tests pass fixtures), nothing is read implicitly, and the input spec is left as
it was. Each relocation gives a :class:`CoreResult` carrying libbpf's own debug log lines
(``bpftool -d prog load`` prints the same), so a run can be compared with libbpf's line by
line.

Relocation indices and instruction numbers are the program's: ``ProgramSpec.core_relos`` is
re-based on the linked program, so a relocation of a subprogram is applied in each program
that calls it, at the subprogram's place there. (libbpf relocates a subprogram once, before
linking, and numbers relocations per ELF section.)
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from functools import partial

from pybpf._records import immutable
from pybpf.asm.instruction import Instruction, encode
from pybpf.btf._btf import BTF
from pybpf.spec._lazy import Deferred, Lazy
from pybpf.spec._linker import Image, LinkedCode
from pybpf.spec.core.candidates import make_targets
from pybpf.spec.core.errors import CoreError
from pybpf.spec.core.patch import POISON_HELPER, patch_insn
from pybpf.spec.core.resolve import CandidateCache, Resolution, resolve
from pybpf.spec.specs import CollectionSpec, CoreRelo, CoreReloKind, ProgramSpec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypeVar

    SpecT = TypeVar("SpecT", CollectionSpec, ProgramSpec)

__all__ = ["CoreResult", "explain_verifier_log", "relocate", "relocate_program"]

_LDDW = 0x18  # BPF_LD | BPF_IMM | BPF_DW
_NOT_FOUND = "no matching targets found"
_BAD_RESIZE = (
    "the field's size differs on the target and it is neither a pointer nor an unsigned "
    "integer, so the load/store cannot be resized"
)
Targets = BTF | Sequence[BTF] | Mapping[str, BTF]


@immutable
class CoreResult:
    """What one CO-RE relocation did.

    ``program`` and ``index`` (its position in the program's ``core_relos``) say which
    relocation; ``local_spec``/``target_spec`` are libbpf's descriptions of what it accesses
    here and on the target (``"<byte_off> [5] struct task_struct.pid (0:6 @ offset 28)"``;
    ``target_spec`` is ``None`` when nothing matched). ``target_id`` is the chosen target
    type and ``target_btf`` the name of its BTF (``"vmlinux"`` or a module).
    ``orig``/``new`` are the instruction's value before and after. A ``poisoned``
    instruction was replaced by ``call 0xbad2310``; ``reason`` says why. ``form`` is the
    instruction form patched (``"ALU/ALU64"``, ``"LDX/ST/STX"``, ``"LDIMM64"``; ``""``
    when poisoned). ``log`` holds libbpf's debug lines for this relocation.
    """

    program: str
    index: int
    relo: CoreRelo
    local_spec: str
    target_spec: str | None
    target_id: int | None
    target_btf: str | None
    orig: int
    new: int
    poisoned: bool
    reason: str
    form: str
    log: tuple[str, ...]

    @property
    def insn(self) -> int:
        """The slot index of the relocated instruction in the linked program."""
        return self.relo.insn

    @property
    def kind(self) -> CoreReloKind:
        return self.relo.kind

    def __str__(self) -> str:
        return self.log[-1] if self.log else f"prog '{self.program}': relo #{self.index}"


def relocate(spec: SpecT, target: Targets) -> tuple[SpecT, list[CoreResult]]:
    """Apply the CO-RE relocations of a collection (or one program) against ``target``.

    Returns a relocated copy, whose applied relocations are removed from ``core_relos``,
    and one :class:`CoreResult` per relocation applied. The input is not changed. Programs
    with ``autoload`` off are copied unrelocated, as libbpf skips them. Candidate lists are
    shared by all programs of the run (and pruned as they match), as in libbpf.

    ``target``: vmlinux BTF, or vmlinux then module BTFs (a sequence, or a mapping of
    names to BTFs), see :func:`~pybpf.spec.core.candidates.make_targets`.

    Example::

        vmlinux = BTF.from_path("/sys/kernel/btf/vmlinux")
        relocated, results = relocate(collection, vmlinux)
        for r in results:
            print(r)   # prog 'core_probed': relo #0: patched insn #2 (ALU/ALU64) imm 28 -> 1264

    Raises:
        CoreError: a relocation libbpf would refuse (malformed, ambiguous, on an
            instruction it cannot patch), naming the program, relocation and instruction.
        ValueError, TypeError: ``target`` is empty or not BTF.
    """
    cache = CandidateCache(make_targets(target))
    if isinstance(spec, ProgramSpec):
        return _relocate_program(spec, cache)
    results: list[CoreResult] = []
    programs: dict[str, ProgramSpec] = {}
    for key, prog in spec.programs.items():
        programs[key], done = _relocate_program(prog, cache)
        results += done
    shell = copy.copy(spec)
    shell.programs = {}
    out = shell.copy()  # maps, variables, externs: deep copies sharing BTF
    out.programs = programs
    return out, results


def relocate_program(
    prog: ProgramSpec, target: Targets | CandidateCache
) -> tuple[ProgramSpec, list[CoreResult]]:
    """Apply one program's relocations (see :func:`relocate`). Pass the same
    :class:`~pybpf.spec.core.resolve.CandidateCache` to several calls to share candidate
    lists between programs, as :func:`relocate` does.

    Raises:
        CoreError: as :func:`relocate`.
    """
    cache = target if isinstance(target, CandidateCache) else CandidateCache(make_targets(target))
    return _relocate_program(prog, cache)


def _relocate_program(
    prog: ProgramSpec, cache: CandidateCache
) -> tuple[ProgramSpec, list[CoreResult]]:
    out = _copy_program(prog)
    if not prog.autoload or not _has_core_relos(prog):
        return out, []
    btf = prog.btf
    if not isinstance(btf, BTF):
        raise CoreError("has CO-RE relocations but no BTF", program=prog.name)
    insns = _Slots(prog)
    results = []
    for index, relo in enumerate(prog.core_relos):
        try:
            results.append(_apply(prog, index, btf, insns, cache))
        except CoreError as exc:
            raise CoreError(exc.reason, program=prog.name, relo=index, insn=relo.insn) from exc
    out.instructions = insns.rebuild()
    out.core_relos = []
    return out, results


_INSTRUCTIONS: Lazy[list[Instruction]] = vars(ProgramSpec)["instructions"]
_CORE_RELOS: Lazy[list[CoreRelo]] = vars(ProgramSpec)["core_relos"]


def _has_core_relos(prog: ProgramSpec) -> bool:
    """Whether ``prog`` has CO-RE records; a parsed program whose sections have none says
    so without decoding its records (its recipe's count is 0)."""
    pending = _CORE_RELOS.pending(prog)
    if pending is not None and pending.count == 0:
        return False
    return bool(prog.core_relos)


_CONTAINERS = frozenset((list, dict, set))


def _copy_program(prog: ProgramSpec) -> ProgramSpec:
    """A copy sharing only immutable parts with ``prog``: its lists, dicts and sets are
    copied (their items are frozen records, names and numbers), its BTF and any field not
    decoded yet are shared (a pending recipe is immutable), so copying a program whose
    instructions were never read does not decode them."""
    out = type(prog).__new__(type(prog))  # copy.copy's way, without its generic machinery
    state = prog.__dict__.copy()
    for key in [key for key, value in state.items() if type(value) in _CONTAINERS]:
        state[key] = state[key].copy()
    out.__dict__ = state
    return out


def _apply(
    prog: ProgramSpec, index: int, btf: BTF, insns: _Slots, cache: CandidateCache
) -> CoreResult:
    relo = prog.core_relos[index]
    prefix = f"prog '{prog.name}': relo #{index}: "
    insn = insns.get(relo.insn)
    res = resolve(relo, btf, cache, prefix=prefix, little_endian=prog.byte_order == "little")
    patched, lines, form = patch_insn(insn, res.values, relo.insn, prefix)
    insns.put(relo.insn, patched)
    return _result(prog.name, index, relo, res, (*res.log, *lines), form=form)


def _result(
    name: str, index: int, relo: CoreRelo, res: Resolution, log: tuple[str, ...], *, form: str
) -> CoreResult:
    values = res.values
    poisoned = not form
    reason = ""
    if poisoned:
        reason = _NOT_FOUND if res.target is None else _BAD_RESIZE
    cand = res.candidate
    return CoreResult(
        program=name,
        index=index,
        relo=relo,
        local_spec=res.local_text,
        target_spec=res.target_text,
        target_id=None if cand is None else cand.type_id,
        target_btf=None if cand is None else cand.target.name,
        orig=values.orig,
        new=values.new,
        poisoned=poisoned,
        reason=reason,
        form=form,
        log=log,
    )


class _Slots:
    """A program's instructions addressed by slot (an ``lddw`` takes two); patches are
    kept aside and spliced in by :meth:`rebuild` (a poisoned ``lddw`` becomes two calls).

    A parsed program whose instructions were never read is not decoded: the instructions
    to patch are read one at a time from its linked code, and :meth:`rebuild` gives a
    recipe that splices the patches in when the relocated program's instructions are first
    read (as the loader defers decoding the program itself).
    """

    def __init__(self, prog: ProgramSpec) -> None:
        pending = _INSTRUCTIONS.pending(prog)
        self._code = pending if isinstance(pending, LinkedCode) else None
        self._insns: list[Instruction] = []
        self._patched: dict[int, list[Instruction]] = {}
        if self._code is not None:
            self._wide_slots = self._code.wide_slots()
            self._count = self._code.count or 0
            return
        self._insns = prog.instructions
        # the slot of each lddw, ascending: an lddw at list index p is at slot p + (lddws
        # before it), so slot s is list index s - (lddws at slots < s)
        wide = [i for i, insn in enumerate(self._insns) if insn.opcode == _LDDW]
        self._wide_slots = [p + k for k, p in enumerate(wide)]
        self._count = len(self._insns) + len(wide)

    def _position(self, slot: int) -> int:
        if not 0 <= slot < self._count:
            raise CoreError(f"insn #{slot} is past the end ({self._count} slots)", insn=slot)
        before = bisect_left(self._wide_slots, slot)
        if before and self._wide_slots[before - 1] == slot - 1:
            raise CoreError(f"insn #{slot} is the second half of an lddw", insn=slot)
        return slot - before

    def get(self, slot: int) -> Instruction:
        patched = self._patched.get(slot)
        if patched is not None:
            if len(patched) != 1:
                raise CoreError(f"insn #{slot} was poisoned by an earlier relocation", insn=slot)
            return patched[0]
        position = self._position(slot)
        return self._insns[position] if self._code is None else self._code.at(slot)

    def put(self, slot: int, insns: list[Instruction]) -> None:
        self._patched[slot] = insns

    def rebuild(self) -> list[Instruction] | Deferred[list[Instruction]]:
        """The patched instructions: a new list, or for an undecoded program a recipe."""
        splices = [(self._position(slot), self._patched[slot]) for slot in self._patched]
        splices.sort(key=_first, reverse=True)
        if self._code is None:
            return _spliced(self._insns, splices)
        return PatchedCode(self._code, splices, self._patched, self._count)


def _first(item: tuple[int, list[Instruction]]) -> int:
    return item[0]


def _spliced(
    insns: list[Instruction], splices: list[tuple[int, list[Instruction]]]
) -> list[Instruction]:
    """``insns`` with each ``(position, replacement)`` spliced in, last position first."""
    out = list(insns)
    for pos, replacement in splices:
        out[pos : pos + 1] = replacement
    return out


def _spliced_code(
    code: LinkedCode, splices: list[tuple[int, list[Instruction]]]
) -> list[Instruction]:
    return _spliced(code(), splices)


class PatchedCode(Deferred[list[Instruction]]):
    """The recipe of a relocated program never decoded: its linked code with the CO-RE
    patches spliced in. Like :class:`~pybpf.spec._linker.LinkedCode`, it gives the
    program's bytes without decoding it (:meth:`image`)."""

    __slots__ = ("_code", "_patched")

    def __init__(
        self,
        code: LinkedCode,
        splices: list[tuple[int, list[Instruction]]],
        patched: dict[int, list[Instruction]],
        count: int,
    ) -> None:
        super().__init__(partial(_spliced_code, code, splices), count=count)
        self._code, self._patched = code, patched

    def image(self) -> Image | None:
        """The relocated program's bytes and references by slot (see
        :meth:`LinkedCode.image <pybpf.spec._linker.LinkedCode.image>`); ``None`` where
        decoding or encoding the instructions would raise."""
        base = self._code.image()
        if base is None:
            return None
        out, refs = base
        for slot, insns in self._patched.items():
            at, size = slot * 8, 16 if out[slot * 8] == _LDDW else 8
            try:
                data = encode([i.with_fields(ref=None) for i in insns], self._code.byteorder)
            except ValueError:
                return None
            if len(data) != size:
                return None
            out[at : at + size] = data
            refs.pop(slot, None)
            at = slot
            for insn in insns:
                if insn.ref is not None:
                    refs[at] = insn.ref
                at += insn.slots
        return out, refs


_POISONED_CALL = rf"^(\d+): \(85\) call unknown#{POISON_HELPER}$"


def explain_verifier_log(log: str, results: Sequence[CoreResult]) -> str:
    """Rewrite a verifier log that stopped at a poisoned instruction the way libbpf does
    (``fixup_log_failed_core_relo``)::

        123: (85) call unknown#195896080          123: <invalid CO-RE relocation>
        invalid func unknown#195896080       ->   failed to resolve CO-RE relocation <spec>

    ``results`` are the results of the program's relocation; the log is returned unchanged
    when it does not end that way.
    """
    import re  # noqa: PLC0415 - only a refused load reads its log

    lines = log.split("\n")
    poisoned = {r.insn: r for r in results if r.poisoned}
    for i in range(len(lines) - 1):
        m = re.match(_POISONED_CALL, lines[i])
        if m and lines[i + 1] == f"invalid func unknown#{POISON_HELPER}":
            hit = poisoned.get(int(m.group(1)))
            if hit is not None:
                lines[i : i + 2] = [
                    f"{m.group(1)}: <invalid CO-RE relocation>",
                    f"failed to resolve CO-RE relocation {hit.local_spec}",
                ]
                break
    return "\n".join(lines)
