"""Assemble, build, disassemble: the ISA layer in a few lines.

Run: python examples/asm_basics.py
"""

from pybpf.asm import ALU64, JMP, R0, R1, Label, assemble, build, disassemble, encode

# From text, in the syntax llvm-objdump and the verifier print.
prog = assemble("""
    r0 = 0
    if r1 == 0 goto out
    r0 = 1
out:
    exit
""")

# The same program from the builder, shaped like the ISA.
built = build(
    [
        ALU64.MOV.imm(R0, 0),
        JMP.JEQ.imm(R1, 0, "out"),
        ALU64.MOV.imm(R0, 1),
        Label("out"),
        JMP.EXIT(),
    ]
)
assert built == prog

code = encode(prog)
print(code.hex(" "))
print(disassemble(code))
print(disassemble(code, syntax="ubpf"))
