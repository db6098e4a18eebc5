"""The eBPF opcode table: every instruction form of RFC 9669 and Linux practice, declared once.

Each :class:`Op` row says how one instruction form is encoded (opcode byte, which fields carry
operands, which field value tells it apart from its neighbours) and how it is spelled in the
two assembly syntaxes. The encoder, decoder, assembler, disassembler, builder, VM and JIT all
read this table; none of them lists opcodes of its own.

An instruction is 8 bytes (``lddw`` is two such slots)::

     0       8    12   16              32                              64
    +--------+----+----+---------------+-------------------------------+
    | opcode |dst |src |    offset     |           immediate           |   little-endian
    +--------+----+----+---------------+-------------------------------+
              ^ byte 1: src in the high nibble, dst in the low nibble
                (big-endian objects swap the nibbles and the multi-byte fields)

    opcode for ALU/ALU64/JMP/JMP32:   | op (4 bits) | source (1 bit) | class (3 bits) |
    opcode for LD/LDX/ST/STX:         | mode (3)    | size (2)       | class (3)      |

See https://www.rfc-editor.org/rfc/rfc9669 and the kernel's
Documentation/bpf/standardization/instruction-set.rst, include/uapi/linux/bpf.h.

Spelling templates
------------------
``llvm`` is the syntax of ``llvm-objdump -d`` / ``llvm-mc`` (and, on input, of the kernel
verifier's log); ``ubpf`` the syntax of uBPF and bpf_conformance. In templates:

``{dst}`` ``{src}``
    register in the width of the operation: ``r1``/``w1`` (llvm), ``%r1`` (ubpf)
``{dst64}`` ``{src64}``
    register always written 64-bit (``r1``); same as ``{dst}`` in ubpf
``{dstv}`` ``{srcv}``
    value register of a narrow memory access: ``r1``, or ``w1`` when formatting for alu32
``{imm}`` ``{off}``
    signed immediate / offset as a number
``{moff}``
    memory offset next to a base register: ``+ 0x8``/``- 0x8`` (llvm), ``+8``/``-8`` (ubpf,
    nothing for 0: ``[%r1]``)
``{target}``
    jump or call target, relative to the next instruction (or a label)
``{imm64}``
    the 64-bit immediate of ``lddw``; ``{imm_hi}`` its high 32 bits
``{helper}``
    a helper id (a name when the table knows it)
``{as_dst}`` ``{as_src}``
    the address spaces of ``addr_space_cast`` (high and low 16 bits of imm)
``{uimm}`` ``{uimm_hi}``
    ``imm`` / ``imm_hi`` as an unsigned decimal (map fds, ids and value offsets, as the
    kernel prints them)
``{ximm}``
    ``imm`` as unsigned hex (the last operand of llvm-objdump's ``ld_pseudo``)
``{r0v}``
    register r0 in the width of a narrow atomic's value: ``r0``, or ``w0`` for alu32
``{xoff}``
    ``, <off>`` when ``off`` is not zero, nothing when it is (uBPF ``call runtime``)

``pc{target}`` is one unit: ``pc+0x5`` (llvm), ``pc+5`` (ubpf), or a label alone.

``llvm_aliases`` are extra LLVM-syntax spellings accepted on input: the forms of the kernel
verifier log (``kernel/bpf/disasm.c``) and of ``bpftool prog dump xlated``. ``aliases`` are
extra uBPF spellings. ``objdump`` is the text of llvm-objdump-19 where it differs from the
lossless ``llvm`` template (``<unknown>`` where LLVM 19 cannot decode the instruction).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from pybpf._records import field, immutable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)

__all__ = [
    "OPS",
    "OPS_BY_CODE",
    "OPS_BY_NAME",
    "AluOp",
    "AtomicOp",
    "CallKind",
    "Class",
    "Field",
    "JmpOp",
    "Kind",
    "Mode",
    "Op",
    "PseudoSrc",
    "Size",
    "Source",
    "lookup",
]


class Class(enum.IntEnum):
    """Instruction class: the low 3 bits of the opcode."""

    LD = 0x00
    LDX = 0x01
    ST = 0x02
    STX = 0x03
    ALU = 0x04
    JMP = 0x05
    JMP32 = 0x06
    ALU64 = 0x07


class Source(enum.IntEnum):
    """Operand source of ALU and JMP opcodes (bit 3): immediate (K) or register (X)."""

    K = 0x00
    X = 0x08


class AluOp(enum.IntEnum):
    """ALU operation (high 4 bits of an ALU/ALU64 opcode)."""

    ADD = 0x00
    SUB = 0x10
    MUL = 0x20
    DIV = 0x30
    OR = 0x40
    AND = 0x50
    LSH = 0x60
    RSH = 0x70
    NEG = 0x80
    MOD = 0x90
    XOR = 0xA0
    MOV = 0xB0
    ARSH = 0xC0
    END = 0xD0


class JmpOp(enum.IntEnum):
    """Jump operation (high 4 bits of a JMP/JMP32 opcode)."""

    JA = 0x00
    JEQ = 0x10
    JGT = 0x20
    JGE = 0x30
    JSET = 0x40
    JNE = 0x50
    JSGT = 0x60
    JSGE = 0x70
    CALL = 0x80
    EXIT = 0x90
    JLT = 0xA0
    JLE = 0xB0
    JSLT = 0xC0
    JSLE = 0xD0
    JCOND = 0xE0


class Size(enum.IntEnum):
    """Access size of a load or store (bits 3-4)."""

    W = 0x00
    H = 0x08
    B = 0x10
    DW = 0x18

    @property
    def nbytes(self) -> int:
        return {Size.W: 4, Size.H: 2, Size.B: 1, Size.DW: 8}[self]


class Mode(enum.IntEnum):
    """Addressing mode of a load or store (bits 5-7)."""

    IMM = 0x00
    ABS = 0x20
    IND = 0x40
    MEM = 0x60
    MEMSX = 0x80
    ATOMIC = 0xC0


class AtomicOp(enum.IntEnum):
    """The ``imm`` of an atomic instruction (``BPF_STX | BPF_ATOMIC``)."""

    ADD = 0x00
    OR = 0x40
    AND = 0x50
    XOR = 0xA0
    FETCH_ADD = 0x01
    FETCH_OR = 0x41
    FETCH_AND = 0x51
    FETCH_XOR = 0xA1
    XCHG = 0xE1
    CMPXCHG = 0xF1
    LOAD_ACQ = 0x100
    STORE_REL = 0x110


class PseudoSrc(enum.IntEnum):
    """The ``src`` of ``lddw``: what the 64-bit immediate means (``BPF_PSEUDO_*``)."""

    IMM64 = 0
    MAP_FD = 1
    MAP_VALUE = 2
    BTF_ID = 3
    FUNC = 4
    MAP_IDX = 5
    MAP_IDX_VALUE = 6


class CallKind(enum.IntEnum):
    """The ``src`` of ``call``: helper id, bpf-to-bpf call, or kernel function."""

    HELPER = 0
    LOCAL = 1  # BPF_PSEUDO_CALL
    KFUNC = 2  # BPF_PSEUDO_KFUNC_CALL


class Field(enum.IntFlag):
    """Instruction fields. An :class:`Op` names the ones that carry operands."""

    NONE = 0
    DST = 1
    SRC = 2
    OFF = 4
    IMM = 8


class Kind(enum.Enum):
    """What an instruction does, for the consumers that dispatch on it (VM, JIT, verifier)."""

    ALU = "alu"  # dst = dst op src/imm
    NEG = "neg"
    MOV = "mov"
    MOVSX = "movsx"
    ADDR_SPACE_CAST = "addr_space_cast"
    END = "end"  # le/be/bswap
    JA = "ja"
    JCOND = "jcond"  # may_goto
    JUMP = "jump"  # conditional jumps
    CALL = "call"
    CALLX = "callx"
    GOTOX = "gotox"
    EXIT = "exit"
    LDDW = "lddw"
    LDABS = "ldabs"
    LDIND = "ldind"
    LDX = "ldx"
    ST = "st"
    STX = "stx"
    ATOMIC = "atomic"


@immutable
class Op:
    """One instruction form.

    ``code`` is the opcode byte; an instruction is this form when its opcode is ``code`` and,
    if ``key`` is set, the named field equals the given value (``("off", 1)`` tells ``sdiv``
    from ``div``). ``operands`` lists the fields that carry operands; every other field must be
    zero (the key field aside). ``width`` is the operation width in bits (32/64) for ALU and
    jumps, the access size in bits for memory operations.
    """

    name: str
    code: int
    kind: Kind
    operands: Field
    llvm: str
    ubpf: str
    key: tuple[str, int] | None = None
    width: int = 64
    signed: bool = False
    min_cpu: int = 1
    aliases: tuple[str, ...] = ()
    objdump: str | None = field(default=None)
    llvm_aliases: tuple[str, ...] = ()

    @property
    def cls(self) -> Class:
        return Class(self.code & 0x07)

    @property
    def is_wide(self) -> bool:
        """True for ``lddw``, the only instruction that takes two 8-byte slots."""
        return self.kind is Kind.LDDW

    @property
    def is_jump(self) -> bool:
        return self.kind in (Kind.JA, Kind.JUMP, Kind.JCOND)

    @property
    def target_field(self) -> str | None:
        """The field holding a pc-relative target: ``off`` for jumps, ``imm`` for ``gotol``,
        local calls and ``lddw`` of a function; ``None`` for everything else."""
        if self.name == "JMP32.JA" or self.name in ("CALL.LOCAL", "LD.IMM64.FUNC"):
            return "imm"
        if self.is_jump:
            return "off"
        return None

    @property
    def reserved(self) -> Field:
        """Fields that must be zero (neither an operand nor the key)."""
        zero = Field.DST | Field.SRC | Field.OFF | Field.IMM
        zero &= ~self.operands
        if self.key is not None:
            zero &= ~_FIELD_BY_NAME[self.key[0]]
        return zero


_FIELD_BY_NAME = {"dst": Field.DST, "src": Field.SRC, "off": Field.OFF, "imm": Field.IMM}

D, S, OFF, IMM = Field.DST, Field.SRC, Field.OFF, Field.IMM

# --- ALU and ALU64 ----------------------------------------------------------------------------

# name, AluOp, off key (None: 0), llvm operator, ubpf mnemonic stem, signed
_ALU_BINARY = (
    ("ADD", AluOp.ADD, 0, "+=", "add", False),
    ("SUB", AluOp.SUB, 0, "-=", "sub", False),
    ("MUL", AluOp.MUL, 0, "*=", "mul", False),
    ("DIV", AluOp.DIV, 0, "/=", "div", False),
    ("SDIV", AluOp.DIV, 1, "s/=", "sdiv", True),
    ("OR", AluOp.OR, 0, "|=", "or", False),
    ("AND", AluOp.AND, 0, "&=", "and", False),
    ("LSH", AluOp.LSH, 0, "<<=", "lsh", False),
    ("RSH", AluOp.RSH, 0, ">>=", "rsh", False),
    ("MOD", AluOp.MOD, 0, "%=", "mod", False),
    ("SMOD", AluOp.MOD, 1, "s%=", "smod", True),
    ("XOR", AluOp.XOR, 0, "^=", "xor", False),
    ("ARSH", AluOp.ARSH, 0, "s>>=", "arsh", True),
)


def _alu_ops() -> Iterator[Op]:
    for cls, width, sfx in ((Class.ALU, 32, "32"), (Class.ALU64, 64, "")):
        c = cls.name
        for name, aop, offkey, llop, stem, signed in _ALU_BINARY:
            key = ("off", offkey)
            cpu = 4 if offkey else 1
            yield Op(
                f"{c}.{name}.K",
                aop | Source.K | cls,
                Kind.ALU,
                D | IMM,
                f"{{dst}} {llop} {{imm}}",
                f"{stem}{sfx} {{dst}}, {{imm}}",
                key,
                width,
                signed,
                cpu,
                aliases=(f"{stem}64 {{dst}}, {{imm}}",) if width == 64 else (),
            )
            yield Op(
                f"{c}.{name}.X",
                aop | Source.X | cls,
                Kind.ALU,
                D | S,
                f"{{dst}} {llop} {{src}}",
                f"{stem}{sfx} {{dst}}, {{src}}",
                key,
                width,
                signed,
                cpu,
                aliases=(f"{stem}64 {{dst}}, {{src}}",) if width == 64 else (),
            )
        yield Op(
            f"{c}.NEG",
            AluOp.NEG | Source.K | cls,
            Kind.NEG,
            D,
            "{dst} = -{dst}",
            f"neg{sfx} {{dst}}",
            None,
            width,
            aliases=("neg64 {dst}",) if width == 64 else (),
        )
        yield Op(
            f"{c}.MOV.K",
            AluOp.MOV | Source.K | cls,
            Kind.MOV,
            D | IMM,
            "{dst} = {imm}",
            f"mov{sfx} {{dst}}, {{imm}}",
            ("off", 0),
            width,
            aliases=("mov64 {dst}, {imm}",) if width == 64 else (),
        )
        yield Op(
            f"{c}.MOV.X",
            AluOp.MOV | Source.X | cls,
            Kind.MOV,
            D | S,
            "{dst} = {src}",
            f"mov{sfx} {{dst}}, {{src}}",
            ("off", 0),
            width,
            aliases=("mov64 {dst}, {src}",) if width == 64 else (),
        )
        for bits in (8, 16, 32) if width == 64 else (8, 16):
            yield Op(
                f"{c}.MOVSX{bits}",
                AluOp.MOV | Source.X | cls,
                Kind.MOVSX,
                D | S,
                f"{{dst}} = (s{bits}){{src}}",
                f"movsx{bits}{width} {{dst}}, {{src}}",
                ("off", bits),
                width,
                True,
                4,
            )
    yield Op(
        "ALU64.ADDR_SPACE_CAST",
        AluOp.MOV | Source.X | Class.ALU64,
        Kind.ADDR_SPACE_CAST,
        D | S | IMM,
        "{dst} = addr_space_cast({src}, {as_dst}, {as_src})",
        "addr_space_cast {dst}, {src}, {as_dst}, {as_src}",
        ("off", 1),
        64,
        min_cpu=4,
    )
    for bits in (16, 32, 64):
        yield Op(
            f"ALU.TO_LE{bits}",
            AluOp.END | Source.K | Class.ALU,
            Kind.END,
            D,
            f"{{dst64}} = le{bits} {{dst64}}",
            f"le{bits} {{dst}}",
            ("imm", bits),
            bits,
        )
        yield Op(
            f"ALU.TO_BE{bits}",
            AluOp.END | Source.X | Class.ALU,
            Kind.END,
            D,
            f"{{dst64}} = be{bits} {{dst64}}",
            f"be{bits} {{dst}}",
            ("imm", bits),
            bits,
        )
        yield Op(
            f"ALU64.BSWAP{bits}",
            AluOp.END | Source.K | Class.ALU64,
            Kind.END,
            D,
            f"{{dst64}} = bswap{bits} {{dst64}}",
            f"bswap{bits} {{dst}}",
            ("imm", bits),
            bits,
            min_cpu=4,
            aliases=(f"swap{bits} {{dst}}",),
        )


# --- JMP and JMP32 ----------------------------------------------------------------------------

# name, JmpOp, llvm operator, ubpf stem, signed, min cpu (jlt & co came with v2)
_JMP_COND = (
    ("JEQ", JmpOp.JEQ, "==", "jeq", False, 1),
    ("JGT", JmpOp.JGT, ">", "jgt", False, 1),
    ("JGE", JmpOp.JGE, ">=", "jge", False, 1),
    ("JSET", JmpOp.JSET, "&", "jset", False, 1),
    ("JNE", JmpOp.JNE, "!=", "jne", False, 1),
    ("JSGT", JmpOp.JSGT, "s>", "jsgt", True, 1),
    ("JSGE", JmpOp.JSGE, "s>=", "jsge", True, 1),
    ("JLT", JmpOp.JLT, "<", "jlt", False, 2),
    ("JLE", JmpOp.JLE, "<=", "jle", False, 2),
    ("JSLT", JmpOp.JSLT, "s<", "jslt", True, 2),
    ("JSLE", JmpOp.JSLE, "s<=", "jsle", True, 2),
)


def _jmp_ops() -> Iterator[Op]:
    for cls, width, sfx in ((Class.JMP, 64, ""), (Class.JMP32, 32, "32")):
        c = cls.name
        cpu32 = 3 if cls is Class.JMP32 else 1
        for name, jop, llop, stem, signed, cpu in _JMP_COND:
            yield Op(
                f"{c}.{name}.K",
                jop | Source.K | cls,
                Kind.JUMP,
                D | OFF | IMM,
                f"if {{dst}} {llop} {{imm}} goto {{target}}",
                f"{stem}{sfx} {{dst}}, {{imm}}, {{target}}",
                None,
                width,
                signed,
                max(cpu, cpu32),
            )
            yield Op(
                f"{c}.{name}.X",
                jop | Source.X | cls,
                Kind.JUMP,
                D | S | OFF,
                f"if {{dst}} {llop} {{src}} goto {{target}}",
                f"{stem}{sfx} {{dst}}, {{src}}, {{target}}",
                None,
                width,
                signed,
                max(cpu, cpu32),
            )
    yield Op(
        "JMP.JA", JmpOp.JA | Source.K | Class.JMP, Kind.JA, OFF, "goto {target}", "ja {target}"
    )
    yield Op(
        "JMP32.JA",
        JmpOp.JA | Source.K | Class.JMP32,
        Kind.JA,
        IMM,
        "gotol {target}",
        "ja32 {target}",
        width=32,
        min_cpu=4,
    )
    yield Op(
        "JMP.GOTOX",
        JmpOp.JA | Source.X | Class.JMP,
        Kind.GOTOX,
        D,
        "gotox {dst}",
        "gotox {dst}",
        min_cpu=4,
        objdump="<unknown>",
    )
    yield Op(
        "JMP.MAY_GOTO",
        JmpOp.JCOND | Source.K | Class.JMP,
        Kind.JCOND,
        OFF,
        "may_goto {target}",
        "may_goto {target}",
        ("src", 0),
    )
    call = JmpOp.CALL | Class.JMP
    yield Op(
        "CALL.HELPER",
        call | Source.K,
        Kind.CALL,
        IMM,
        "call {helper}",
        "call {helper}",
        ("src", CallKind.HELPER),
        aliases=("call helper {helper}",),
    )
    yield Op(
        "CALL.LOCAL",
        call | Source.K,
        Kind.CALL,
        IMM,
        "call pc{target}",
        "call local {target}",
        ("src", CallKind.LOCAL),
        objdump="call {imm}",
    )
    yield Op(
        "CALL.KFUNC",
        call | Source.K,
        Kind.CALL,
        OFF | IMM,
        "call kfunc({imm}, {off})",
        "call runtime {imm}{xoff}",
        ("src", CallKind.KFUNC),
        objdump="call {imm}",
    )
    yield Op(
        "CALL.X",
        call | Source.X,
        Kind.CALLX,
        D,
        "callx {dst}",
        "call {dst}",
        aliases=("callx {dst}", "call helper {dst}"),
    )
    yield Op("JMP.EXIT", JmpOp.EXIT | Source.K | Class.JMP, Kind.EXIT, Field.NONE, "exit", "exit")


# --- Loads and stores ---------------------------------------------------------------------------

_SIZES = ((Size.B, 8, "b"), (Size.H, 16, "h"), (Size.W, 32, "w"), (Size.DW, 64, "dw"))


def _mem_ops() -> Iterator[Op]:
    ld = Class.LD | Size.DW | Mode.IMM
    llvm_imm64 = {
        PseudoSrc.IMM64: "{dst64} = {imm64} ll",
        PseudoSrc.MAP_FD: "{dst64} = map[fd:{uimm}] ll",
        PseudoSrc.MAP_VALUE: "{dst64} = map[fd:{uimm}][0]+{uimm_hi} ll",
        PseudoSrc.BTF_ID: "{dst64} = btf_id[{uimm}] ll",
        PseudoSrc.FUNC: "{dst64} = func[pc{target}] ll",
        PseudoSrc.MAP_IDX: "{dst64} = map[idx:{uimm}] ll",
        PseudoSrc.MAP_IDX_VALUE: "{dst64} = map[idx:{uimm}][0]+{uimm_hi} ll",
    }
    # How the kernel verifier and ``bpftool prog dump xlated`` print them (no ``ll``).
    kernel_imm64 = {
        PseudoSrc.MAP_FD: ("{dst64} = map[id:{uimm}]",),
        PseudoSrc.MAP_VALUE: ("{dst64} = map[id:{uimm}][0]+{uimm_hi}",),
        PseudoSrc.FUNC: ("{dst64} = subprog[{target}]",),
        PseudoSrc.MAP_IDX_VALUE: ("{dst64} = map[idx:{uimm}]+{uimm_hi}",),
    }
    for src, tmpl in llvm_imm64.items():
        operands = D | IMM
        ub = tmpl.replace("{dst64} = ", "lddw {dst}, ").removesuffix(" ll")
        objdump = (
            None if src is PseudoSrc.IMM64 else f"ld_pseudo\t{{dst64}}, {int(src):#x}, {{ximm}}"
        )
        yield Op(
            f"LD.IMM64.{src.name}" if src else "LD.IMM64",
            ld,
            Kind.LDDW,
            operands,
            tmpl,
            ub,
            ("src", src),
            objdump=objdump,
            llvm_aliases=kernel_imm64.get(src, ()),
        )
    for size, bits, sfx in _SIZES[:3]:
        yield Op(
            f"LD.ABS.{size.name}",
            Class.LD | size | Mode.ABS,
            Kind.LDABS,
            IMM,
            f"r0 = *(u{bits} *)skb[{{imm}}]",
            f"ldabs{sfx} {{imm}}",
            None,
            bits,
        )
        yield Op(
            f"LD.IND.{size.name}",
            Class.LD | size | Mode.IND,
            Kind.LDIND,
            S | IMM,
            f"r0 = *(u{bits} *)skb[{{src64}} + {{imm}}]",
            f"ldind{sfx} {{src}}, {{imm}}",
            None,
            bits,
            objdump=f"r0 = *(u{bits} *)skb[{{src64}}]",
        )
    for size, bits, sfx in _SIZES:
        v = "64" if bits == 64 else "v"
        yield Op(
            f"LDX.MEM.{size.name}",
            Class.LDX | size | Mode.MEM,
            Kind.LDX,
            D | S | OFF,
            f"{{dst{v}}} = *(u{bits} *)({{src64}} {{moff}})",
            f"ldx{sfx} {{dst}}, [{{src}}{{moff}}]",
            None,
            bits,
        )
        if bits < 64:
            yield Op(
                f"LDX.MEMSX.{size.name}",
                Class.LDX | size | Mode.MEMSX,
                Kind.LDX,
                D | S | OFF,
                f"{{dst64}} = *(s{bits} *)({{src64}} {{moff}})",
                f"ldxs{sfx} {{dst}}, [{{src}}{{moff}}]",
                None,
                bits,
                True,
                4,
            )
        yield Op(
            f"ST.MEM.{size.name}",
            Class.ST | size | Mode.MEM,
            Kind.ST,
            D | OFF | IMM,
            f"*(u{bits} *)({{dst64}} {{moff}}) = {{imm}}",
            f"st{sfx} [{{dst}}{{moff}}], {{imm}}",
            None,
            bits,
        )
        yield Op(
            f"STX.MEM.{size.name}",
            Class.STX | size | Mode.MEM,
            Kind.STX,
            D | S | OFF,
            f"*(u{bits} *)({{dst64}} {{moff}}) = {{src{v}}}",
            f"stx{sfx} [{{dst}}{{moff}}], {{src}}",
            None,
            bits,
        )


def _atomic_ops() -> Iterator[Op]:
    for size, bits, _ in _SIZES:
        code = Class.STX | size | Mode.ATOMIC
        sfx = "32" if bits == 32 else ""
        v = "v" if bits < 64 else "64"
        ty = f"u{bits}"
        yield Op(
            f"STX.ATOMIC.{size.name}.LOAD_ACQ",
            code,
            Kind.ATOMIC,
            D | S | OFF,
            f"{{dst{v}}} = load_acquire(({ty} *)({{src64}} {{moff}}))",
            f"load_acquire{bits} {{dst}}, [{{src}}{{moff}}]",
            ("imm", AtomicOp.LOAD_ACQ),
            bits,
            min_cpu=4,
            objdump="<unknown>",
        )
        yield Op(
            f"STX.ATOMIC.{size.name}.STORE_REL",
            code,
            Kind.ATOMIC,
            D | S | OFF,
            f"store_release(({ty} *)({{dst64}} {{moff}}), {{src{v}}})",
            f"store_release{bits} [{{dst}}{{moff}}], {{src}}",
            ("imm", AtomicOp.STORE_REL),
            bits,
            min_cpu=4,
            objdump="<unknown>",
        )
        if bits < 32:
            continue
        rw = "src" if bits == 64 else "srcv"
        k64 = "64" if bits == 64 else ""  # the kernel log says atomic64_* for 64-bit forms
        mem = f"(({ty} *)({{dst64}} {{moff}})"
        for op, sym in (("ADD", "+="), ("OR", "|="), ("AND", "&="), ("XOR", "^=")):
            low = op.lower()
            cpu = 1 if op == "ADD" else 3
            yield Op(
                f"STX.ATOMIC.{size.name}.{op}",
                code,
                Kind.ATOMIC,
                D | S | OFF,
                f"lock *({ty} *)({{dst64}} {{moff}}) {sym} {{{rw}}}",
                f"lock {low}{sfx} [{{dst}}{{moff}}], {{src}}",
                ("imm", AtomicOp[op]),
                bits,
                min_cpu=cpu,
            )
            yield Op(
                f"STX.ATOMIC.{size.name}.FETCH_{op}",
                code,
                Kind.ATOMIC,
                D | S | OFF,
                f"{{{rw}}} = atomic_fetch_{low}(({ty} *)({{dst64}} {{moff}}), {{{rw}}})",
                f"lock fetch {low}{sfx} [{{dst}}{{moff}}], {{src}}",
                ("imm", AtomicOp[f"FETCH_{op}"]),
                bits,
                min_cpu=3,
                llvm_aliases=(f"{{{rw}}} = atomic64_fetch_{low}{mem}, {{{rw}}})",) if k64 else (),
            )
        xs = "xchg32_32" if bits == 32 else "xchg_64"
        cs = "cmpxchg32_32" if bits == 32 else "cmpxchg_64"
        r0 = "{r0v}" if bits == 32 else "r0"
        yield Op(
            f"STX.ATOMIC.{size.name}.XCHG",
            code,
            Kind.ATOMIC,
            D | S | OFF,
            f"{{{rw}}} = {xs}({{dst64}} {{moff}}, {{{rw}}})",
            f"lock xchg{sfx} [{{dst}}{{moff}}], {{src}}",
            ("imm", AtomicOp.XCHG),
            bits,
            min_cpu=3,
            llvm_aliases=(f"{{{rw}}} = atomic{k64}_xchg{mem}, {{{rw}}})",),
        )
        yield Op(
            f"STX.ATOMIC.{size.name}.CMPXCHG",
            code,
            Kind.ATOMIC,
            D | S | OFF,
            f"{r0} = {cs}({{dst64}} {{moff}}, {r0}, {{{rw}}})",
            f"lock cmpxchg{sfx} [{{dst}}{{moff}}], {{src}}",
            ("imm", AtomicOp.CMPXCHG),
            bits,
            min_cpu=3,
            llvm_aliases=(f"{r0} = atomic{k64}_cmpxchg{mem}, {r0}, {{{rw}}})",),
        )


def _build() -> tuple[Op, ...]:
    ops = (*_alu_ops(), *_jmp_ops(), *_mem_ops(), *_atomic_ops())
    names = [op.name for op in ops]
    assert len(set(names)) == len(names), "duplicate op names"
    return ops


# The table is built on first use (module ``__getattr__``, PEP 562): a process that loads a
# program never decodes most of its instructions, and building ~250 rows costs ~2 ms.
if TYPE_CHECKING:
    OPS: tuple[Op, ...]
    """Every instruction form, in a stable order."""
    OPS_BY_NAME: Mapping[str, Op]
    """Ops by their unique name, e.g. ``"ALU64.ADD.K"``, ``"STX.ATOMIC.DW.CMPXCHG"``."""
    OPS_BY_CODE: Mapping[int, tuple[Op, ...]]
    """The forms sharing each opcode byte (told apart by their ``key``)."""


def __getattr__(name: str) -> object:
    """``OPS``, ``OPS_BY_NAME``, ``OPS_BY_CODE``: built once, on first use."""
    if name not in ("OPS", "OPS_BY_NAME", "OPS_BY_CODE"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _tables()
    return globals()[name]


def _tables() -> None:
    namespace = globals()
    ops = _build()
    namespace["OPS"] = ops
    namespace["OPS_BY_NAME"] = MappingProxyType({op.name: op for op in ops})
    by_code = _by_code(ops)
    namespace["OPS_BY_CODE"] = by_code
    keyed, irregular = _key_index(by_code)
    namespace["_IRREGULAR"] = irregular
    namespace["_KEYED"] = keyed  # last: lookup() takes it as the sign the tables exist


def _by_code(ops: tuple[Op, ...]) -> Mapping[int, tuple[Op, ...]]:
    table: dict[int, list[Op]] = {}
    for op in ops:
        table.setdefault(op.code, []).append(op)
    return MappingProxyType({code: tuple(forms) for code, forms in table.items()})


_Keyed = tuple[str, dict[int, Op], "Op | None"]


def _key_index(
    by_code: Mapping[int, tuple[Op, ...]],
) -> tuple[dict[int, _Keyed], dict[int, tuple[Op, ...]]]:
    """Per opcode byte, how :func:`lookup` finds the form: the field the forms are told
    apart by, the forms by its value, and the form with no key (it matches any value);
    and, apart, the opcodes whose forms are keyed by different fields (none today), whose
    forms are tried in order."""
    keyed: dict[int, _Keyed] = {}
    irregular: dict[int, tuple[Op, ...]] = {}
    for code, forms in by_code.items():
        names = {op.key[0] for op in forms if op.key is not None}
        if len(names) > 1:
            irregular[code] = forms
            continue
        by_value: dict[int, Op] = {}
        default: Op | None = None
        for op in forms:  # the first form that matches wins, as in the table's order
            if op.key is None:
                default = op
                break
            by_value.setdefault(op.key[1], op)
        keyed[code] = (names.pop() if names else "imm", by_value, default)
    return keyed, irregular


_KEYED: dict[int, _Keyed] | None = None
_IRREGULAR: dict[int, tuple[Op, ...]] = {}


def lookup(code: int, src: int, off: int, imm: int) -> Op | None:
    """The form of an instruction with these raw fields, or ``None`` if it has none.

    ``off`` and ``imm`` are the signed field values. (Every decoded instruction asks this:
    it is a dict lookup on the opcode and one on the key field's value.)
    """
    if _KEYED is None:
        _tables()
    entry = _KEYED.get(code)  # type: ignore[union-attr]  # (set by _tables)
    if entry is not None:
        name, by_value, default = entry
        return by_value.get(src if name == "src" else off if name == "off" else imm, default)
    values = {"src": src, "off": off, "imm": imm}
    for op in _IRREGULAR.get(code, ()):
        if op.key is None or values[op.key[0]] == op.key[1]:
            return op
    return None
