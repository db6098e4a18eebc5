"""The LLVM module of a program: its functions (:mod:`pybpf.vm._jit_ir`), the out-of-line
access path, and the native entry points the driver calls. Pure text generation."""

from __future__ import annotations

from pybpf.asm.opcodes import Kind
from pybpf.vm._code import Code
from pybpf.vm._jit_ir import (
    DEOPT_WORDS,
    F_ADDR,
    F_BUDGET,
    F_CAP,
    F_DEOPT,
    F_DONE,
    F_GEN,
    F_LOOPS,
    F_PC,
    F_SIZE,
    F_STATUS,
    ST_FAULT,
    FunctionIR,
)
from pybpf.vm.memory import PACKET_BASE, REGION_SHIFT

__all__ = ["generate_ir", "segment_lengths"]

_HEADER = """\
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
declare i64 @llvm.umin.i64(i64, i64)
declare { i64, i1 } @llvm.usub.with.overflow.i64(i64, i64)
declare i16 @llvm.bswap.i16(i16)
declare i32 @llvm.bswap.i32(i32)
declare i64 @llvm.bswap.i64(i64)
"""
_META = """\
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


def segment_lengths(code: Code) -> dict[int, int]:
    """For each slot starting an instruction: how many instructions run from it straight on
    to the end of its segment (through not-taken branches, up to a jump, exit or call)."""
    lengths: dict[int, int] = {}
    starts = [pc for pc in range(code.nslots) if code.slots[pc] is not None]
    following = 0
    for pc in reversed(starts):
        op = code.ops[pc]
        assert op is not None
        insn = code.slots[pc]
        assert insn is not None
        ends = op.kind in (Kind.EXIT, Kind.JA, Kind.CALL, Kind.CALLX)
        if pc + insn.slots in code.entries:
            ends = True
        following = 1 if ends else following + 1
        lengths[pc] = following
    return lengths


def generate_ir(code: Code, name: str = "prog", memory_entry: bool = False) -> str:
    """The LLVM module of ``code``: functions ``@<name>_f<pc>``, each exported (not inlined)
    as ``@<name>_call<pc>`` for helpers' callbacks, and the entry loop ``@<name>_repeat``.

    ``memory_entry`` says runs start with r1 = the packet's first address and r2 = its
    length (:class:`~pybpf.vm.context.MemoryEntry`): ``@<name>_repeat`` then takes them from
    the region table, where LLVM can relate them to the bounds checks, with the entry
    function inlined; function 0 is not exported (the driver runs other calls of it in the
    fast tier).
    """
    segs = segment_lengths(code)
    sites = [0]
    parts = [f'; ModuleID = "{name}"', _HEADER]
    for entry in code.entries:
        fn = FunctionIR(code, entry, segs, f"{name}_", memory_entry, sites)
        parts.append("\n".join(fn.generate()))
        if entry or not memory_entry:
            parts.append(_export(name, entry))
    parts.append(_entry_points(name, memory_entry))
    if memory_entry:
        parts.append(_batch(name))
    parts.append(_slow(name, max(sites[0], 1)))
    parts.append(_save(name))
    parts.append("attributes #0 = { noinline }\nattributes #1 = { alwaysinline }")
    parts.append(_META.replace("PACKET_BASE", str(PACKET_BASE)))
    return "\n".join(parts) + "\n"


def _slow(name: str, nsites: int) -> str:
    """``@<name>_slow(st, addr, size | write << 8, pc, site)``: the host address of an access
    outside the packet, or 0 after recording a fault in the state.

    Each site keeps ``{lo, top, delta, generation}`` of the window it last hit in
    ``@<name>_cache``; the native memory bumps the state's generation on every change of a
    region, which makes every cached window stale at once.
    """
    return f"""\
@{name}_cache = internal global [{nsites} x [4 x i64]] zeroinitializer

