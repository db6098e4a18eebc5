"""LLVM modules as text: a program's (its functions, :mod:`pybpf.vm._jit_ir`, and the
wrappers helpers' callbacks call), and the runtime every program shares, compiled once per
process: the entry loop and the out-of-line paths. Pure text generation."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pybpf.vm._code import Code
from pybpf.vm._jit_ir import FunctionIR
from pybpf.vm._jit_text import (
    COLD_AFTER,
    COLD_FAULT,
    COLD_STOP,
    DEOPT_WORDS,
    F_ADDR,
    F_BUDGET,
    F_CAP,
    F_DEOPT,
    F_DONE,
    F_GEN,
    F_LOOPS,
    F_PC,
    F_RETVAL,
    F_SIZE,
    F_STATUS,
    ST_DEOPT,
    ST_FAULT,
    ST_UNWIND,
    Options,
)
from pybpf.vm.memory import PACKET_BASE, REGION_SHIFT

__all__ = ["Module", "generate_ir", "runtime_ir"]

_HEADER = """\
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare i64 @llvm.umin.i64(i64, i64)
declare i64 @llvm.usub.sat.i64(i64, i64)
declare { i64, i1 } @llvm.usub.with.overflow.i64(i64, i64)
declare i16 @llvm.bswap.i16(i16)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)
"""
_RUNTIME = """\
declare i64 @pybpf_jit_cold(ptr, i64, i64, i64, i64)
declare i64 @pybpf_jit_slow(ptr, i64, i64, i64, ptr)
"""
_META = """\
attributes #0 = { noinline }
!0 = !{!"pybpf tbaa"}
!1 = !{!"state", !0, i64 0}
!2 = !{!1, !1, i64 0}
!3 = !{!"memory", !0, i64 0}
!4 = !{!3, !3, i64 0}
!5 = !{!"branch_weights", i32 1, i32 1048576}
!6 = !{!"branch_weights", i32 1048576, i32 1}
!7 = !{i64 1, i64 4294967297}
!8 = !{i64 PACKET_BASE, i64 4294967297}
!9 = !{!"regions", !0, i64 0}
!10 = !{!9, !9, i64 0}
!11 = !{!12, !12, i64 0}
!12 = !{!"site cache", !0, i64 0}
"""


@dataclass(frozen=True, slots=True)
class Module:
    """A program's LLVM module: its text, whether it loops (then LLVM unrolls), and the
    function the entry loop (``@pybpf_jit_run``) runs."""

    text: str
    loops: bool
    entry: str


def generate_ir(
    code: Code, name: str = "prog", memory_entry: bool = False, writable: bool = True
) -> Module:
    """The LLVM module of ``code``: functions ``@<name>_f<pc>``, each exported (not inlined)
    as ``@<name>_call<pc>`` for helpers' callbacks; runs start at ``@<name>_f0`` (called by
    the runtime's entry loop, ``@pybpf_jit_run``).

    ``memory_entry`` says runs start with r1 = the packet's first address and r2 = its
    length (:class:`~pybpf.vm.context.MemoryEntry`; ``writable``: whether that packet is):
    they start at ``@<name>_main`` then, function 0 specialised for it; function 0 itself
    is compiled only when a function calls it, and not exported (the driver runs helpers'
    calls of it in the fast tier).
    """
    sites = [0]
    opts = Options(f"{name}_", memory_entry, writable)
    functions = [FunctionIR(code, e, opts, sites) for e in code.entries]
    if memory_entry:
        main = FunctionIR(code, 0, opts, sites, main=True)
        called = any(f.cfg.calls_local(0) for f in [main, *functions])
        functions = [main, *(f for f in functions if f.entry or called)]
    parts = [f'; ModuleID = "{name}"', _HEADER, _RUNTIME]
    for fn in functions:
        parts.append("\n".join(fn.generate()))
        if not fn.main and (fn.entry or not memory_entry):
            parts.append(_export(name, fn.entry))
    if sites[0]:
        parts.append(f"@{name}_cache = internal global [{sites[0]} x [4 x i64]] zeroinitializer")
    parts.append(_META.replace("PACKET_BASE", str(PACKET_BASE)))
    loops = any(len(f.cfg.checkpoints) > 1 for f in functions)
    return Module("\n".join(parts) + "\n", loops, functions[0].name())


@functools.cache
def runtime_ir() -> str:
    """The module of what every program shares, compiled once per process (each function of
    a program's module costs code generation time): the entry loop ``@pybpf_jit_run`` and
    the out-of-line paths ``@pybpf_jit_cold`` and ``@pybpf_jit_slow``."""
    meta = _META.replace("PACKET_BASE", str(PACKET_BASE))
    return "\n".join([_HEADER, _run(), _cold(), _slow(), meta]) + "\n"


def _slow() -> str:
    """``@pybpf_jit_slow(st, addr, size | write << 8, pc, cache)``: the host address of an
    access outside the packet, or 0 after recording a fault in the state.

    Each access site keeps ``{lo, top, delta, generation}`` of the window it last hit in
    its ``cache`` entry (in the program's ``@<name>_cache``); the native memory bumps the
    state's generation on every change of a region, which makes every cached window stale
    at once.
    """
    return f"""\
define i64 @pybpf_jit_slow(ptr %st, i64 %a, i64 %info, i64 %pc, ptr %c) {{
entry:
  %genp = getelementptr i64, ptr %st, i64 {F_GEN}
  %gen = load i64, ptr %genp, !tbaa !2
  %cgp = getelementptr i64, ptr %c, i64 3
  %cgen = load i64, ptr %cgp, !tbaa !11
  %clop = getelementptr i64, ptr %c, i64 0
  %clo = load i64, ptr %clop, !tbaa !11
  %ctopp = getelementptr i64, ptr %c, i64 1
  %ctop = load i64, ptr %ctopp, !tbaa !11
  %fresh = icmp eq i64 %cgen, %gen
  %above = icmp uge i64 %a, %clo
  %below = icmp ule i64 %a, %ctop
  %in = and i1 %above, %below
  %hit = and i1 %fresh, %in
  br i1 %hit, label %cached, label %lookup
cached:
  %cdp = getelementptr i64, ptr %c, i64 2
  %cd = load i64, ptr %cdp, !tbaa !11
  %ch = add i64 %cd, %a
  ret i64 %ch
lookup:
  %tab = load ptr, ptr %st, !tbaa !2
  %capp = getelementptr i64, ptr %st, i64 {F_CAP}
  %cap = load i64, ptr %capp, !tbaa !2
  %idx = lshr i64 %a, {REGION_SHIFT}
  %row = call i64 @llvm.umin.i64(i64 %idx, i64 %cap)
  %e = getelementptr [4 x i64], ptr %tab, i64 %row
  %size = and i64 %info, 255
  %write = lshr i64 %info, 8
  %hisel = add i64 %write, 2
  %lop = getelementptr i64, ptr %e, i64 1
  %hip = getelementptr i64, ptr %e, i64 %hisel
  %lo = load i64, ptr %lop, !tbaa !10
  %hi = load i64, ptr %hip, !tbaa !10
  %top = sub i64 %hi, %size
  %under = icmp ult i64 %a, %lo
  %over = icmp ugt i64 %a, %top
  %short = icmp ult i64 %hi, %size
  %bad0 = or i1 %under, %over
  %bad = or i1 %bad0, %short
  br i1 %bad, label %fault, label %ok
ok:
  %delta = load i64, ptr %e, !tbaa !10
  store i64 %lo, ptr %clop, !tbaa !11
  store i64 %top, ptr %ctopp, !tbaa !11
  %cdp2 = getelementptr i64, ptr %c, i64 2
  store i64 %delta, ptr %cdp2, !tbaa !11
  store i64 %gen, ptr %cgp, !tbaa !11
  %h = add i64 %delta, %a
  ret i64 %h
fault:
  %pcp = getelementptr i64, ptr %st, i64 {F_PC}
  store i64 %pc, ptr %pcp, !tbaa !2
  %ap = getelementptr i64, ptr %st, i64 {F_ADDR}
  store i64 %a, ptr %ap, !tbaa !2
  %sp = getelementptr i64, ptr %st, i64 {F_SIZE}
  store i64 %info, ptr %sp, !tbaa !2
  %stp = getelementptr i64, ptr %st, i64 {F_STATUS}
  store i64 {ST_FAULT}, ptr %stp, !tbaa !2
  ret i64 0
}}
"""


def _cold() -> str:
    """``@pybpf_jit_cold(st, what, depth, pc, x)``: the cold paths every function shares,
    in one function; it returns what the calling frame returns. A frame it keeps for the
    interpreter goes on at ``pc``; the caller wrote its live registers to the frame's place
    in the deopt area already.

    - ``what`` = COLD_STOP: keep the frame and stop the run for the interpreter, with ``x``
      instructions of budget left;
    - COLD_AFTER: after a call, with ``x`` instructions of budget left: a status 0 means
      too little budget to go on (as COLD_STOP); else the call left a status: a tail
      call's r0 (the status cleared), or 0 as every frame unwinds, after keeping the frame
      if the callee stopped for the interpreter;
    - COLD_FAULT + (size | write << 8): a bad access at ``pc`` of address ``x``.
    """
    return f"""\
define i64 @pybpf_jit_cold(ptr %st, i64 %what, i64 %depth, i64 %pc, i64 %x) {{
entry:
  %tp = getelementptr i64, ptr %st, i64 {F_STATUS}
  %s = load i64, ptr %tp, !tbaa !2
  switch i64 %what, label %fault [ i64 {COLD_STOP}, label %stop
                                   i64 {COLD_AFTER}, label %after ]
stop:
  %ap = getelementptr i64, ptr %st, i64 {F_ADDR}
  store i64 %x, ptr %ap, !tbaa !2
  %sp = getelementptr i64, ptr %st, i64 {F_SIZE}
  store i64 %depth, ptr %sp, !tbaa !2
  store i64 {ST_DEOPT}, ptr %tp, !tbaa !2
  br label %keep
after:
  switch i64 %s, label %out [ i64 0, label %stop
                              i64 {ST_UNWIND}, label %tail
                              i64 {ST_DEOPT}, label %keep ]
tail:
  store i64 0, ptr %tp, !tbaa !2
  %rp = getelementptr i64, ptr %st, i64 {F_RETVAL}
  %rv = load i64, ptr %rp, !tbaa !2
  ret i64 %rv
keep:
  %areap = getelementptr i64, ptr %st, i64 {F_DEOPT}
  %area = load ptr, ptr %areap, !tbaa !2
  %f = getelementptr [{DEOPT_WORDS} x i64], ptr %area, i64 %depth
  store i64 %pc, ptr %f
  br label %out
fault:
  %pcp = getelementptr i64, ptr %st, i64 {F_PC}
  store i64 %pc, ptr %pcp, !tbaa !2
  %fap = getelementptr i64, ptr %st, i64 {F_ADDR}
  store i64 %x, ptr %fap, !tbaa !2
  %info = sub i64 %what, {COLD_FAULT}
  %fsp = getelementptr i64, ptr %st, i64 {F_SIZE}
  store i64 %info, ptr %fsp, !tbaa !2
  store i64 {ST_FAULT}, ptr %tp, !tbaa !2
  br label %out
out:
  ret i64 0
}}
"""


def _export(name: str, entry: int) -> str:
    """An exported C-ABI wrapper of function ``entry`` (helpers' callbacks call it)."""
    return f"""\
define i64 @{name}_call{entry}(ptr %st, i64 %a1, i64 %a2, i64 %a3, i64 %a4, i64 %a5, i64 %d) {{
  %r = call i64 @{name}_f{entry}(ptr %st, i64 %a1, i64 %a2, i64 %a3, i64 %a4, i64 %a5, i64 %d) #0
  ret i64 %r
}}
"""


def _run() -> str:
    """``@pybpf_jit_run(st, main, r1, r2, n, budget, loops, rows, out, mask)``: run the
    program (its function ``main``) ``n`` times, each run with the full budget and
    ``may_goto`` count; stop at the first that fails; return how many ran. Run ``i``'s r0
    goes to ``out[i & mask]`` (mask 0: the last r0 in ``out[0]``). With ``rows``, run ``i``
    is over packet ``i``: the region-0 row ``rows[i]`` (``{delta, lo, hi, whi}``) is copied
    into the table first. One native call serves a single run, ``test_run``'s repeat and a
    batch over packets. (In a program's module, the loop would cost each compile more than
    the indirect call costs each run.)
    """
    return f"""\
define i64 @pybpf_jit_run(ptr %st, ptr %main, i64 %r1, i64 %r2, i64 %n, i64 %budget,
                          i64 %loops, ptr %rows, ptr %out, i64 %mask) {{
run.entry:
  %run.bp = getelementptr i64, ptr %st, i64 {F_BUDGET}
  %run.lp = getelementptr i64, ptr %st, i64 {F_LOOPS}
  %run.sp = getelementptr i64, ptr %st, i64 {F_STATUS}
  %run.dp = getelementptr i64, ptr %st, i64 {F_DONE}
  %run.gp = getelementptr i64, ptr %st, i64 {F_GEN}
  %run.batch = icmp ne ptr %rows, null
  br label %run.loop
run.loop:
  %run.i = phi i64 [ 0, %run.entry ], [ %run.i1, %run.next ]
  %run.more = icmp ult i64 %run.i, %n
  br i1 %run.more, label %run.body, label %run.done
run.body:
  call void asm sideeffect "", "~{{memory}}"()
  store i64 %run.i, ptr %run.dp, !tbaa !2
  br i1 %run.batch, label %run.row, label %run.go
run.row:
  %run.table = load ptr, ptr %st, !tbaa !2
  %run.rowp = getelementptr [4 x i64], ptr %rows, i64 %run.i
  call void @llvm.memcpy.p0.p0.i64(ptr %run.table, ptr %run.rowp, i64 32, i1 false)
  %run.g = load i64, ptr %run.gp, !tbaa !2
  %run.g1 = add i64 %run.g, 1
  store i64 %run.g1, ptr %run.gp, !tbaa !2
  br label %run.go
run.go:
  store i64 %budget, ptr %run.bp, !tbaa !2
  store i64 %loops, ptr %run.lp, !tbaa !2
  %run.r0 = call i64 %main(ptr %st, i64 %r1, i64 %r2, i64 0, i64 0, i64 0, i64 0)
  %run.s = load i64, ptr %run.sp, !tbaa !2
  %run.ok = icmp eq i64 %run.s, 0
  br i1 %run.ok, label %run.next, label %run.done
run.next:
  %run.slot = and i64 %run.i, %mask
  %run.o = getelementptr i64, ptr %out, i64 %run.slot
  store i64 %run.r0, ptr %run.o
  %run.i1 = add i64 %run.i, 1
  br label %run.loop
run.done:
  ret i64 %run.i
}}
"""
