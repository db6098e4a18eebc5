"""Hand-made objects (tests/spec/objbuilder.py) for what clang's fixtures do not cover: the
``?`` prefix, unknown sections, calls between programs of one section, static functions in
program sections, callbacks into static functions, recursion, deep call chains, legacy map
records with inner maps, relocations of data without BTF, both byte orders.
"""

from __future__ import annotations

import struct

import pytest

from pybpf.asm.opcodes import CallKind, PseudoSrc
from pybpf.btf.encode import encode
from pybpf.btf.kinds import FuncLinkage, IntEncoding
from pybpf.btf.types import DeclTag, Func, FuncProto, Int
from pybpf.elf import R_BPF, STB
from pybpf.errors import BTFError, ELFError
from pybpf.spec import MapType, PinType, ProgType
from pybpf.spec.loader import load_collection_spec
from pybpf.spec.specs import ExternKind
from tests.spec.objbuilder import CALL, EXIT, LDDW, MOV, ObjectBuilder, kfunc_object

ORDERS = ["little", "big"]
CALL32 = R_BPF.R_BPF_64_32


@pytest.mark.parametrize("order", ORDERS)
def test_question_mark_turns_autoload_off(order: str) -> None:
    b = ObjectBuilder(order)
    b.code("?xdp", ("maybe", [MOV(0, 2), EXIT()]))
    b.code("?kprobe/do_sys_open", ("probe", [MOV(0, 0), EXIT()]))
    spec = load_collection_spec(b.build())
    maybe, probe = spec.programs["maybe"], spec.programs["probe"]
    assert (maybe.section, maybe.type, maybe.autoload) == ("xdp", ProgType.XDP, False)
    assert (probe.section, probe.attach_to, probe.autoload) == (
        "kprobe/do_sys_open", "do_sys_open", False,
    )  # fmt: skip


def test_unknown_section_is_kept_without_a_type() -> None:
    b = ObjectBuilder()
    b.code("my_custom_section", ("custom", [MOV(0, 0), EXIT()]))
    prog = load_collection_spec(b.build()).programs["custom"]
    assert (prog.type, prog.attach_type, prog.attach_to, prog.flags) == (
        ProgType.UNSPEC, None, "", 0,
    )  # fmt: skip
    prog.type = ProgType.SOCKET_FILTER  # the user sets it before load, as with libbpf


@pytest.mark.parametrize("order", ORDERS)
def test_a_program_calls_another_program_of_its_section(order: str) -> None:
    b = ObjectBuilder(order)
    b.code("xdp", ("first", [MOV(1, 1), CALL(-1), EXIT()]), ("second", [MOV(0, 7), EXIT()]))
    b.reloc("xdp", 8, "second", CALL32)
    spec = load_collection_spec(b.build())
    first, second = spec.programs["first"], spec.programs["second"]
    assert first.subprograms == {"second": 3}
    assert first.instructions[1] == CALL(1)  # to slot 3, from slot 1
    assert first.instructions[3:] == second.instructions
    assert (second.insn_count, second.subprograms) == (2, {})


@pytest.mark.parametrize("order", ORDERS)
def test_static_function_in_a_program_section_is_a_subprogram(order: str) -> None:
    b = ObjectBuilder(order)
    # main: call +1 (pc-relative, no relocation) to helper right after it... in another place
    b.code("tc", ("main", [MOV(1, 3), CALL(1), EXIT()]))
    b.code("tc", ("helper", [MOV(0, 4), EXIT()]), bind=STB.LOCAL)
    spec = load_collection_spec(b.build())
    assert list(spec.programs) == ["main"]
    main = spec.programs["main"]
    assert main.subprograms == {"helper": 3}
    assert main.instructions[1].jump_target(1) == 3


@pytest.mark.parametrize("order", ORDERS)
def test_callback_into_a_static_function(order: str) -> None:
    b = ObjectBuilder(order)
    b.code(
        ".text", ("cb_one", [MOV(0, 1), EXIT()]), ("cb_two", [MOV(0, 2), EXIT()]), bind=STB.LOCAL
    )
    b.code("xdp", ("prog", [LDDW(2, 16), MOV(0, 0), EXIT()]))
    b.reloc("xdp", 0, "@.text")  # static: the section symbol, the offset in imm (16: cb_two)
    prog = load_collection_spec(b.build()).programs["prog"]
    assert prog.subprograms == {"cb_two": 4}
    lddw = prog.instructions[0]
    assert (lddw.src, lddw.imm, lddw.ref) == (PseudoSrc.FUNC, 3, None)  # 4 - (0 + 1)
    assert lddw.jump_target(0) == 4


