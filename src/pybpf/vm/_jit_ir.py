"""LLVM IR (as text) for a program: the JIT's code generator. Pure: no llvmlite, no ctypes.

Each eBPF function becomes ``i64 @f<pc>(ptr %st, i64 r1..r5, i64 %depth)``; registers are
allocas (promoted to SSA by LLVM). ``%st`` points at the VM's native state::

    0 regions   1 cap-1   2 budget   3 status   4 fault pc   5 fault addr   6 fault size
    7 may_goto loops   8 retval   9 helper trampoline   10 region generation
    11 deopt frames (8 x {pc, r0..r10})   12 runs done (batch loops)

and the region table holds one ``{delta, lo, hi, whi}`` row (4 x i64) per region index, so an
access at ``a`` is checked as ``lo <= a <= hi - size`` (``whi`` for stores) in the row of
``min(a >> 32, cap-1)`` and reaches host memory at ``delta + a``. Unmapped rows have
``lo = 2**64-1``: every access faults. TBAA keeps program memory and the state apart, so
LLVM hoists the table lookups out of loops.

The budget is charged on edges: entering a straight-line segment by a jump charges its
length; a branch that leaves a segment early refunds the rest. A status other than 0 after a
call or a fault makes every frame return at once; the Python driver reads why.
"""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, AtomicOp, CallKind, JmpOp, Kind, Op, Source
from pybpf.vm._alu import M32, sx
from pybpf.vm._code import Code
from pybpf.vm.helpers.maps import map_lookup_elem as _LOOKUP
from pybpf.vm.memory import (
    CODE_REGION,
    MAX_FRAMES,
    PACKET_BASE,
    REGION_SHIFT,
    STACK_REGION,
    STACK_SIZE,
)

__all__ = [
    "DEOPT_WORDS",
    "ST_BADCALL",
    "ST_DEOPT",
    "ST_DEPTH",
    "ST_FAULT",
    "ST_PYERR",
    "ST_UNWIND",
    "FunctionIR",
]

# state fields (i64 index) and status values
F_REGIONS, F_CAP, F_BUDGET, F_STATUS, F_PC, F_ADDR, F_SIZE, F_LOOPS, F_RETVAL, F_TRAMP = range(10)
F_GEN = 10
ST_FAULT, ST_PYERR, ST_UNWIND, ST_DEPTH, ST_BADCALL, ST_DEOPT = 1, 3, 4, 5, 6, 7
F_DEOPT, F_DONE = 11, 12
DEOPT_WORDS = 12  # a saved frame: pc, r0 ... r10
SITE_HELPER, SITE_CALLX, SITE_LDABS = 0, 1, 2


