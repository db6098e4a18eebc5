"""``pybpf demo``: the main job on an embedded default.

Assembles a bundled program, shows its bytes, disassembles it in both syntaxes, and checks
that the round trip gives the same bytes.
"""

from __future__ import annotations

import argparse

from pybpf.asm import assemble, disassemble, encode, get_instructions

__all__ = ["register"]

# A socket-filter-style program: keep IPv4 TCP packets, drop the rest.
BUNDLED = """\
; r1 = skb; legacy packet loads read big-endian from the packet
    r6 = r1
    r0 = *(u16 *)skb[12]        ; EtherType
    if r0 != 0x800 goto drop     ; not IPv4
    r0 = *(u8 *)skb[23]         ; IP protocol
    if r0 != 6 goto drop         ; not TCP
    r0 = -1                      ; keep the whole packet
    exit
drop:
    r0 = 0
    exit
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the main job on an embedded default program")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    print("== the bundled program (LLVM syntax)")
    print(BUNDLED)
    insns = assemble(BUNDLED, "llvm", source="<bundled>")
    data = encode(insns)
    print(f"== assembled: {len(insns)} instructions, {len(data)} bytes")
    for rec in get_instructions(data):
        print(f"{rec.pc:4}: {rec.raw.hex(' ')}  {rec.text}")
    print("\n== disassembled, uBPF syntax")
    print(disassemble(data, syntax="ubpf"))
    print("== disassembled, as llvm-objdump -d prints it")
    print(disassemble(data, style="objdump", labels=False))
    again = encode(assemble(disassemble(data, syntax="ubpf"), "ubpf"))
    same = "identical" if again == data else "DIFFERENT"
    print(f"== round trip through uBPF syntax: bytes {same}")
    return 0 if again == data else 1