def test_recursion_appends_nothing_twice() -> None:
    b = ObjectBuilder()
    b.code(".text", ("rec", [MOV(0, 0), CALL(-2), EXIT()]))  # calls itself
    b.code("xdp", ("prog", [CALL(-1), EXIT()]))
    b.reloc("xdp", 0, "rec", CALL32)
    prog = load_collection_spec(b.build()).programs["prog"]
    assert prog.subprograms == {"rec": 2}
    assert prog.instructions[3].jump_target(3) == 2


def test_deep_call_chain() -> None:
    depth = 3000  # far past Python's recursion limit: the linker walks with a stack
    b = ObjectBuilder()
    funcs = [(f"f{i}", [CALL(1), EXIT()]) for i in range(depth)]
    funcs[-1] = (f"f{depth - 1}", [MOV(0, 0), EXIT()])
    b.code(".text", *funcs, bind=STB.LOCAL)  # each calls the next (call +1: past its exit)
    b.code("xdp", ("prog", [CALL(-1), EXIT()]))
    b.reloc("xdp", 0, "f0", CALL32)
    prog = load_collection_spec(b.build()).programs["prog"]
    assert list(prog.subprograms) == [f"f{i}" for i in range(depth)]
    assert prog.insn_count == 2 + 2 * depth


def test_calls_as_libbpf_orders_them() -> None:
    # main calls a then c; a calls b; c calls b: main | a | b | c  (libbpf's example)
    b = ObjectBuilder()
    b.code(
        ".text",
        ("sub_a", [CALL(-1), EXIT()]),
        ("sub_b", [MOV(0, 0), EXIT()]),
        ("sub_c", [CALL(-1), EXIT()]),
    )
    b.reloc(".text", 0, "sub_b", CALL32)
    b.reloc(".text", 32, "sub_b", CALL32)
    b.code("xdp", ("main_a", [CALL(-1), CALL(-1), EXIT()]), ("main_b", [CALL(-1), EXIT()]))
    b.reloc("xdp", 0, "sub_a", CALL32)
    b.reloc("xdp", 8, "sub_c", CALL32)
    b.reloc("xdp", 24, "sub_c", CALL32)
    spec = load_collection_spec(b.build())
    assert spec.programs["main_a"].subprograms == {"sub_a": 3, "sub_b": 5, "sub_c": 7}
    assert spec.programs["main_b"].subprograms == {"sub_c": 2, "sub_b": 4}
    insns = spec.programs["main_b"].instructions
    assert [insns[0].jump_target(0), insns[2].jump_target(2)] == [2, 4]


@pytest.mark.parametrize("order", ORDERS)
def test_data_without_btf(order: str) -> None:
    b = ObjectBuilder(order)
    b.data(".data", bytes(range(16)), ("counter", 8, 8))
    b.bss(".bss", 32)
    b.code("socket", ("prog", [LDDW(1, 4), LDDW(2, 0), MOV(0, 0), EXIT()]))
    b.reloc("socket", 0, "counter")  # global: symbol value 8 + imm 4
    b.reloc("socket", 16, "@.bss")
    spec = load_collection_spec(b.build(), name="no_btf.o")
    assert spec.btf is None and spec.variables == {}
    data, bss = spec.maps[".data"], spec.maps[".bss"]
    assert (data.data, data.kernel_name, data.flags) == (bytes(range(16)), "no_btf.data", 0)
    assert (bss.data, bss.value_size) == (bytes(32), 32)
    insns = spec.programs["prog"].instructions
    assert [(i.ref, i.src, i.imm_hi) for i in insns[:2]] == [
        (".data", PseudoSrc.MAP_VALUE, 12),
        (".bss", PseudoSrc.MAP_VALUE, 0),
    ]


def _legacy(order: str, records: list[tuple[int, ...]], size: int) -> bytes:
    b = ObjectBuilder(order)
    fmt = "<" if order == "little" else ">"
    for i, rec in enumerate(records):
        raw = struct.pack(f"{fmt}{len(rec)}I", *rec).ljust(size, b"\0")
        b.raw("maps", raw, flags=3)
        b.symbol(f"m{i}", i * size, size, type=1, section="maps")
    b.code("socket", ("prog", [LDDW(1), MOV(0, 0), EXIT()]))
    b.reloc("socket", 0, f"m{len(records) - 1}")
    return b.build()


