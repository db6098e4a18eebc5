"""Access specs: parsing access strings against local BTF and printing them as libbpf does."""

from __future__ import annotations

import pytest

from pybpf.errors import BTFError, ParseError
from pybpf.spec.core import CoreError, format_spec, parse_spec
from pybpf.spec.core.access import Accessor
from pybpf.spec.specs import CoreReloKind as K
from tests.spec._core_btf import BTFBuilder, local_btf

LOCAL, IDS = local_btf()
TASK = IDS["task_struct"]


def sample() -> tuple[object, int, int]:
    """libbpf's own example: struct sample { int __unimportant; struct { int __1; int __2;
    int a[7]; }; }; &s->a[3] is access "0:1:2:3"."""
    b = BTFBuilder()
    i = b.int("int", 4, signed=True)
    arr = b.array(i, 7)
    anon = b.struct("", 36, [("__1", i, 0), ("__2", i, 32), ("a", arr, 64)])
    s = b.struct("sample", 40, [("__unimportant", i, 0), ("", anon, 32)])
    return b.build(), s, anon


def test_libbpf_example() -> None:
    btf, s, anon = sample()
    spec = parse_spec(btf, s, "0:1:2:3", K.FIELD_BYTE_OFFSET)  # type: ignore[arg-type]
    assert spec.raw == [0, 1, 2, 3]
    assert spec.accessors == [Accessor(s, 0), Accessor(anon, 2, "a"), Accessor(1, 3)]
    assert spec.bit_offset == (4 + 8 + 3 * 4) * 8
    assert format_spec(spec) == f"<byte_off> [{s}] struct sample.a[3] (0:1:2:3 @ offset 24)"


FORMATS = [
    ("0:0", K.FIELD_BYTE_OFFSET, f"<byte_off> [{TASK}] struct task_struct.pid (0:0 @ offset 0)"),
    (
        "0:4:1",
        K.FIELD_BYTE_SIZE,
        f"<byte_sz> [{TASK}] struct task_struct.comm[1] (0:4:1 @ offset 25)",
    ),
    ("2", K.FIELD_EXISTS, f"<field_exists> [{TASK}] struct task_struct[2] (2 @ offset 112)"),
    ("0:7", K.FIELD_SIGNED, f"<signed> [{TASK}] struct task_struct.prio (0:7 @ offset 40.2)"),
    (
        "0:6",
        K.FIELD_LSHIFT_U64,
        f"<lshift_u64> [{TASK}] struct task_struct.in_iowait (0:6 @ offset 40.1)",
    ),
    (
        "0:6",
        K.FIELD_RSHIFT_U64,
        f"<rshift_u64> [{TASK}] struct task_struct.in_iowait (0:6 @ offset 40.1)",
    ),
    ("0", K.TYPE_ID_LOCAL, f"<local_type_id> [{TASK}] struct task_struct"),
    ("0", K.TYPE_ID_TARGET, f"<target_type_id> [{TASK}] struct task_struct"),
    ("0", K.TYPE_EXISTS, f"<type_exists> [{TASK}] struct task_struct"),
    ("0", K.TYPE_SIZE, f"<type_size> [{TASK}] struct task_struct"),
    ("0", K.TYPE_MATCHES, f"<type_matches> [{TASK}] struct task_struct"),
]


@pytest.mark.parametrize(("access", "kind", "text"), FORMATS)
def test_format(access: str, kind: K, text: str) -> None:
    assert format_spec(parse_spec(LOCAL, TASK, access, kind)) == text


def test_typedef_root_is_printed_as_typedef() -> None:
    spec = parse_spec(LOCAL, IDS["task_t"], "0:1", K.FIELD_BYTE_OFFSET)
    assert format_spec(spec) == f"<byte_off> [{IDS['task_t']}] typedef task_t.tgid (0:1 @ offset 4)"
    assert spec.accessors[0] == Accessor(TASK, 0)


def test_enumerator_formats() -> None:
    e = IDS["pid_type___local"]
    spec = parse_spec(LOCAL, e, "1", K.ENUMVAL_EXISTS)
    assert format_spec(spec) == (
        f"<enumval_exists> [{e}] enum pid_type___local::PIDTYPE_SID___local = 103"
    )
    e64 = IDS["big_enum"]
    spec = parse_spec(LOCAL, e64, "0", K.ENUMVAL_VALUE)
    assert format_spec(spec) == f"<enumval_value> [{e64}] enum64 big_enum::BIG_A = 2"


def test_flexible_array_index_is_unbounded() -> None:
    b = BTFBuilder()
    i = b.int("int", 4, signed=True)
    s = b.struct("flex", 4, [("n", i, 0), ("data", b.array(i, 0), 32)])
    spec = parse_spec(b.build(), s, "0:1:100", K.FIELD_BYTE_OFFSET)
    assert spec.bit_offset == (4 + 400) * 8


BAD = [
    (TASK, "", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, ":0", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, "0::1", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, "0:1:", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, "0:-1", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, "0:a", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, " 0", K.FIELD_BYTE_OFFSET, "malformed"),
    (TASK, "0:4294967296", K.FIELD_BYTE_OFFSET, "malformed|over"),
    (TASK, "0:2147483648", K.FIELD_BYTE_OFFSET, "over 2147483647"),
    (TASK, ":".join(["0"] * 65), K.FIELD_BYTE_OFFSET, "more than 64"),
    (TASK, "0:11", K.FIELD_BYTE_OFFSET, "member #11"),
    (TASK, "0:4:16", K.FIELD_BYTE_OFFSET, "element 16 of a 16-array"),
    (TASK, "0:0:0", K.FIELD_BYTE_OFFSET, "unexpected kind int"),
    (TASK, "1", K.TYPE_SIZE, "want '0'"),
    (TASK, "0", K.ENUMVAL_VALUE, "enumerator access"),
    (IDS["pid_type___local"], "3", K.ENUMVAL_VALUE, "enumerator access"),
    (IDS["pid_type___local"], "0:0", K.ENUMVAL_VALUE, "enumerator access"),
    (999, "0", K.FIELD_BYTE_OFFSET, "out of range"),
    (-1, "0", K.FIELD_BYTE_OFFSET, "out of range"),
]


@pytest.mark.parametrize(("type_id", "access", "kind", "message"), BAD)
def test_bad_access(type_id: int, access: str, kind: K, message: str) -> None:
    with pytest.raises(CoreError, match=message) as err:
        parse_spec(LOCAL, type_id, access, kind)
    assert isinstance(err.value, BTFError) and isinstance(err.value, ParseError)


def test_type_without_size() -> None:
    b = BTFBuilder()
    fwd = b.fwd("opaque")
    with pytest.raises(CoreError, match="has no size"):
        parse_spec(b.build(), fwd, "0", K.FIELD_BYTE_OFFSET)
