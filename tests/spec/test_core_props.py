"""Properties of relocation on generated layouts.

- A struct whose members are shuffled, moved into anonymous structs/unions and resized in
  the target relocates every field access to the target's offset and size.
- The bitfield values (byte offset, size, left and right shifts) read exactly the field's
  bits out of memory, in both byte orders, as a BPF program using them would.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pybpf.asm.instruction import Instruction
from pybpf.asm.opcodes import AluOp, Class, Source
from pybpf.spec.core import calc_values, parse_spec, relocate
from pybpf.spec.specs import CoreRelo, ProgramSpec
from pybpf.spec.specs import CoreReloKind as K
from tests.spec._core_btf import BTFBuilder, program

SIZES = {1: "unsigned char", 2: "short unsigned int", 4: "unsigned int", 8: "long unsigned int"}


def mov(imm: int) -> Instruction:
    return Instruction(Class.ALU64 | AluOp.MOV | Source.K, dst=1, imm=imm)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[tuple[str, int]], list[tuple[str, int, int]], int]:
    """Local fields (name, size); target fields (name, size, byte offset) in a new order with
    gaps; and how many target fields (from the start) go into an anonymous struct."""
    n = draw(st.integers(1, 8))
    local = [(f"f{i}", draw(st.sampled_from(sorted(SIZES)))) for i in range(n)]
    order = draw(st.permutations(range(n)))
    target, off = [], 0
    for i in order:
        size = draw(st.sampled_from(sorted(SIZES)))
        off = -(-off // size) * size + size * draw(st.integers(0, 2))  # aligned, with a gap
        target.append((f"f{i}", size, off))
        off += size
    return local, target, draw(st.integers(0, n))


@given(layouts(), st.booleans())
def test_fields_relocate_to_target_layout(
    layout: tuple[list[tuple[str, int]], list[tuple[str, int, int]], int], union: bool
) -> None:
    local_fields, target_fields, nested = layout
    b = BTFBuilder()
    ints = {size: b.int(name, size) for size, name in SIZES.items()}
    members, off = [], 0
    for name, size in local_fields:
        off = -(-off // size) * size
        members.append((name, ints[size], off * 8))
        off += size
    s = b.struct("s", -(-off // 8) * 8, members)
    t = BTFBuilder()
    tints = {size: t.int(name, size) for size, name in SIZES.items()}
    end = max(o + size for _, size, o in target_fields)
    inner = [(n, tints[size], o * 8) for n, size, o in target_fields[:nested]]
    outer = [(n, tints[size], o * 8) for n, size, o in target_fields[nested:]]
    if inner:  # an anonymous struct (or union, for one member) at offset 0 holding the first
        anon = t.union("", end, inner) if union and len(inner) == 1 else t.struct("", end, inner)
        outer.insert(0, ("", anon, 0))
    t.struct("s___target", end, outer)
    relos, insns = [], []
    for i, (_, size) in enumerate(local_fields):
        relos += [CoreRelo(2 * i, s, f"0:{i}", K.FIELD_BYTE_OFFSET)]
        relos += [CoreRelo(2 * i + 1, s, f"0:{i}", K.FIELD_BYTE_SIZE)]
        insns += [mov(members[i][2] // 8), mov(size)]
    prog = program(b.build(), insns, relos)
    assert isinstance(prog, ProgramSpec)
    out, _ = relocate(prog, t.build())
    where = {n: (o, size) for n, size, o in target_fields}
    for i, (name, _) in enumerate(local_fields):
        assert out.instructions[2 * i].imm == where[name][0]
        assert out.instructions[2 * i + 1].imm == where[name][1]


@given(
    container=st.sampled_from([1, 2, 4, 8]),
    data=st.data(),
    memory=st.binary(min_size=24, max_size=24),
    little=st.booleans(),
)
def test_bitfield_values_extract_the_field(
    container: int, data: st.DataObject, memory: bytes, little: bool
) -> None:
    """Load byte_sz bytes at byte_off, shift left by lshift and right by rshift (in a u64):
    the field's bits come out, whatever the field's position."""
    start = data.draw(st.integers(0, 24 // container - 1)) * container * 8  # aligned
    bit_sz = data.draw(st.integers(1, container * 8))
    bit_off = start + data.draw(st.integers(0, container * 8 - bit_sz))
    b = BTFBuilder("little" if little else "big")
    u = b.int("u", container)
    s = b.struct("s", 24, [("x", u, bit_off, bit_sz)])
    btf = b.build()
    got = {}
    for kind in (K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64):
        spec = parse_spec(btf, s, "0:0", kind)
        got[kind] = calc_values(spec, spec, little).new
    off, size = got[K.FIELD_BYTE_OFFSET], got[K.FIELD_BYTE_SIZE]
    loaded = int.from_bytes(memory[off : off + size], "little" if little else "big")
    value = ((loaded << got[K.FIELD_LSHIFT_U64]) & (2**64 - 1)) >> got[K.FIELD_RSHIFT_U64]
    if little:  # bit i of the struct is bit i % 8 of byte i // 8
        want = (int.from_bytes(memory, "little") >> bit_off) & ((1 << bit_sz) - 1)
    else:  # bit 0 is the most significant bit of byte 0
        whole = int.from_bytes(memory, "big")
        want = (whole >> (len(memory) * 8 - bit_off - bit_sz)) & ((1 << bit_sz) - 1)
    assert value == want