define internal i64 @{name}_slow(ptr %st, i64 %a, i64 %info, i64 %pc, i64 %site) noinline {{
entry:
  %genp = getelementptr i64, ptr %st, i64 {F_GEN}
  %gen = load i64, ptr %genp, !tbaa !2
  %c = getelementptr [4 x i64], ptr @{name}_cache, i64 %site
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


def _batch(name: str) -> str:
    """``@<name>_batch(st, rows, n, out, budget, loops)``: run once per packet; packet ``i``
    is the region-0 row ``rows[i]`` (``{delta, lo, hi, whi}``, data at ``PACKET_BASE``), its
    r0 goes to ``out[i]``. Returns how many ran without failing (``n`` when all did)."""
    return f"""\
define i64 @{name}_batch(ptr %st, ptr %rows, i64 %n, ptr %out, i64 %budget, i64 %loops) {{
entry:
  %bp = getelementptr i64, ptr %st, i64 {F_BUDGET}
  %lp = getelementptr i64, ptr %st, i64 {F_LOOPS}
  %sp = getelementptr i64, ptr %st, i64 {F_STATUS}
  %gp = getelementptr i64, ptr %st, i64 {F_GEN}
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %next ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %done
body:
  call void asm sideeffect "", "~{{memory}}"()
  %table = load ptr, ptr %st, !tbaa !2
  %row = getelementptr [4 x i64], ptr %rows, i64 %i
  call void @llvm.memcpy.p0.p0.i64(ptr %table, ptr %row, i64 32, i1 false)
  %g = load i64, ptr %gp, !tbaa !2
  %g1 = add i64 %g, 1
  store i64 %g1, ptr %gp, !tbaa !2
  store i64 %budget, ptr %bp, !tbaa !2
  store i64 %loops, ptr %lp, !tbaa !2
{_entry_args(True)}  %r = call i64 @{name}_f0(ptr %st, i64 %a1, i64 %a2, i64 0, i64 0, i64 0,
                                    i64 0) #1
  %s = load i64, ptr %sp, !tbaa !2
  %ok = icmp eq i64 %s, 0
  br i1 %ok, label %next, label %done
next:
  %o = getelementptr i64, ptr %out, i64 %i
  store i64 %r, ptr %o
  %i1 = add i64 %i, 1
  br label %loop
done:
  ret i64 %i
}}
"""


def _save(name: str) -> str:
    """``@<name>_save(st, depth, pc, r0..r10)``: store a frame in the deopt area (cold)."""
    regs = ", ".join(f"i64 %r{i}" for i in range(11))
    stores = "".join(
        f"  %p{i} = getelementptr i64, ptr %f, i64 {i + 1}\n  store i64 %r{i}, ptr %p{i}\n"
        for i in range(11)
    )
    return f"""\
define internal void @{name}_save(ptr %st, i64 %depth, i64 %pc, {regs}) noinline cold {{
  %ap = getelementptr i64, ptr %st, i64 {F_DEOPT}
  %area = load ptr, ptr %ap, !tbaa !2
  %f = getelementptr [{DEOPT_WORDS} x i64], ptr %area, i64 %depth
  store i64 %pc, ptr %f
{stores}  ret void
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


def _entry_args(memory_entry: bool) -> str:
    """Compute %a1 and %a2, the entry's r1 and r2."""
    if not memory_entry:
        return "  %a1 = add i64 %r1, 0\n  %a2 = add i64 %r2, 0\n"
    return """\
  %tab = load ptr, ptr %st, !tbaa !2
  %hip = getelementptr i64, ptr %tab, i64 2
  %hi = load i64, ptr %hip, !tbaa !10, !range !8
  %a1 = add i64 PACKET_BASE, 0
  %a2 = sub i64 %hi, PACKET_BASE
""".replace("PACKET_BASE", str(PACKET_BASE))


def _entry_points(name: str, memory_entry: bool) -> str:
    """``@<name>_repeat``: run the program ``n`` times (each run with the full budget and
    ``may_goto`` count), stop at the first failure; returns the last r0. One native call
    serves a single run (``n`` = 1) as well as a batch."""
    args = _entry_args(memory_entry)
    inline = " #1" if memory_entry else ""
    return f"""\
define i64 @{name}_repeat(ptr %st, i64 %r1, i64 %r2, i64 %n, i64 %budget, i64 %loops) {{
entry:
  %bp = getelementptr i64, ptr %st, i64 {F_BUDGET}
  %lp = getelementptr i64, ptr %st, i64 {F_LOOPS}
  %sp = getelementptr i64, ptr %st, i64 {F_STATUS}
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %next ]
  %last = phi i64 [ 0, %entry ], [ %r, %next ]
  %more = icmp ult i64 %i, %n
  br i1 %more, label %body, label %done
body:
  call void asm sideeffect "", "~{{memory}}"()
  %dp = getelementptr i64, ptr %st, i64 {F_DONE}
  store i64 %i, ptr %dp, !tbaa !2
  store i64 %budget, ptr %bp, !tbaa !2
  store i64 %loops, ptr %lp, !tbaa !2
{args}  %r = call i64 @{name}_f0(ptr %st, i64 %a1, i64 %a2, i64 0, i64 0, i64 0, i64 0){inline}
  %s = load i64, ptr %sp, !tbaa !2
  %ok = icmp eq i64 %s, 0
  br i1 %ok, label %next, label %done
next:
  %i1 = add i64 %i, 1
  br label %loop
done:
  %res = phi i64 [ %last, %loop ], [ %r, %body ]
  ret i64 %res
}}
"""
