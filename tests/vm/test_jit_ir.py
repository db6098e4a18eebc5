"""The JIT's code generator (pure: no llvmlite needed): which checks it leaves out, where
it checks the budget, and that what it writes is the SSA form it means to write."""

from __future__ import annotations

import re

from pybpf.asm.assembler import assemble
from pybpf.vm import VM
from pybpf.vm._jit_cfg import FunctionCFG
from pybpf.vm._jit_module import generate_ir


def _ir(text: str, memory_entry: bool = True) -> str:
    code = VM().load(assemble(text, "ubpf")).code
    return generate_ir(code, "bpf", memory_entry).text


def _main(ir: str) -> str:
    """Function 0 as a memory entry runs it."""
    return ir[ir.index("define i64 @bpf_main") :].split("\n}\n", 1)[0]


PARSER = """
add %r2, %r1
mov %r0, 0
mov %r3, %r1
add %r3, 14
jgt %r3, %r2, out
ldxh %r4, [%r1+12]
mov %r6, 14
jne %r4, 0x81, ip
mov %r3, %r1
add %r3, 18
jgt %r3, %r2, out
mov %r6, 18
ip:
mov %r7, %r1
add %r7, %r6
mov %r3, %r7
add %r3, 20
jgt %r3, %r2, out
ldxw %r0, [%r7+16]
ldxb %r5, [%r7+9]
add %r0, %r5
out:
exit
"""


def test_accesses_the_program_checked_are_not_checked_again() -> None:
    """Every access is covered by a ``p + n > data_end`` branch before it (the second
    pointer's offset is one of two constants: a phi the generator knows the range of)."""
    main = _main(_ir(PARSER))
    assert "pybpf_jit_slow" not in main
    assert "pybpf_jit_cold(ptr %st, i64 2" not in main  # no fault path (COLD_FAULT + size)
    assert main.count("@pybpf_jit_cold") == 1  # the budget, once, at the start


def test_straight_code_checks_its_accesses_once() -> None:
    """Unchecked accesses at constant offsets from the packet: one comparison with the
    furthest end, at the block's start."""
    text = "\n".join(["add %r2, %r1", *(f"ldxb %r3, [%r1+{k}]\nadd %r0, %r3" for k in range(20)),
                      "exit"])  # fmt: skip
    main = _main(_ir(text))
    assert len(re.findall(r"icmp ule i64 268435476, ", main)) == 1  # PACKET_BASE + 20
    assert main.count("@pybpf_jit_cold") == 1


SUM = """
add %r2, %r1
mov %r0, 0
mov %r6, 0
loop:
jge %r6, 1500, done
mov %r3, %r1
add %r3, %r6
mov %r4, %r3
add %r4, 1
jgt %r4, %r2, done
ldxb %r5, [%r3+0]
add %r0, %r5
add %r6, 1
ja loop
done:
exit
"""


def test_a_loop_checks_the_budget_at_its_header_only() -> None:
    code = VM().load(assemble(SUM, "ubpf")).code
    cfg = FunctionCFG(code, 0)
    assert cfg.checkpoints == {0, 3}
    assert cfg.reach[3] == 10  # jge, the six to the access, ldxb, add, add, ja (one path)
    module = generate_ir(code, "bpf", True)
    assert module.loops
    main = _main(module.text)
    assert main.count("@pybpf_jit_cold") == 2
    assert "pybpf_jit_slow" not in main  # r6 < 1500 and r3 + 1 <= data_end cover the load


def test_phis_only_where_values_meet() -> None:
    """r1 and r2 never change in the loop: no phi for them; r0 and r6 do."""
    main = _main(_ir(SUM))
    phis = set(re.findall(r"%b3\.(r\d+|left|w\d) = phi", main))
    assert phis == {"r0", "r6", "left"}


def test_without_a_memory_entry_every_access_is_checked() -> None:
    ir = _ir("ldxw %r0, [%r1+4]\nldxb %r2, [%r1]\nexit", memory_entry=False)
    f0 = ir[ir.index("define i64 @bpf_f0") :].split("\n}\n", 1)[0]
    assert f0.count("pybpf_jit_slow") == 2