class FunctionIR:
    """IR of one eBPF function."""

    def __init__(  # noqa: PLR0917 - a code generator's context
        self,
        code: Code,
        entry: int,
        segs: dict[int, int],
        prefix: str,
        memory_entry: bool,
        sites: list[int],
    ) -> None:
        self.sites = sites  # [next access site number], shared by the module's functions
        self.known: dict[int, int] = {}
        self.current = 0
        self.prefix = prefix
        self.memory_entry = memory_entry
        self.code = code
        self.entry = entry
        self.end = code.function_end(entry)
        self.segs = segs
        self.lines: list[str] = []
        self.n = 0

    # -- helpers ------------------------------------------------------------------------------
    def t(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def emit(self, text: str) -> None:
        self.lines.append("  " + text)

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def get(self, r: int) -> str:
        v = self.t()
        self.emit(f"{v} = load i64, ptr %R{r}")
        return v

    def put(self, r: int, value: str) -> None:
        self.emit(f"store i64 {value}, ptr %R{r}")

    def field(self, index: int) -> str:
        p = self.t()
        self.emit(f"{p} = getelementptr i64, ptr %st, i64 {index}")
        return p

    def load_ptr(self, index: int) -> str:
        p, v = self.field(index), self.t()
        self.emit(f"{v} = load ptr, ptr {p}, !tbaa !2")
        return v

    def load_field(self, index: int) -> str:
        p, v = self.field(index), self.t()
        self.emit(f"{v} = load i64, ptr {p}, !tbaa !2")
        return v

    def store_field(self, index: int, value: str) -> None:
        p = self.field(index)
        self.emit(f"store i64 {value}, ptr {p}, !tbaa !2")

    def op(self, text: str) -> str:
        v = self.t()
        self.emit(f"{v} = {text}")
        return v

    # -- function -----------------------------------------------------------------------------
    def generate(self) -> list[str]:
        """The function's IR lines."""
        self._prologue()
        self.starts = self._block_starts()
        pc = self.entry
        while pc < self.end:
            insn, op = self.code.at(pc)
            if pc in self.starts:
                self.label(f"L{pc}")
                self.known.clear()  # constants are known within a block only
            self.current = pc
            self._insn(pc, insn, op)
            self._track(insn, op)
            pc += insn.slots
        self._tails()
        self.lines.append("}")
        self._reload_after_calls()
        return self.lines

    def _prologue(self) -> None:
        """Registers, the depth check, the zeroed stack frame, r10, the first charge."""
        e = self.entry
        self.lines.append(
            f"define internal i64 @{self.prefix}f{e}(ptr %st, i64 %a1, i64 %a2, i64 %a3, "
            "i64 %a4, i64 %a5, i64 %depth) {"
        )
        self.label("entry")
        for name in [*(f"R{r}" for r in range(11)), "LEFT", "PLO", "PHI", "PWHI", "PDELTA"]:
            self.emit(f"%{name} = alloca i64")
        for r in range(10):
            self.put(r, f"%a{r}" if 1 <= r <= 5 else "0")
        deep = self.op(f"icmp uge i64 %depth, {MAX_FRAMES}")
        self.emit(f"br i1 {deep}, label %too_deep, label %start, !prof !5")
        self.label("start")
        self._zero_stack()
        self._load_packet_window()
        top = self.op(f"shl i64 %depth, {REGION_SHIFT}")
        self.put(10, self.op(f"add i64 {top}, {(STACK_REGION << REGION_SHIFT) + STACK_SIZE}"))
        self.emit(f"store i64 {self.load_field(F_BUDGET)}, ptr %LEFT")
        self._charge(self.segs[e], e, 0, "entry_go")
        self.label("entry_go")
        self.emit(f"br label %L{e}")

    def _reload_after_calls(self) -> None:
        """A call may move the packet window (``xdp_adjust_head``): reload it after each."""
        reloaded: list[str] = []
        for line in self.lines:
            if line != "  ; INVALIDATE":
                reloaded.append(line)
                continue
            mark = len(self.lines)
            self._load_packet_window()
            reloaded += self.lines[mark:]
            del self.lines[mark:]
        self.lines = reloaded

    def _zero_stack(self) -> None:
        tab = self.load_ptr(F_REGIONS)
        row = self.op(f"add i64 %depth, {STACK_REGION}")
        e = self.op(f"getelementptr [4 x i64], ptr {tab}, i64 {row}")
        delta = self.op(f"load i64, ptr {e}, !tbaa !10")
        lo_p = self.op(f"getelementptr i64, ptr {e}, i64 1")
        lo = self.op(f"load i64, ptr {lo_p}, !tbaa !10")
        self.emit(f"%stackhost = add i64 {delta}, {lo}")
        ptr = self.op("inttoptr i64 %stackhost to ptr")
        self.emit(
            f"call void @llvm.memset.p0.i64(ptr {ptr}, i8 0, i64 {STACK_SIZE}, i1 false), !tbaa !4"
        )

    def _load_packet_window(self) -> None:
        """Load region 0's window (the packet) into %PLO/%PHI/%PDELTA: the first thing an
        access is checked against. Region 0 addresses are below 2**32, which LLVM is told,
        so it can prove a program's own ``data_end`` checks make ours redundant."""
        tab = self.load_ptr(F_REGIONS)
        lo = self.op(f"getelementptr i64, ptr {tab}, i64 1")
        hi = self.op(f"getelementptr i64, ptr {tab}, i64 2")
        whi = self.op(f"getelementptr i64, ptr {tab}, i64 3")
        # a memory entry's data always starts at PACKET_BASE: a constant LLVM can reason with
        low = str(PACKET_BASE) if self.memory_entry else self.op(f"load i64, ptr {lo}, !tbaa !10")
        rng = "!8" if self.memory_entry else "!7"
        self.emit(f"store i64 {low}, ptr %PLO")
        self.emit(f"store i64 {self.op(f'load i64, ptr {hi}, !tbaa !10, !range {rng}')}, ptr %PHI")
        self.emit(
            f"store i64 {self.op(f'load i64, ptr {whi}, !tbaa !10, !range {rng}')}, ptr %PWHI"
        )
        self.emit(f"store i64 {self.op(f'load i64, ptr {tab}, !tbaa !10')}, ptr %PDELTA")

    def _tails(self) -> None:
        self.label("too_deep")
        self.store_field(F_STATUS, str(ST_DEPTH))
        self.emit("ret i64 0")
        self.label("bail")  # a fault, or a callee or helper failed: return at once
        self.emit("ret i64 0")

    # -- budget -------------------------------------------------------------------------------
    def _charge(self, n: int, pc: int, refund: int, then: str) -> None:
        """Add ``refund`` and charge ``n`` (the segment at ``pc``), then go to ``then``."""
        delta = refund - n
        if delta == 0:
            self.emit(f"br label %{then}")
            return
        left = self.op("load i64, ptr %LEFT")
        if delta > 0:
            self.emit(f"store i64 {self.op(f'add i64 {left}, {delta}')}, ptr %LEFT")
            self.emit(f"br label %{then}")
            return
        # usub.with.overflow: the subtraction's borrow is the branch (one sub + jb)
        pair = self.op(f"call {{ i64, i1 }} @llvm.usub.with.overflow.i64(i64 {left}, i64 {-delta})")
        new = self.op(f"extractvalue {{ i64, i1 }} {pair}, 0")
        short = self.op(f"extractvalue {{ i64, i1 }} {pair}, 1")
        self.emit(f"store i64 {new}, ptr %LEFT")
        out = f"nobudget{self.n}"
        self.emit(f"br i1 {short}, label %{out}, label %{then}, !prof !5")
        self.label(out)
        # Not enough budget for the whole segment: save this frame and return; the driver
        # goes on in the interpreter, which stops at the exact instruction (or finishes if
        # a branch leaves the segment in time). It needs the budget left, new + n.
        self._save_frame(pc)
        self.store_field(F_ADDR, self.op(f"add i64 {new}, {n}"))
        self.store_field(F_SIZE, "%depth")
        self.store_field(F_STATUS, str(ST_DEOPT))
        self.emit("ret i64 0")

    def _save_frame(self, pc: int) -> None:
        """Store ``pc`` and r0-r10 as frame ``%depth`` of the deopt area."""
        regs = ", ".join(f"i64 {self.get(r)}" for r in range(11))
        self.emit(f"call void @{self.prefix}save(ptr %st, i64 %depth, i64 {pc}, {regs})")

    def _jump(self, pc: int, target: int, rest: int) -> None:
        """Branch from the instruction at ``pc`` (``rest`` instructions left in its segment)."""
        self._charge(self.segs[target], target, rest, f"L{target}")

    # -- instructions -------------------------------------------------------------------------
    def _block_starts(self) -> set[int]:
        """Slots that need a label: the entry, jump targets, and what follows a jump, a
        call or an exit (fewer blocks make LLVM's work shorter)."""
        starts = {self.entry}
        pc = self.entry
        while pc < self.end:
            insn, op = self.code.at(pc)
            if op.is_jump:
                starts.add(insn.jump_target(pc) or 0)
            if op.is_jump or op.kind in (Kind.EXIT, Kind.CALL, Kind.CALLX):
                starts.add(pc + insn.slots)
            pc += insn.slots
        return starts

    def _fall(self, nxt: int) -> None:
        """Continue with the instruction at ``nxt`` (a branch only if it starts a block)."""
        if nxt in self.starts:
            self.emit(f"br label %L{nxt}")

    def _insn(self, pc: int, insn: Instruction, op: Op) -> None:
        kind = op.kind
        nxt = pc + insn.slots
        rest = self.segs[pc] - 1
        if kind is Kind.JA:
            self._jump(pc, insn.jump_target(pc) or 0, rest)
        elif kind is Kind.JUMP:
            cond = self._cond(insn, op)
            taken = f"J{pc}"
            self.emit(f"br i1 {cond}, label %{taken}, label %L{nxt}")
            self.label(taken)
            self._jump(pc, insn.jump_target(pc) or 0, rest)
        elif kind is Kind.JCOND:
            loops = self.load_field(F_LOOPS)
            zero = self.op(f"icmp eq i64 {loops}, 0")
            self.emit(f"br i1 {zero}, label %J{pc}, label %G{pc}")
            self.label(f"G{pc}")
            self.store_field(F_LOOPS, self.op(f"sub i64 {loops}, 1"))
            self.emit(f"br label %L{nxt}")
            self.label(f"J{pc}")
            self._jump(pc, insn.jump_target(pc) or 0, rest)
        elif kind is Kind.EXIT:
            self.store_field(F_BUDGET, self.op("load i64, ptr %LEFT"))
            self.emit(f"ret i64 {self.get(0)}")
        elif kind in (Kind.CALL, Kind.CALLX):
            if not self._inline(pc, insn, op):
                self._call(pc, insn, op)
            if nxt < self.end:
                self._charge(self.segs[nxt], nxt, 0, f"L{nxt}")
            else:
                self.emit("unreachable")
        elif kind in (Kind.LDABS, Kind.LDIND):
            self._ldabs(pc, insn, op)
            self._fall(nxt)
        else:
            self._simple(pc, insn, op)
            self._fall(nxt)

    def _track(self, insn: Instruction, op: Op) -> None:
        """Keep ``known`` (register -> constant loaded by ``lddw``) true after ``insn``."""
        if op.kind is Kind.LDDW:
            self.known[insn.dst] = self.code.imm64[self.current]
        elif op.kind in (Kind.CALL, Kind.CALLX, Kind.ATOMIC):
            self.known.pop(0, None)
            self.known.pop(insn.src, None)
        else:
            self.known.pop(insn.dst, None)

    def _inline(self, pc: int, insn: Instruction, op: Op) -> bool:
        """Inline ``bpf_map_lookup_elem`` of an array whose values are one region (as the
        kernel's ``map_gen_lookup``): ``r0 = key < n ? value0 + key * stride : 0``."""
        if op.kind is not Kind.CALL or insn.src != CallKind.HELPER or insn.imm != 1:
            return False
        if self.code.helper_ids.get(pc) != 1 or self.code.helpers.get(pc) is not _LOOKUP:
            return False
        direct = self.code.direct_maps.get(self.known.get(1, -1))
        if direct is None:
            return False
        base, stride, entries = direct
        ptr = self._pointer(pc, 2, 0, 4, False)
        key = self.op(f"zext i32 {self.op(f'load i32, ptr {ptr}, align 1, !tbaa !4')} to i64")
        inside = self.op(f"icmp ult i64 {key}, {entries}")
        at = self.op(f"mul i64 {key}, {stride}")
        value = self.op(f"add i64 {at}, {base}")
        self.put(0, self.op(f"select i1 {inside}, i64 {value}, i64 0"))
        return True

    def _src(self, insn: Instruction, op: Op) -> str:
        if op.code & Source.X:
            return self.get(insn.src)
        return str(insn.imm)  # the signed immediate is the same number in i32 and i64

    def _simple(self, pc: int, insn: Instruction, op: Op) -> None:
        kind = op.kind
        if kind in (Kind.ALU, Kind.MOV):
            self._alu(insn, op)
        elif kind is Kind.NEG:
            self._neg(insn, op)
        elif kind is Kind.MOVSX:
            v = self.op(f"trunc i64 {self.get(insn.src)} to i{insn.off}")
            w = self.op(f"sext i{insn.off} {v} to i{op.width}")
            self.put(insn.dst, w if op.width == 64 else self.op(f"zext i32 {w} to i64"))
        elif kind is Kind.END:
            self._end(insn, op)
        elif kind is Kind.LDDW:
            self.put(insn.dst, str(sx(self.code.imm64[pc], 64)))
        elif kind is Kind.LDX:
            self._ldx(pc, insn, op)
        elif kind in (Kind.ST, Kind.STX):
            self._store(pc, insn, op)
        elif kind is Kind.ATOMIC:
            self._atomic(pc, insn, op)
        else:
            raise AssertionError(op.name)

    def _neg(self, insn: Instruction, op: Op) -> None:
        if op.width == 64:
            self.put(insn.dst, self.op(f"sub i64 0, {self.get(insn.dst)}"))
            return
        v = self.op(f"trunc i64 {self.get(insn.dst)} to i32")
        self.put(insn.dst, self.op(f"zext i32 {self.op(f'sub i32 0, {v}')} to i64"))

    def _alu(self, insn: Instruction, op: Op) -> None:
        aop = op.code & 0xF0
        b = self._src(insn, op)
        if aop == AluOp.MOV:
            if op.width == 32:
                b = self.op(f"and i64 {b}, {M32}") if op.code & Source.X else str(insn.imm & M32)
            self.put(insn.dst, b)
            return
        w = op.width
        a = self.get(insn.dst)
        if w == 32:
            a = self.op(f"trunc i64 {a} to i32")
            if op.code & Source.X:
                b = self.op(f"trunc i64 {b} to i32")
        res = self._binary(aop, op.signed, a, b, w)
        self.put(insn.dst, res if w == 64 else self.op(f"zext i32 {res} to i64"))

    def _binary(self, aop: int, signed: bool, a: str, b: str, w: int) -> str:
        ty = f"i{w}"
        simple: dict[int, str] = {
            AluOp.ADD: "add",
            AluOp.SUB: "sub",
            AluOp.MUL: "mul",
            AluOp.OR: "or",
            AluOp.AND: "and",
            AluOp.XOR: "xor",
        }
        if aop in simple:
            return self.op(f"{simple[aop]} {ty} {a}, {b}")
        if aop in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
            amount = self.op(f"and {ty} {b}, {w - 1}")
            shifts: dict[int, str] = {AluOp.LSH: "shl", AluOp.RSH: "lshr", AluOp.ARSH: "ashr"}
            name = shifts[aop]
            return self.op(f"{name} {ty} {a}, {amount}")
        zero = self.op(f"icmp eq {ty} {b}, 0")
        if not signed:
            safe = self.op(f"select i1 {zero}, {ty} 1, {ty} {b}")
            if aop == AluOp.DIV:
                q = self.op(f"udiv {ty} {a}, {safe}")
                return self.op(f"select i1 {zero}, {ty} 0, {ty} {q}")
            r = self.op(f"urem {ty} {a}, {safe}")
            return self.op(f"select i1 {zero}, {ty} {a}, {ty} {r}")
        # signed: b == 0 and b == -1 are handled apart (INT_MIN / -1 is UB in LLVM)
        neg1 = self.op(f"icmp eq {ty} {b}, -1")
        odd = self.op(f"or i1 {zero}, {neg1}")
        safe = self.op(f"select i1 {odd}, {ty} 1, {ty} {b}")
        if aop == AluOp.DIV:
            q = self.op(f"sdiv {ty} {a}, {safe}")
            minus = self.op(f"sub {ty} 0, {a}")
            alt = self.op(f"select i1 {zero}, {ty} 0, {ty} {minus}")
            return self.op(f"select i1 {odd}, {ty} {alt}, {ty} {q}")
        r = self.op(f"srem {ty} {a}, {safe}")
        alt = self.op(f"select i1 {zero}, {ty} {a}, {ty} 0")
        return self.op(f"select i1 {odd}, {ty} {alt}, {ty} {r}")

    def _end(self, insn: Instruction, op: Op) -> None:
        bits = op.width
        swap = op.name.startswith("ALU64.BSWAP") or op.name.startswith("ALU.TO_BE")
        v = self.get(insn.dst)
        if bits == 64:
            self.put(insn.dst, self.op(f"call i64 @llvm.bswap.i64(i64 {v})") if swap else v)
            return
        narrow = self.op(f"trunc i64 {v} to i{bits}")
        if swap:
            narrow = self.op(f"call i{bits} @llvm.bswap.i{bits}(i{bits} {narrow})")
        self.put(insn.dst, self.op(f"zext i{bits} {narrow} to i64"))

    def _cond(self, insn: Instruction, op: Op) -> str:
        jop = op.code & 0xF0
        a = self.get(insn.dst)
        b = self._src(insn, op)
        ty = "i64"
        if op.width == 32:
            ty = "i32"
            a = self.op(f"trunc i64 {a} to i32")
            b = self.op(f"trunc i64 {b} to i32") if op.code & Source.X else str(insn.imm)
        if jop == JmpOp.JSET:
            both = self.op(f"and {ty} {a}, {b}")
            return self.op(f"icmp ne {ty} {both}, 0")
        preds: dict[int, str] = {
            JmpOp.JEQ: "eq",
            JmpOp.JNE: "ne",
            JmpOp.JGT: "ugt",
            JmpOp.JGE: "uge",
            JmpOp.JLT: "ult",
            JmpOp.JLE: "ule",
            JmpOp.JSGT: "sgt",
            JmpOp.JSGE: "sge",
            JmpOp.JSLT: "slt",
            JmpOp.JSLE: "sle",
        }
        return self.op(f"icmp {preds[jop]} {ty} {a}, {b}")

    # -- memory -------------------------------------------------------------------------------
    def _host(self, pc: int, addr: str, size: int, write: bool) -> str:
        """A host pointer for ``size`` bytes at ``addr``, or a jump to ``bail`` on a fault.

        The packet window is checked inline, written the way programs check against
        data_end (``a + size <= data_end``) so LLVM can see when a program's own check
        makes it redundant (``a < 2**32``, region 0, rules out a wrap of ``a + size``).
        Anything else goes to ``@slow``, which keeps a per-site cache of the last window.
        """
        site = self.sites[0]
        self.sites[0] += 1
        plo = self.op("load i64, ptr %PLO")
        phi = self.op(f"load i64, ptr %{'PWHI' if write else 'PHI'}")
        low = self.op(f"icmp ult i64 {addr}, 4294967296")
        in_lo = self.op(f"icmp uge i64 {addr}, {plo}")
        end = self.op(f"add i64 {addr}, {size}")
        in_hi = self.op(f"icmp ule i64 {end}, {phi}")
        both = self.op(f"and i1 {in_lo}, {in_hi}")
        in_pkt = self.op(f"and i1 {low}, {both}")
        here = f"acc{self.n}"
        self.emit(f"br i1 {in_pkt}, label %{here}_pkt, label %{here}_other, !prof !6")
        self.label(f"{here}_pkt")
        pdelta = self.op("load i64, ptr %PDELTA")
        phost = self.op(f"add i64 {pdelta}, {addr}")
        self.emit(f"br label %{here}_done")
        self.label(f"{here}_other")
        info = size | (int(write) << 8)
        host = self.op(
            f"call i64 @{self.prefix}slow(ptr %st, i64 {addr}, i64 {info}, i64 {pc}, i64 {site})"
        )
        failed = self.op(f"icmp eq i64 {host}, 0")
        self.emit(f"br i1 {failed}, label %bail, label %{here}_done, !prof !5")
        self.label(f"{here}_done")
        both = self.op(f"phi i64 [ {phost}, %{here}_pkt ], [ {host}, %{here}_other ]")
        return self.op(f"inttoptr i64 {both} to ptr")

    def _address(self, reg: int, off: int) -> str:
        base = self.get(reg)
        return self.op(f"add i64 {base}, {off}") if off else base

    def _pointer(self, pc: int, reg: int, off: int, size: int, write: bool) -> str:
        """The host pointer of an access at ``reg + off``. r10 never changes (the verifier
        refuses writes to it), so an access relative to it is checked here, not at run time."""
        if reg != 10:
            return self._host(pc, self._address(reg, off), size, write)
        if -STACK_SIZE <= off <= -size:
            host = self.op(f"add i64 %stackhost, {STACK_SIZE + off}")
            return self.op(f"inttoptr i64 {host} to ptr")
        addr = self._address(10, off)  # always out of the frame: fault here
        self.store_field(F_PC, str(pc))
        self.store_field(F_ADDR, addr)
        self.store_field(F_SIZE, str(size | (int(write) << 8)))
        self.store_field(F_STATUS, str(ST_FAULT))
        self.emit("ret i64 0")
        self.label(f"dead{self.n}")
        return "null"

    def _ldx(self, pc: int, insn: Instruction, op: Op) -> None:
        bits = op.width
        ptr = self._pointer(pc, insn.src, insn.off, bits // 8, False)
        v = self.op(f"load i{bits}, ptr {ptr}, align 1, !tbaa !4")
        if bits < 64:
            v = self.op(f"{'sext' if op.signed else 'zext'} i{bits} {v} to i64")
        self.put(insn.dst, v)

    def _store(self, pc: int, insn: Instruction, op: Op) -> None:
        bits = op.width
        ptr = self._pointer(pc, insn.dst, insn.off, bits // 8, True)
        if op.kind is Kind.ST:
            value = str(sx(insn.imm, bits))
        else:
            value = self.get(insn.src)
            if bits < 64:
                value = self.op(f"trunc i64 {value} to i{bits}")
        self.emit(f"store i{bits} {value}, ptr {ptr}, align 1, !tbaa !4")

    def _atomic(self, pc: int, insn: Instruction, op: Op) -> None:
        bits = op.width
        aop = insn.imm
        if aop == AtomicOp.LOAD_ACQ:
            ptr = self._pointer(pc, insn.src, insn.off, bits // 8, False)
            v = self.op(f"load atomic i{bits}, ptr {ptr} acquire, align {bits // 8}, !tbaa !4")
            self.put(insn.dst, v if bits == 64 else self.op(f"zext i{bits} {v} to i64"))
            return
        ptr = self._pointer(pc, insn.dst, insn.off, bits // 8, True)
        src = self.get(insn.src)
        val = src if bits == 64 else self.op(f"trunc i64 {src} to i{bits}")
        ty = f"i{bits}"
        if aop == AtomicOp.STORE_REL:
            self.emit(f"store atomic {ty} {val}, ptr {ptr} release, align {bits // 8}, !tbaa !4")
            return
        if aop == AtomicOp.CMPXCHG:
            r0 = self.get(0)
            exp = r0 if bits == 64 else self.op(f"trunc i64 {r0} to {ty}")
            pair = self.op(f"cmpxchg ptr {ptr}, {ty} {exp}, {ty} {val} seq_cst seq_cst")
            old = self.op(f"extractvalue {{ {ty}, i1 }} {pair}, 0")
            self.put(0, old if bits == 64 else self.op(f"zext {ty} {old} to i64"))
            return
        names: dict[int, str] = {0x00: "add", 0x40: "or", 0x50: "and", 0xA0: "xor", 0xE0: "xchg"}
        name = names[aop & ~1]
        old = self.op(f"atomicrmw {name} ptr {ptr}, {ty} {val} seq_cst, !tbaa !4")
        if aop & 1:
            self.put(insn.src, old if bits == 64 else self.op(f"zext {ty} {old} to i64"))

    # -- calls --------------------------------------------------------------------------------
    def _after_call(self, result: str, ret: int) -> None:
        status = self.load_field(F_STATUS)
        failed = self.op(f"icmp ne i64 {status}, 0")
        block = f"called{self.n}"
        self.emit(f"br i1 {failed}, label %chk{block}, label %{block}, !prof !5")
        self.label(f"chk{block}")
        unwind = self.op(f"icmp eq i64 {status}, {ST_UNWIND}")
        self.emit(f"br i1 {unwind}, label %unw{block}, label %dchk{block}")
        self.label(f"dchk{block}")
        deopt = self.op(f"icmp eq i64 {status}, {ST_DEOPT}")
        self.emit(f"br i1 {deopt}, label %deopt{block}, label %bail")
        self.label(f"deopt{block}")  # a callee ran out of budget: save this caller's frame
        self._save_frame(ret)
        self.emit("ret i64 0")
        self.label(f"unw{block}")
        self.store_field(F_STATUS, "0")
        self.store_field(F_BUDGET, self.op("load i64, ptr %LEFT"))
        self.emit(f"ret i64 {self.load_field(F_RETVAL)}")
        self.label(block)
        self.emit(f"store i64 {self.load_field(F_BUDGET)}, ptr %LEFT")
        self.put(0, result)
        self.emit("; INVALIDATE")  # replaced by a reload of the packet window

    def _args(self) -> str:
        return ", ".join(f"i64 {self.get(r)}" for r in range(1, 6))

    def _call(self, pc: int, insn: Instruction, op: Op) -> None:
        self.store_field(F_BUDGET, self.op("load i64, ptr %LEFT"))
        args = self._args()
        deeper = self.op("add i64 %depth, 1")
        if op.kind is Kind.CALL and insn.src == CallKind.LOCAL:
            target = insn.jump_target(pc)
            res = self.op(f"call i64 @{self.prefix}f{target}(ptr %st, {args}, i64 {deeper})")
        elif op.kind is Kind.CALL:
            res = self._tramp(SITE_HELPER, pc, "0", args)
        else:
            res = self._callx(pc, insn, args, deeper)
        self._after_call(res, pc + insn.slots)

    def _tramp(self, kind: int, pc: int, x: str, args: str) -> str:
        fp = self.op(f"inttoptr i64 {self.load_field(F_TRAMP)} to ptr")
        site = (kind << 32) | pc
        return self.op(f"call i64 {fp}(ptr %st, i64 {site}, i64 {x}, {args}, i64 %depth)")

    def _callx(self, pc: int, insn: Instruction, args: str, deeper: str) -> str:
        addr = self.get(insn.dst)
        region = self.op(f"lshr i64 {addr}, {REGION_SHIFT}")
        is_code = self.op(f"icmp eq i64 {region}, {CODE_REGION}")
        k = self.n
        self.emit(f"br i1 {is_code}, label %cx_code{k}, label %cx_help{k}")
        self.label(f"cx_help{k}")
        helped = self._tramp(SITE_CALLX, pc, addr, args)
        self.emit(f"br label %cx_done{k}")
        self.label(f"cx_code{k}")
        entry_pc = self.op(f"and i64 {addr}, {M32}")
        cases = " ".join(f"i64 {e}, label %cx_f{k}_{e}" for e in self.code.entries)
        self.emit(f"switch i64 {entry_pc}, label %cx_bad{k} [ {cases} ]")
        results = [(helped, f"cx_help{k}")]
        for e in self.code.entries:
            self.label(f"cx_f{k}_{e}")
            res = self.op(f"call i64 @{self.prefix}f{e}(ptr %st, {args}, i64 {deeper})")
            results.append((res, f"cx_f{k}_{e}"))
            self.emit(f"br label %cx_done{k}")
        self.label(f"cx_bad{k}")
        self.store_field(F_PC, str(pc))
        self.store_field(F_ADDR, addr)
        self.store_field(F_STATUS, str(ST_BADCALL))
        self.emit("ret i64 0")
        self.label(f"cx_done{k}")
        phi = ", ".join(f"[ {v}, %{b} ]" for v, b in results)
        return self.op(f"phi i64 {phi}")

    def _ldabs(self, pc: int, insn: Instruction, op: Op) -> None:
        off = str(insn.imm)
        if op.kind is Kind.LDIND:
            off = self.op(f"add i64 {self.get(insn.src)}, {off}")
        self.store_field(F_BUDGET, self.op("load i64, ptr %LEFT"))
        args = f"i64 {off}, i64 {op.width // 8}, i64 0, i64 0, i64 0"
        res = self._tramp(SITE_LDABS, pc, "0", args)
        self._after_call(res, pc + insn.slots)
