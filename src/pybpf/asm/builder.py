"""Build instructions from Python, with an API shaped like the ISA.

Every instruction form of the opcode table (:data:`pybpf.asm.opcodes.OPS`) has a
constructor, reached at the path of its table name, plus a few shorter spellings::

    from pybpf.asm.builder import ALU64, JMP, LD, STX, R0, R1, R2, R10, Label, build

    prog = build([
        ALU64.MOV.imm(R0, 0),                   # r0 = 0               (row ALU64.MOV.K)
        STX.MEM.DW(R10, R0, -8),                # *(u64 *)(r10 - 8) = r0: key = 0
        LD.MAP_FD(R1, "counts"),                # a map by name: a ref the loader fills in
        ALU64.MOV.reg(R2, R10),
        ALU64.ADD.imm(R2, -8),                  # r2 = &key
        JMP.CALL("bpf_map_lookup_elem"),
        JMP.JEQ.imm(R0, 0, "out"),              # if r0 == 0 goto out
        ALU64.MOV.imm(R1, 1),
        STX.ATOMIC.DW.ADD(R0, R1, 0),           # lock *(u64 *)(r0 + 0) += r1
        Label("out"),
        ALU64.MOV.imm(R0, 0),
        JMP.EXIT(),
    ])

The tree is derived from the table's row names, by these rules:

* every row is at its name: ``ALU64.ADD.K``, ``JMP32.JEQ.X``, ``STX.ATOMIC.DW.CMPXCHG``,
  ``LD.IMM64.MAP_VALUE``, ``CALL.KFUNC``; its ``.op`` is that row;
* ``K``/``X`` variants are also ``imm``/``reg``: ``ALU64.ADD.imm(R1, 2)``;
* rows that differ only in a width take it as a last ``bits`` argument:
  ``ALU.TO_BE(R1, 16)`` is ``ALU.TO_BE16(R1)``, ``ALU64.MOVSX(R1, R2, 8)`` is
  ``ALU64.MOVSX8(R1, R2)``;
* the ``lddw`` pseudo forms are also under ``LD``: ``LD.MAP_FD`` is ``LD.IMM64.MAP_FD``;
* calls are also under ``JMP`` (their class): ``JMP.CALL(id or name)`` is ``CALL.HELPER``,
  ``JMP.CALL_LOCAL`` is ``CALL.LOCAL``, ``JMP.CALL_KFUNC`` is ``CALL.KFUNC``, ``JMP.CALLX``
  is ``CALL.X``; ``CALL(...)`` itself calls a helper, as ``call 1`` does in assembly.

Arguments follow the instruction's field order ``dst, src, off, imm`` with a jump target
last (the table is in :mod:`pybpf.asm._builder_forms`), so ``ST.MEM.DW(R10, -8, 7)`` is
``*(u64 *)(r10 - 8) = 7`` and ``STX.MEM.DW(R10, R1, -8)`` is ``*(u64 *)(r10 - 8) = r1``.
Keywords name them: ``STX.MEM.DW(dst=R10, src=R1, off=-8)``. A value that does not fit its
field raises :class:`~pybpf.errors.AssemblerError` when the constructor is called; a wrong
number of arguments raises :class:`TypeError`, as any Python call does.

References (``Instruction.ref``)
--------------------------------
A name given where a number goes is kept in ``ref`` and the field is left 0. What the name
means, and who resolves it, depends on the instruction:

jumps: ``JA``, the conditional jumps, ``MAY_GOTO``, ``JMP32.JA`` (gotol)
    a :class:`Label` in the same list; :func:`build` resolves it, an unknown label is an error.
``CALL.LOCAL``, ``LD.IMM64.FUNC``
    a function, i.e. a label at its first instruction; :func:`build` resolves it when the
    label is in the list and otherwise leaves it for the linker (a function elsewhere).
``LD.IMM64.MAP_FD``, ``MAP_VALUE``, ``MAP_IDX``, ``MAP_IDX_VALUE``
    a map; the loader puts its fd (or fd_array index) in ``imm``.
``LD.IMM64.BTF_ID``, ``CALL.KFUNC``
    a kernel variable or function; the loader finds its BTF id in the kernel's BTF.

So :func:`build` resolves exactly the refs of instructions with a pc-relative target field
(:attr:`Op.target_field <pybpf.asm.opcodes.Op.target_field>`) whose name is a label in the
list; map and kernel-symbol refs are never taken for labels, even if a label has that name.
Offsets count slots, as the kernel does: ``lddw`` takes two.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from pybpf._records import immutable, replace
from pybpf.asm._builder_forms import Choice, Form, form_for
from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import OPS, Class, Op
from pybpf.errors import AssemblerError, Location

__all__ = [
    "ALU",
    "ALU64",
    "CALL",
    "FP",
    "JMP",
    "JMP32",
    "LD",
    "LDX",
    "NAMESPACES",
    "R0",
    "R1",
    "R2",
    "R3",
    "R4",
    "R5",
    "R6",
    "R7",
    "R8",
    "R9",
    "R10",
    "ST",
    "STX",
    "Label",
    "Node",
    "Reg",
    "build",
    "get_builder",
    "layout",
    "resolve",
]


class Reg(enum.IntEnum):
    """The eBPF registers (``BPF_REG_0`` .. ``BPF_REG_10``); ``FP`` is ``R10``, the read-only
    frame pointer. Any int 0..10 is accepted where a register goes."""

    R0 = 0
    R1 = 1
    R2 = 2
    R3 = 3
    R4 = 4
    R5 = 5
    R6 = 6
    R7 = 7
    R8 = 8
    R9 = 9
    R10 = 10
    FP = 10

    def __str__(self) -> str:
        return f"r{self.value}"


R0, R1, R2, R3, R4, R5 = Reg.R0, Reg.R1, Reg.R2, Reg.R3, Reg.R4, Reg.R5
R6, R7, R8, R9, R10, FP = Reg.R6, Reg.R7, Reg.R8, Reg.R9, Reg.R10, Reg.FP

Operand = int | str
"""An argument of a constructor: a register, a number, or a name (label, map, helper...)."""


class Node:
    """A name in the builder tree: a group of forms (``ALU64.ADD``), a constructor
    (``ALU64.ADD.K``), or both (``LD.IMM64``, ``CALL``).

    Call a constructor to get an :class:`Instruction`; read ``usage`` for its arguments.
    """

    __slots__ = ("_children", "_form", "_path")

    def __init__(self, path: str) -> None:
        self._path = path
        self._form: Form | Choice | None = None
        self._children: dict[str, Node] = {}

    @property
    def path(self) -> str:
        """The canonical dotted name, e.g. ``"ALU64.ADD.K"``."""
        return self._path

    @property
    def op(self) -> Op | None:
        """The table row this constructor builds, or ``None`` (a group, or a width choice)."""
        return self._form.op if isinstance(self._form, Form) else None

    @property
    def usage(self) -> str | None:
        """The call signature, e.g. ``"ALU64.ADD.K(dst, imm)"``; ``None`` for a group."""
        return self._form.usage if self._form is not None else None

    @property
    def arguments(self) -> tuple[str, ...]:
        """The argument names of the constructor (empty for a group)."""
        return tuple(p.name for p in self._form.params) if self._form else ()

    @property
    def children(self) -> Mapping[str, Node]:
        """The names under this one (every spelling, aliases included)."""
        return MappingProxyType(self._children)

    def __call__(self, *args: Operand, **kwargs: Operand) -> Instruction:
        if self._form is None:
            raise TypeError(f"{self._path} is a group, not an instruction: {self._choices()}")
        return self._form(*args, **kwargs)

    def __getattr__(self, name: str) -> Node:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._children[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._children), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise AttributeError(f"{self._path} has no {name!r}{hint}") from None

    def __dir__(self) -> list[str]:
        return sorted({*object.__dir__(self), *self._children})

    def __repr__(self) -> str:
        return f"<builder {self.usage or self._path}>"

    def _choices(self) -> str:
        shown = {n.usage for n in self._children.values() if n.usage}
        return "use " + ", ".join(sorted(shown)) if shown else "it has no forms"

    def _child(self, name: str) -> Node:
        node = self._children.get(name)
        if node is None:
            node = self._children[name] = Node(f"{self._path}.{name}")
        return node

    def _mount(self, name: str, node: Node) -> None:
        if name in self._children and self._children[name] is not node:
            raise RuntimeError(f"builder: {self._path}.{name} would name two things")
        self._children[name] = node


# --- deriving the tree from the table --------------------------------------------------------

_WIDTH_SUFFIX = re.compile(r"^([A-Z_]*[A-Z_])(\d+)$")


def _derive() -> dict[str, Node]:
    roots: dict[str, Node] = {}
    for op in OPS:
        head, *rest = op.name.split(".")
        node = roots.setdefault(head, Node(head))
        for part in rest:
            node = node._child(part)
        node._form = form_for(op)
    for root in roots.values():
        for node in _walk(root):
            _add_source_aliases(node)
            _add_width_choices(node)
    _add_shorthands(roots)
    return roots


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in list(node._children.values()):
        yield from _walk(child)


def _add_source_aliases(node: Node) -> None:
    """``K``/``X`` pairs (immediate or register source) are also ``imm``/``reg``."""
    k, x = node._children.get("K"), node._children.get("X")
    if k is not None and x is not None:
        node._mount("imm", k)
        node._mount("reg", x)


def _add_width_choices(node: Node) -> None:
    """``TO_BE16``/``TO_BE32``/``TO_BE64`` are also ``TO_BE(..., bits)``."""
    groups: dict[str, dict[int, Form]] = {}
    for name, child in node._children.items():
        m = _WIDTH_SUFFIX.match(name)
        if m and isinstance(child._form, Form):
            groups.setdefault(m[1], {})[int(m[2])] = child._form
    for stem, forms in groups.items():
        if len(forms) > 1:
            chooser = Node(f"{node._path}.{stem}")
            chooser._form = Choice(chooser._path, MappingProxyType(forms))
            node._mount(stem, chooser)


def _add_shorthands(roots: dict[str, Node]) -> None:
    """``LD.MAP_FD`` for ``LD.IMM64.MAP_FD``; ``JMP.CALL*`` for the ``CALL`` rows."""
    ld = roots["LD"]
    for name, child in list(ld._children["IMM64"]._children.items()):
        ld._mount(name, child)
    call = roots["CALL"]
    helper = call._children["HELPER"]
    call._form = helper._form  # `call 1` calls a helper, as in assembly
    jmp = roots[Class((helper.op.code if helper.op else 0) & 0x07).name]
    jmp._mount("CALL", call)
    for name, child in list(call._children.items()):
        jmp._mount("CALLX" if name == "X" else f"CALL_{name}", child)


NAMESPACES: Mapping[str, Node] = MappingProxyType(_derive())
"""The roots of the builder tree by name: the instruction classes, and ``CALL``."""

ALU = NAMESPACES["ALU"]
ALU64 = NAMESPACES["ALU64"]
JMP = NAMESPACES["JMP"]
JMP32 = NAMESPACES["JMP32"]
CALL = NAMESPACES["CALL"]
LD = NAMESPACES["LD"]
LDX = NAMESPACES["LDX"]
ST = NAMESPACES["ST"]
STX = NAMESPACES["STX"]


def get_builder(path: str) -> Node | None:
    """The builder node at a dotted path (``"ALU64.ADD.K"``, ``"JMP.CALL"``), or ``None``."""
    head, *rest = path.split(".")
    node = NAMESPACES.get(head)
    for part in rest:
        if node is None:
            return None
        node = node._children.get(part)
    return node


# --- labels and resolution -------------------------------------------------------------------


@immutable
class Label:
    """A position in a :func:`build` list: the slot of the next instruction.

    Jumps name it as a target, local calls as a function entry.

    Raises:
        AssemblerError: the name is not a non-empty string.
    """

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise AssemblerError(f"a label name must be a non-empty string, got {self.name!r}")


def layout(items: Iterable[Instruction | Label]) -> tuple[list[Instruction], dict[str, int]]:
    """Split a build list into its instructions and the slot index of each label.

    Raises:
        AssemblerError: a duplicate label, or an item that is neither an instruction nor a
            label (such as a constructor that was not called: ``JMP.EXIT`` for ``JMP.EXIT()``).
    """
    insns: list[Instruction] = []
    labels: dict[str, int] = {}
    pc = 0
    for i, item in enumerate(items):
        if isinstance(item, Instruction):
            insns.append(item)
            pc += item.slots
        elif isinstance(item, Label):
            if item.name in labels:
                raise AssemblerError(
                    f"duplicate label {item.name!r} (first at slot {labels[item.name]})",
                    Location(insn=pc),
                )
            labels[item.name] = pc
        else:
            raise AssemblerError(_not_an_item(item, i))
    return insns, labels


def _not_an_item(item: object, i: int) -> str:
    if isinstance(item, Node):
        return f"item {i}: {item.path} is a constructor, not an instruction: call it"
    return f"item {i}: expected an Instruction or a Label, got {type(item).__name__}"


def resolve(insns: Iterable[Instruction], labels: Mapping[str, int]) -> list[Instruction]:
    """Turn the refs that name labels into pc-relative offsets (see the module docs).

    ``labels`` maps a name to a slot index (``lddw`` counts two slots). A target is
    relative to the next slot: ``off`` for jumps, ``imm`` for ``gotol``, local calls and
    ``lddw`` of a function (the kernel counts those from the first slot + 1, too).

    Raises:
        AssemblerError: a jump to an unknown label, or a target out of the field's reach.
    """
    out: list[Instruction] = []
    pc = 0
    for insn in insns:
        done = insn if insn.ref is None else _resolve_one(insn, pc, labels)
        out.append(done)
        pc += done.slots
    return out


def _resolve_one(insn: Instruction, pc: int, labels: Mapping[str, int]) -> Instruction:
    op = insn.op
    field = op.target_field if op is not None else None
    ref = insn.ref
    if op is None or field is None or ref is None:
        return insn  # a map or kernel-symbol name: the loader's
    target = labels.get(ref)
    if target is None:
        if not op.is_jump:
            return insn  # a function outside this list: the linker's
        close = difflib.get_close_matches(ref, list(labels), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise AssemblerError(f"{op.name}: unknown label {ref!r}{hint}", Location(insn=pc))
    rel = target - (pc + 1)
    if field == "off":
        if not -(1 << 15) <= rel < (1 << 15):
            raise AssemblerError(
                f"{op.name}: label {ref!r} is {rel:+} slots away, beyond a 16-bit jump offset "
                "(-32768..32767); jump there with JMP32.JA (gotol, 32-bit offset), "
                "branching over it for a conditional jump",
                Location(insn=pc),
            )
        return replace(insn, off=rel, ref=None)
    if not -(1 << 31) <= rel < (1 << 31):
        raise AssemblerError(f"{op.name}: {ref!r} is {rel:+} slots away", Location(insn=pc))
    return replace(insn, imm=rel, ref=None)


def build(items: Iterable[Instruction | Label]) -> list[Instruction]:
    """The instructions of a list of instructions and labels, with label refs resolved.

    Refs of maps, kernel symbols and functions not in the list stay for the loader and
    linker (see the module docs); :func:`pybpf.asm.instruction.encode` refuses them.

    Example::

        build([JMP.JA("end"), LD.IMM64(R0, 1 << 40), Label("end"), JMP.EXIT()])
        # JMP.JA gets off=2: lddw takes two slots

    Raises:
        AssemblerError: an unknown or duplicate label, or a jump too far for its field.
    """
    return resolve(*layout(items))
