"""LLVM IR (as text) for one eBPF function: the JIT's code generator. Pure: no llvmlite.

Each eBPF function becomes ``i64 @<prefix>f<pc>(ptr %st, i64 r1..r5, i64 %depth)``, written
directly in SSA form (:mod:`pybpf.vm._jit_cfg` says where phis go), so LLVM has little left
to do: a small pass list and code generation are the whole compile. ``%st`` points at the
VM's native state::

    0 regions   1 cap-1   2 budget   3 status   4 fault pc   5 fault addr   6 fault size
    7 may_goto loops   8 retval   9 helper trampoline   10 region generation
    11 deopt frames (8 x {pc, r0..r10})   12 runs done (batch loops)

and the region table holds one ``{delta, lo, hi, whi}`` row (4 x i64) per region index; host
memory of address ``a`` is at ``delta + a``.

While it writes a block, the generator tracks each register as *base + constant* (a base is
an SSA value, or none for a constant): moves, constant adds and constant operations emit no
IR, and memory accesses know their base and offset. It also keeps *facts* the program's own
branches established on the way into the block (``x <u k``, ``x + c <=u data_end``), with
which :mod:`pybpf.vm._jit_access` leaves out bounds checks the program already made.

The budget is checked where a run may loop or may have run other code: at the function's
start, at the start of every block a retreating edge enters, and after every call; each
check asks for the most instructions a run may execute before the next one
(:attr:`FunctionCFG.reach`). Between checks the budget is plain arithmetic on constants.
When a check fails, the frame is saved for the interpreter (``@pybpf_jit_cold``), which
goes on from there and stops at the exact instruction. A status other than 0 after a call
makes every frame return at once; the Python driver reads why.
"""

from __future__ import annotations

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import CallKind, Kind, Op
from pybpf.errors import VMError
from pybpf.vm._alu import M32, M64
from pybpf.vm._code import Code
from pybpf.vm._jit_access import Accesses
from pybpf.vm._jit_alu import Arithmetic
from pybpf.vm._jit_cfg import ROOT, WINDOW, FunctionCFG, is_noop_jump
from pybpf.vm._jit_text import (
    COLD_AFTER,
    COLD_STOP,
    F_ADDR,
    F_BUDGET,
    F_LOOPS,
    F_PC,
    F_STATUS,
    F_TRAMP,
    SITE_CALLX,
    SITE_HELPER,
    SITE_LDABS,
    ST_BADCALL,
    ST_DEPTH,
    Options,
    State,
    Val,
)
from pybpf.vm.memory import (
    CODE_REGION,
    MAX_FRAMES,
    PACKET_BASE,
    REGION_SHIFT,
    STACK_REGION,
    STACK_SIZE,
)

__all__ = ["FunctionIR"]


