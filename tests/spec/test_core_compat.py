"""Names and the three compatibility relations of CO-RE (fields, types, type matches)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pybpf.btf._btf import BTF
from pybpf.spec.core import essential_name, fields_are_compat, types_are_compat, types_match
from tests.spec._core_btf import BTFBuilder

NAMES = [
    ("task_struct", "task_struct"),
    ("task_struct___old", "task_struct"),
    ("a___b___c", "a___b"),
    ("a____b", "a____b"),  # X_ _ _ _Y: no separator (Y would be an underscore)
    ("a___", "a___"),  # nothing after
    ("___a", "___a"),  # nothing before
    ("_a___b", "_a"),
    ("a___b_", "a"),
    ("a_b___c", "a_b"),
    ("", ""),
]


@pytest.mark.parametrize(("name", "essential"), NAMES)
def test_essential_name(name: str, essential: str) -> None:
    assert essential_name(name) == essential


def libbpf_essential_len(name: str) -> int:
    """A transcription of libbpf's loop, to compare with on any input."""
    n = len(name)
    for i in range(n - 5, -1, -1):
        s = name[i : i + 5]
        if s[0] != "_" and s[1:4] == "___" and s[4] != "_":
            return i + 1
    return n


@given(st.text(alphabet="ab_", max_size=14))
def test_essential_name_is_libbpfs(name: str) -> None:
    assert essential_name(name) == name[: libbpf_essential_len(name)]


class Pair:
    """Two BTFs built side by side; ``l``/``t`` are the builders."""

    def __init__(self) -> None:
        self.l, self.t = BTFBuilder(), BTFBuilder()

    def build(self) -> tuple[BTF, BTF]:
        return self.l.build(), self.t.build()


def test_fields_compat_rules() -> None:
    p = Pair()
    l_int, t_int = p.l.int("int", 4, signed=True), p.t.int("long", 8, signed=True)
    l_old = p.l.int("bits", 4, bits_offset=3)  # a pre-kflag bitfield int
    l_s, t_u = p.l.struct("a", 4), p.t.union("b", 4)
    l_e, t_e = p.l.enum("e___x", 4, []), p.t.enum64("e", 8, [])
    t_e2 = p.t.enum("other", 4, [])
    l_anon_e = p.l.enum("", 4, [])
    l_arr, t_arr = p.l.array(l_int, 2), p.t.array(t_int, 9)
    l_ptr, t_ptr = p.l.ptr(l_int), p.t.ptr(t_u)
    l_f, t_f = p.l.float("float", 4), p.t.float("double", 8)
    l_fwd, t_fwd = p.l.fwd("x"), p.t.fwd("y")
    l_td = p.l.typedef("t", p.l.const(l_int))
    local, target = p.build()
    yes = [
        (l_int, t_int),
        (l_s, t_u),
        (l_e, t_e),
        (l_anon_e, t_e2),
        (l_arr, t_arr),
        (l_ptr, t_ptr),
        (l_f, t_f),
        (l_td, t_int),
    ]
    no = [(l_int, t_u), (l_old, t_int), (l_e, t_e2), (l_fwd, t_fwd), (l_ptr, t_int), (l_arr, t_int)]
    for a, b in yes:
        assert fields_are_compat(local, a, target, b), (a, b)
    for a, b in no:
        assert not fields_are_compat(local, a, target, b), (a, b)


def test_types_compat_rules() -> None:
    p = Pair()
    l_int, t_int = p.l.int("int", 4, signed=True), p.t.int("char", 1)
    l_s, t_s, t_u = p.l.struct("s", 4), p.t.struct("s", 8), p.t.union("s", 4)
    l_pp, t_pp = p.l.ptr(p.l.ptr(l_s)), p.t.ptr(p.t.ptr(t_s))
    t_pu = p.t.ptr(p.t.ptr(t_u))
    l_fn = p.l.func_proto(l_int, [l_int, p.l.ptr(l_s)])
    t_fn = p.t.func_proto(t_int, [t_int, p.t.ptr(t_s)])
    t_fn1 = p.t.func_proto(t_int, [t_int])
    l_td, t_td = p.l.typedef("td", l_s), p.t.typedef("td", t_u)
    l_fl, t_fl = p.l.float("f", 4), p.t.float("f", 4)
    local, target = p.build()
    assert types_are_compat(local, l_int, target, t_int)
    assert types_are_compat(local, l_s, target, t_s)
    assert not types_are_compat(local, l_s, target, t_u)
    assert types_are_compat(local, l_pp, target, t_pp)
    assert not types_are_compat(local, l_pp, target, t_pu)
    assert types_are_compat(local, l_fn, target, t_fn)
    assert not types_are_compat(local, l_fn, target, t_fn1)
    assert not types_are_compat(local, l_td, target, t_td)  # struct vs union behind typedefs
    assert not types_are_compat(local, l_fl, target, t_fl)  # libbpf: "unexpected kind float"


def test_types_match_rules() -> None:
    p = Pair()
    l_u32, t_u32 = p.l.int("u32", 4), p.t.int("u32", 4)
    t_s32 = p.t.int("u32", 4, signed=True)
    t_u64 = p.t.int("u32", 8)
    l_s = p.l.struct("s___mine", 8, [("a", l_u32, 0)])
    t_s = p.t.struct("s", 16, [("z", t_u32, 0), ("a", t_u32, 32)])
    t_s_signed = p.t.struct("s", 8, [("a", t_s32, 0)])
    t_s_wide = p.t.struct("s", 8, [("a", t_u64, 0)])
    l_e = p.l.enum("e", 4, [("A___x", 5)])
    t_e = p.t.enum64("e", 4, [("B", 1), ("A", 2)])
    t_e8 = p.t.enum64("e", 8, [("A", 2)])
    l_node = p.l.struct("node", 8)
    p.l.set_members(l_node, [("next", p.l.ptr(l_node), 0)])
    t_node = p.t.struct("node", 16)
    p.t.set_members(t_node, [("x", t_u32, 0), ("next", p.t.ptr(p.t.fwd("node")), 64)])
    l_arr, t_arr, t_arr2 = p.l.array(l_u32, 4), p.t.array(t_u32, 4), p.t.array(t_u32, 5)
    local, target = p.build()
    assert types_match(local, l_s, target, t_s)
    assert not types_match(local, l_s, target, t_s_signed)
    assert not types_match(local, l_s, target, t_s_wide)
    assert types_match(local, l_e, target, t_e)  # by name, enum and enum64 of one size
    assert not types_match(local, l_e, target, t_e8)
    assert types_match(local, l_node, target, t_node)  # behind a pointer a fwd will do
    assert types_match(local, l_arr, target, t_arr)
    assert not types_match(local, l_arr, target, t_arr2)
    assert not types_match(local, l_u32, target, t_u64)  # sizes differ


def test_int_names_must_match() -> None:
    p = Pair()
    a, b = p.l.int("unsigned long long", 8), p.t.int("long long unsigned int", 8)
    local, target = p.build()
    assert not types_match(local, a, target, b)
    assert types_are_compat(local, a, target, b)