@pytest.mark.parametrize("order", ORDERS)
def test_legacy_maps_with_inner_map_and_numa(order: str) -> None:
    records = [
        (MapType.ARRAY, 4, 8, 16, 0, 0, 0),
        (MapType.ARRAY_OF_MAPS, 4, 4, 4, 4, 0, 1),  # inner: map 0; NUMA node 1 (flag 4)
    ]
    spec = load_collection_spec(_legacy(order, records, 28))
    outer = spec.maps["m1"]
    assert (outer.type, outer.flags, outer.numa_node) == (MapType.ARRAY_OF_MAPS, 4, 1)
    assert outer.inner_map is not None
    assert (outer.inner_map.name, outer.inner_map.type, outer.inner_map.value_size) == (
        "m1.inner", MapType.ARRAY, 8,
    )  # fmt: skip
    assert spec.programs["prog"].instructions[0].ref == "m1"
    assert spec.programs["prog"].instructions[0].src == PseudoSrc.MAP_FD


def test_legacy_maps_as_aya_writes_them() -> None:
    # aya's bpf_map_def: ..., map_flags, id, pinning (PinningType::ByName = 1)
    records = [(MapType.HASH, 4, 8, 64, 0, 0, 1), (MapType.ARRAY, 4, 4, 2, 0, 7, 0)]
    spec = load_collection_spec(_legacy("little", records, 28))
    assert [(m.pinning, m.numa_node) for m in spec.maps.values()] == [
        (PinType.BY_NAME, 0), (PinType.NONE, 0),
    ]  # fmt: skip
    with pytest.raises(ELFError, match="pinning 2"):
        load_collection_spec(_legacy("little", [(MapType.HASH, 4, 8, 64, 0, 0, 2)], 28))


def test_legacy_maps_short_records() -> None:
    spec = load_collection_spec(_legacy("little", [(1, 4, 4, 8), (2, 4, 8, 1)], 16))
    assert [(m.type, m.max_entries, m.flags) for m in spec.maps.values()] == [
        (MapType.HASH, 8, 0), (MapType.ARRAY, 1, 0),
    ]  # fmt: skip


def test_extern_without_btf_is_refused() -> None:
    b = ObjectBuilder()
    b.code("xdp", ("prog", [CALL(-1), EXIT()]))
    b.symbol("not_in_btf")
    b.reloc("xdp", 0, "not_in_btf", CALL32)
    # without BTF a kconfig option cannot be told from a kernel symbol: libbpf refuses too
    with pytest.raises(BTFError, match="not_in_btf"):
        load_collection_spec(b.build())


@pytest.mark.parametrize("order", ORDERS)
def test_kfunc_call_in_a_subprogram_is_carried_along(order: str) -> None:
    spec = load_collection_spec(kfunc_object(order))
    ext = spec.externs["my_kfunc"]
    assert (ext.kind, ext.weak, ext.btf_id, ext.type) == (ExternKind.KFUNC, False, 3, 2)
    prog = spec.programs["prog"]
    assert prog.subprograms == {"helper": 3}
    kcall = prog.instructions[4]
    assert (kcall.src, kcall.imm, kcall.ref) == (CallKind.KFUNC, 0, "my_kfunc")
    assert spec.hidden_functions == {"helper"}


def _exception_object(tagged: str) -> bytes:
    b = ObjectBuilder()
    b.code(".text", ("helper", [MOV(0, 1), EXIT()]), ("handler", [CALL(-3), EXIT()]))
    b.code("tc", ("prog", [CALL(-1), EXIT()]))
    b.reloc("tc", 0, "helper", CALL32)
    btf = encode(
        [
            Int(name="int", size=4, nr_bits=32, encoding=IntEncoding.SIGNED),
            FuncProto(type=1),
            Func(name="prog", type=2, linkage=FuncLinkage.GLOBAL),
            Func(name="handler", type=2, linkage=FuncLinkage.GLOBAL),
            DeclTag(name=f"exception_callback:{tagged}", type=3, component_idx=-1),
        ]
    )
    b.raw(".BTF", btf)
    return b.build()


def test_exception_callback_is_appended() -> None:
    # handler is called by nothing; its tag on prog makes libbpf append it (and what it calls)
    prog = load_collection_spec(_exception_object("handler")).programs["prog"]
    assert prog.subprograms == {"helper": 2, "handler": 4}
    assert prog.instructions[4].jump_target(4) == 2  # handler calls helper, already there


def test_exception_callback_that_does_not_exist() -> None:
    with pytest.raises(BTFError, match="no exception callback 'nope'"):
        load_collection_spec(_exception_object("nope"))
