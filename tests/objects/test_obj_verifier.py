"""Summaries of verifier logs: the reason, the failing instruction, its source line."""

from __future__ import annotations

from pybpf.objects._verifier import summarize

WITH_LINE_INFO = """\
func#0 @0
0: R1=ctx() R10=fp0
; SEC("xdp") int bad(struct xdp_md *ctx) { @ lineinfo.c:4
0: (b7) r1 = 1                        ; R1=1
; __u32 k = 1; @ lineinfo.c:5
1: (63) *(u32 *)(r10 -4) = r1         ; R1=1 R10=fp0 fp-8=mmmm????
2: (bf) r2 = r10                      ; R2=fp0 R10=fp0
3: (07) r2 += -4                      ; R2=fp-4
; __u64 *v = bpf_map_lookup_elem(&counts, &k); @ lineinfo.c:6
4: (18) r1 = 0xffff888108b3d000       ; R1=map_ptr(map=counts,ks=4,vs=8)
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)
; return *v; @ lineinfo.c:7
7: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
verification time 98 usec
stack depth 8
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""

WITHOUT = """\
0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0=0
1: (bf) r1 = r2
R2 !read_ok
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_summary_with_the_log_s_source_lines() -> None:
    assert summarize(WITH_LINE_INFO) == (
        "R0 invalid mem access 'map_value_or_null'\n"
        "  at insn 7: r0 = *(u64 *)(r0 +0) (lineinfo.c:7: return *v;)"
    )


def test_summary_without_source_uses_the_resolver() -> None:
    assert summarize(WITHOUT) == "R2 !read_ok\n  at insn 1: r1 = r2"
    resolved = summarize(WITHOUT, lambda insn: f"prog.c:{10 + insn}")
    assert resolved.endswith("at insn 1: r1 = r2 (prog.c:11)")


def test_summary_of_logs_without_instructions() -> None:
    assert summarize("last insn is not an exit or jmp\nprocessed 0 insns\n") == (
        "last insn is not an exit or jmp"
    )
    assert summarize("") == ""


def test_line_info_of_the_spec_resolves_instructions() -> None:
    from pybpf.objects._load import line_resolver
    from pybpf.spec import ProgramSpec, ProgType
    from pybpf.spec.specs import LineInfo

    class Strings:
        table = {1: "/src/prog.c", 13: "  return x;  ", 25: "int x = 1;"}

        def string(self, off: int) -> str:
            return self.table[off]

    spec = ProgramSpec("p", ProgType.XDP, btf=Strings())
    spec.line_info = [LineInfo(0, 1, 25, 4, 3), LineInfo(5, 1, 13, 9, 3)]
    resolve = line_resolver(spec)
    assert resolve is not None
    assert resolve(0) == "prog.c:4: int x = 1;" and resolve(3) == "prog.c:4: int x = 1;"
    assert resolve(7) == "prog.c:9: return x;"
    assert line_resolver(ProgramSpec("q", ProgType.XDP)) is None