class FunctionIR(Accesses, Arithmetic):
    """IR of one eBPF function. ``main``: function 0 specialised for a memory entry (r1 and
    r2 are the packet's, from the window), which the entry loop runs at depth 0."""

    def __init__(
        self, code: Code, entry: int, opts: Options, sites: list[int], main: bool = False
    ) -> None:
        super().__init__(opts, sites)
        self.code = code
        self.endian = code.endian
        self.entry = entry
        self.cfg = FunctionCFG(code, entry)
        self.main = main
        self.body: dict[int, list[str]] = {}
        # edges into join blocks: (label they leave from, phi operands, state on the edge)
        self.incoming: dict[int, list[tuple[str, dict[str, str], State]]] = {}
        self.pending: dict[int, State] = {}  # entry states of single-predecessor blocks
        self.exits: dict[int, State] = {}
        self.hoist: dict[tuple[str | None, bool], int] = {}
        self.spans: dict[tuple[str | None, bool], tuple[int, int]] = {}
        self.hoisting = False  # whether the block's start check may cover an access
        self.first = 0
        self.block = entry

    # -- function -------------------------------------------------------------------------------
    def name(self) -> str:
        return f"{self.prefix}main" if self.main else f"{self.prefix}f{self.entry}"

    def linkage(self) -> str:
        """``internal`` but for the function the entry loop runs (it takes its address)."""
        return "" if self.main or (self.entry == 0 and not self.opts.memory_entry) else "internal "

    def generate(self) -> list[str]:
        """The function's IR lines."""
        self.out = self.body[ROOT] = []
        self.exits[ROOT] = self._prologue()
        for block in self.cfg.order:
            self._block(block)
        lines = list(self.body[ROOT])
        for block in self.cfg.order:
            body = self.body[block]
            lines += [body[0], *self._phis(block), *body[1:]]
        head = f"define {self.linkage()}i64 @{self.name()}(ptr %st, i64 %a1, i64 %a2, i64 %a3, "
        return [
            head + "i64 %a4, i64 %a5, i64 %depth) {",
            *lines,
            "bail:",  # a fault, or a callee or helper failed: return at once
            "  ret i64 0",
            "too_deep:",
            f"  %deep.st = getelementptr i64, ptr %st, i64 {F_STATUS}",
            f"  store i64 {ST_DEPTH}, ptr %deep.st, !tbaa !2",
            "  ret i64 0",
            "}",
        ]

    def _block(self, block: int) -> None:
        """Write ``block``, then the check at its start (:meth:`_start_check`)."""
        self.out = self.body[block] = []
        self.block = block
        state = self._enter(block)
        entry = state.copy()
        reach = self.cfg.reach[block] if block in self.cfg.checkpoints else 0
        if reach:  # the check takes the reach off (one sub and a branch, the next ones too)
            state.left, state.spent = f"%b{block}.rest", -reach
        self.label(f"b{block}")
        self.hoist.clear()
        self.spans.clear()
        self.hoisting = True
        self.first = self.n
        first = {t: len(v) for t, v in self.incoming.items()}
        last = self.cfg.last[block]
        for pc, insn, op in self.cfg.insns(block):
            self._insn(pc, insn, op, state, pc == last)
        self.exits[block] = state
        body, self.out = self.out, []
        go = self._start_check(block, entry, reach)
        body[1:1] = self.out  # after the label (and the phis, which come later)
        self.out = body
        if go:  # the edges that left from the block's start leave from go
            for t, edges in self.incoming.items():
                for i in range(first.get(t, 0), len(edges)):
                    if edges[i][0] == f"b{block}":
                        edges[i] = (go, *edges[i][1:])

    def _start_check(self, block: int, entry: State, reach: int) -> str:
        """Write the check at the start of ``block``: the budget, at a checkpoint (``reach``
        instructions may run before the next check), and the accesses left to it (see
        :mod:`pybpf.vm._jit_access`); when it fails, the block runs in the interpreter from
        its start. Returns the label the block goes on at (none: no check)."""
        checks = self.block_checks(entry)
        left = self.exact(entry) if checks or reach else entry.left
        if reach:
            sub = f"@llvm.usub.with.overflow.i64(i64 {left}, i64 {reach})"
            pair = self.op(f"call {{ i64, i1 }} {sub}")
            self.emit(f"%b{block}.rest = extractvalue {{ i64, i1 }} {pair}, 0")
            short = self.op(f"extractvalue {{ i64, i1 }} {pair}, 1")
            checks.append(self.op(f"xor i1 {short}, true"))
        if not checks:
            return ""
        while len(checks) > 1:
            checks.append(self.op(f"and i1 {checks.pop()}, {checks.pop()}"))
        go = f"b{block}.go"
        self.emit(f"br i1 {checks[0]}, label %{go}, label %b{block}.stop, !prof !6")
        self.label(f"b{block}.stop")
        self.cold(COLD_STOP, block, left, entry, self.cfg.live_in[block])
        self.ret("0")
        self.label(go)
        return go

    def _prologue(self) -> State:
        """The depth check, the zeroed frame, r10, the packet window."""
        self.label("entry")
        deep = self.op(f"icmp uge i64 %depth, {MAX_FRAMES}")
        self.emit(f"br i1 {deep}, label %too_deep, label %start, !prof !5")
        self.label("start")
        tab = self.op(f"load ptr, ptr {self.field(0)}, !tbaa !2")
        frame = self.op(f"add i64 %depth, {STACK_REGION}")
        row = self.op(f"getelementptr [4 x i64], ptr {tab}, i64 {frame}")
        delta = self.op(f"load i64, ptr {row}, !tbaa !10")
        lo = self.op(f"load i64, ptr {self.op(f'getelementptr i64, ptr {row}, i64 1')}, !tbaa !10")
        self.emit(f"%stackhost = add i64 {delta}, {lo}")
        host = self.op("inttoptr i64 %stackhost to ptr")
        zero = f"ptr {host}, i8 0, i64 {STACK_SIZE}, i1 false"
        self.emit(f"call void @llvm.memset.p0.i64({zero}), !tbaa !4")  # program memory only
        win = self.window()
        top = self.op(f"shl i64 %depth, {REGION_SHIFT}")
        self.emit(f"%r10 = add i64 {top}, {(STACK_REGION << REGION_SHIFT) + STACK_SIZE}")
        regs: list[Val] = [(None, 0)] * 11
        if self.main:  # r1 = the packet, r2 = its length (the window's)
            regs[1], regs[2] = (None, PACKET_BASE), (win[1], -PACKET_BASE & M64)
        else:
            regs[1:6] = [(f"%a{r}", 0) for r in range(1, 6)]
        regs[10] = (self.r10, 0)
        state = State(regs, self.load_field(F_BUDGET), win, {}, {}, {})
        root = state.copy()
        self.arrive(self.entry, self.phi_operands(self.entry, state), state)
        return root

    def window(self) -> tuple[str, str, str, str]:
        """Load region 0's window (the packet): ``lo, hi, whi, delta``. Region 0 addresses
        are below 2**32, which LLVM is told; a memory entry's data starts at PACKET_BASE."""
        tab = self.op(f"load ptr, ptr {self.field(0)}, !tbaa !2")
        rng = "!8" if self.opts.memory_entry else "!7"
        hi_p = self.op(f"getelementptr i64, ptr {tab}, i64 2")
        hi = self.op(f"load i64, ptr {hi_p}, !tbaa !10, !range {rng}")
        if self.opts.memory_entry:
            lo = str(PACKET_BASE)
        else:
            lo_p = self.op(f"getelementptr i64, ptr {tab}, i64 1")
            lo = self.op(f"load i64, ptr {lo_p}, !tbaa !10")
        if self.opts.memory_entry and self.opts.writable:
            whi = hi
        else:
            whi_p = self.op(f"getelementptr i64, ptr {tab}, i64 3")
            whi = self.op(f"load i64, ptr {whi_p}, !tbaa !10, !range {rng}")
        return lo, hi, whi, self.op(f"load i64, ptr {tab}, !tbaa !10")

    # -- blocks and edges -----------------------------------------------------------------------
    def _phi_names(self, block: int) -> list[tuple[str, int]]:
        """The phis of ``block``: (name, register; 11-14 the window's four, 15 the budget)."""
        if not self.joins(block):
            return []
        bits = self.cfg.phis[block]
        out = [(f"%b{block}.r{r}", r) for r in range(10) if bits >> r & 1]
        if bits >> WINDOW & 1:
            out += [(f"%b{block}.w{i}", 11 + i) for i in range(4)]
        return [*out, (f"%b{block}.left", 15)]

    def phi_operands(self, block: int, state: State) -> dict[str, str]:
        """The values ``state`` gives the phis of ``block`` (computed here, before the
        branch: they dominate it)."""
        out = {}
        for name, r in self._phi_names(block):
            if r < 11:
                out[name] = self.reg(state, r)
            elif r < 15:
                out[name] = state.win[r - 11]
        return out

    def exact(self, state: State, more: int = 0) -> str:
        """The budget left once ``more`` further instructions have run."""
        n = state.spent + more
        if n < 0:  # after a checkpoint's check, ``left`` has the block's reach taken off
            return self.op(f"add i64 {state.left}, {-n}")
        return self.op(f"sub i64 {state.left}, {n}") if n else state.left

    def arrive(self, block: int, ops: dict[str, str], state: State, left: str = "") -> None:
        """Record the edge from the current block to ``block`` (``left``: the budget on it,
        if computed already) and branch there."""
        self._record(block, ops, state, left)
        self.emit(f"br label %b{block}")

    def joins(self, block: int) -> bool:
        """Whether ``block`` has more than one predecessor (and so starts with phis)."""
        return len(self.cfg.preds[block]) > 1

    def _record(self, block: int, ops: dict[str, str], state: State, left: str = "") -> None:
        """Note the edge from the current block to ``block`` (see :meth:`arrive`)."""
        if not self.joins(block):
            self.pending[block] = state.copy()
            return
        ops = {**ops, f"%b{block}.left": left or self.exact(state)}
        self.incoming.setdefault(block, []).append((self.cur, ops, state))

    def _enter(self, block: int) -> State:
        if not self.joins(block):
            return self.pending.pop(block)
        base = self.exits[self.cfg.idom[block]]
        regs, win = list(base.regs), list(base.win)
        for name, r in self._phi_names(block):
            if r < 11:
                regs[r] = (name, 0)
            elif r < 15:
                win[r - 11] = name
        lo = win[0] if not self.opts.memory_entry else str(PACKET_BASE)
        state = State(regs, f"%b{block}.left", (lo, win[1], win[2], win[3]), {}, {}, {})
        if block not in self.cfg.checkpoints:  # every edge in is known: keep common facts
            self._join_facts(self.incoming[block], state)
        return state

    @staticmethod
    def _join_facts(edges: list[tuple[str, dict[str, str], State]], state: State) -> None:
        """The facts that hold on every edge into a join hold after it (their bases are
        on every path there, so they dominate it); a phi of constants is below the
        largest plus one."""
        states = [e[2] for e in edges]
        if all(s.win[1] == state.win[1] for s in states):
            for base, c in states[0].fits.items():
                if all(s.fits.get(base) == c for s in states[1:]):
                    state.fits[base] = c
        for base, k in states[0].below.items():
            bounds = [s.below[base] for s in states[1:] if base in s.below]
            if len(bounds) == len(states) - 1:
                state.below[base] = max([k, *bounds])
        for name in edges[0][1]:
            values = [ops[name] for _, ops, _ in edges]
            if all(v.lstrip("-").isdigit() for v in values):
                top = max(int(v) & M64 for v in values) + 1
                if top < 1 << 62:
                    state.below[name] = top

    def _phis(self, block: int) -> list[str]:
        lines = []
        for name, r in self._phi_names(block):
            if r == 11 and self.opts.memory_entry:
                continue  # the window's lo is a constant
            pairs = ", ".join(f"[ {ops[name]}, %{lab} ]" for lab, ops, _ in self.incoming[block])
            lines.append(f"  {name} = phi i64 {pairs}")
        return lines

    # -- instructions ---------------------------------------------------------------------------
    def _insn(self, pc: int, insn: Instruction, op: Op, state: State, last: bool) -> None:
        kind = op.kind
        nxt = pc + insn.slots
        if kind is Kind.JUMP and not is_noop_jump(insn, op):  # a jump ends its block
            self._branch(pc, insn, op, state)
            return
        if kind is Kind.JA:
            state.spent += 1
            target = insn.jump_target(pc) or 0
            self.arrive(target, self.phi_operands(target, state), state)
            return
        if kind is Kind.JCOND:
            self._may_goto(pc, insn, state)
            return
        if kind is Kind.EXIT:
            self.store_field(F_BUDGET, self.exact(state, 1))
            self.ret(self.reg(state, 0))
            return
        if kind in (Kind.CALL, Kind.CALLX):
            if self.inline_lookup(pc, insn, op, state):
                state.spent += 1
                self._after(None, nxt, state)
            else:
                self._call(pc, insn, op, state)
        elif kind in (Kind.LDABS, Kind.LDIND):
            self._ldabs(pc, insn, op, state)
        else:
            if kind is not Kind.JUMP:  # a jump to the next instruction does nothing
                self._simple(pc, insn, op, state)
            state.spent += 1
        if last:
            self.arrive(nxt, self.phi_operands(nxt, state), state)

    def _simple(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        kind = op.kind
        if kind in (Kind.ALU, Kind.MOV):
            self.alu(insn, op, state)
        elif kind is Kind.NEG:
            self.unary(insn, op, state, "neg")
        elif kind is Kind.MOVSX:
            self.unary(insn, op, state, "movsx")
        elif kind is Kind.END:
            self.unary(insn, op, state, "end")
        elif kind is Kind.LDDW:
            state.regs[insn.dst] = (None, self.code.imm64[pc])
        elif kind is Kind.LDX:
            self.load(pc, insn, op, state)
        elif kind in (Kind.ST, Kind.STX):
            self.store(pc, insn, op, state)
        elif kind is Kind.ATOMIC:
            self.atomic(pc, insn, op, state)
        else:  # the verifier refuses these
            raise VMError(f"{op.name} is not supported by the JIT", pc=pc)

    # -- jumps ----------------------------------------------------------------------------------
    def _branch(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        target, nxt = insn.jump_target(pc) or 0, pc + insn.slots
        state.spent += 1
        cond_ = self.condition(insn, op, state)
        taken, fall = state.copy(), state.copy()
        self.learn(insn, op, taken, True)
        self.learn(insn, op, fall, False)
        fall_ops = self.phi_operands(nxt, fall)
        taken_ops = self.phi_operands(target, taken)
        left = self.exact(state) if self.joins(nxt) or self.joins(target) else ""
        self.emit(f"br i1 {cond_}, label %b{target}, label %b{nxt}")
        self._record(nxt, fall_ops, fall, left)
        self._record(target, taken_ops, taken, left)

    def _may_goto(self, pc: int, insn: Instruction, state: State) -> None:
        target, nxt = insn.jump_target(pc) or 0, pc + insn.slots
        state.spent += 1
        loops = self.load_field(F_LOOPS)
        zero = self.op(f"icmp eq i64 {loops}, 0")
        taken_ops = self.phi_operands(target, state)
        fall_ops = self.phi_operands(nxt, state)
        left = self.exact(state) if self.joins(nxt) or self.joins(target) else ""
        self.emit(f"br i1 {zero}, label %b{target}, label %g{pc}")
        self._record(target, taken_ops, state, left)
        self.label(f"g{pc}")
        self.store_field(F_LOOPS, self.op(f"sub i64 {loops}, 1"))
        self.arrive(nxt, fall_ops, state, left)

    # -- calls ----------------------------------------------------------------------------------
    def _call(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        self.store_field(F_BUDGET, self.exact(state, 1))
        args = ", ".join(f"i64 {self.reg(state, r)}" for r in range(1, 6))
        deeper = self.op("add i64 %depth, 1")
        if op.kind is Kind.CALL and insn.src == CallKind.LOCAL:
            target = insn.jump_target(pc)
            res = self.op(f"call i64 @{self.prefix}f{target}(ptr %st, {args}, i64 {deeper})")
        elif op.kind is Kind.CALL:
            res = self._tramp(SITE_HELPER, pc, "0", args)
        else:
            res = self._callx(pc, self.reg(state, insn.dst), args, deeper)
        self._after(res, pc + insn.slots, state)

    def _after(self, result: str | None, ret: int, state: State) -> None:
        """After a call (``result``: its r0; ``None``: an inlined one): the budget it left,
        and a check that it is enough to go on, or (a status other than 0) what
        ``@pybpf_jit_cold`` says this frame returns: a tail call's r0, or 0 as every frame
        unwinds, after saving it if the callee stopped for the interpreter. The window is
        read again: a helper may have moved it."""
        need = self.cfg.reach_from(self.block, ret)
        if result is None:
            left = self.exact(state)
            failed = self.op(f"icmp ult i64 {left}, {need}")
        else:
            status = self.op(f"icmp ne i64 {self.load_field(F_STATUS)}, 0")
            left = self.load_field(F_BUDGET)
            failed = self.op(f"or i1 {status}, {self.op(f'icmp ult i64 {left}, {need}')}")
            state.regs[0] = (result, 0)
        k = self.n
        self.emit(f"br i1 {failed}, label %cold{k}, label %ok{k}, !prof !5")
        self.label(f"cold{k}")
        live = self.cfg.live_at(self.block, ret)
        self.ret(self.cold(COLD_AFTER, ret, left, state, live))
        self.label(f"ok{k}")
        state.left, state.spent = left, 0
        if result is not None:
            self.hoisting = False  # the window may have moved
            state.win = self.window()
            state.fits.clear()

    def _tramp(self, kind: int, pc: int, x: str, args: str) -> str:
        fp = self.op(f"inttoptr i64 {self.load_field(F_TRAMP)} to ptr")
        site = (kind << 32) | pc
        return self.op(f"call i64 {fp}(ptr %st, i64 {site}, i64 {x}, {args}, i64 %depth)")

    def _callx(self, pc: int, addr: str, args: str, deeper: str) -> str:
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
        self.ret("0")
        self.label(f"cx_done{k}")
        return self.op("phi i64 " + ", ".join(f"[ {v}, %{b} ]" for v, b in results))

    def _ldabs(self, pc: int, insn: Instruction, op: Op, state: State) -> None:
        """Legacy packet loads go to Python (the trampoline); out of the packet, the frame
        returns 0 (a status the trampoline sets, as a tail call's)."""
        off = str(insn.imm)
        if op.kind is Kind.LDIND:
            off = self.op(f"add i64 {self.reg(state, insn.src)}, {off}")
        self.store_field(F_BUDGET, self.exact(state, 1))
        args = f"i64 {off}, i64 {op.width // 8}, i64 0, i64 0, i64 0"
        res = self._tramp(SITE_LDABS, pc, "0", args)
        failed = self.op(f"icmp ne i64 {self.load_field(F_STATUS)}, 0")
        k = self.n
        self.emit(f"br i1 {failed}, label %cold{k}, label %ok{k}, !prof !5")
        self.label(f"cold{k}")
        live = self.cfg.live_at(self.block, pc + insn.slots)
        self.ret(self.cold(COLD_AFTER, pc + insn.slots, "0", state, live))
        self.label(f"ok{k}")
        state.regs[0] = (res, 0)
        state.spent += 1
