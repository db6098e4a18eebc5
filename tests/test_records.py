"""``pybpf._records.immutable``/``record``/``dataclass``: dataclasses without their import cost.

What users of a value type rely on is what a frozen slotted dataclass gives them; each test
holds a record class to that (and, where it matters, next to a real dataclass).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from typing import ClassVar

import pytest

from pybpf import _records
from pybpf._records import field, immutable, record, replace


@immutable
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


@immutable(kw_only=True)
class Base:
    kind: ClassVar[str] = "base"
    name: str = ""


@immutable(kw_only=True)
class Sized(Base):
    kind: ClassVar[str] = "sized"
    size: int
    flags: int = 0


class Alias(Sized):
    """A kind that adds no field (as btf.types' Ptr under Ref)."""

    __slots__ = ()


@record
class Spec:
    name: str
    items: list[int] = field(default_factory=list)
    count: int = 0


@record(slots=True, eq=False)
class State:
    seen: dict[str, int] = field(default_factory=dict)
    done: bool = field(default=False, repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class RealPoint:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_value_semantics_match_a_frozen_slotted_dataclass() -> None:
    p, q = Point(1, 2), RealPoint(1, 2)
    assert repr(p) == repr(q).replace("RealPoint", "Point")
    assert p == Point(1, 2) and p != Point(2, 1) and p != q
    assert hash(p) == hash(Point(1, 2)) and {p: 1}[Point(1, 2)] == 1
    assert not hasattr(p, "__dict__") and Point.__slots__ == ("x", "y", "tags")
    assert Point.__match_args__ == ("x", "y", "tags")
    match p:
        case Point(1, y):
            assert y == 2


def test_one_field_and_no_field_records_compare_and_hash() -> None:
    @immutable
    class One:
        a: int

    @immutable
    class Empty:
        pass

    assert One(1) == One(1) and One(1) != One(2) and hash(One(1)) == hash(One(1))
    assert Empty() == Empty() and hash(Empty()) == hash(Empty())
    assert repr(Empty()).endswith(".Empty()")
    assert len({One(1), One(1), One(2)}) == 2


@pytest.mark.parametrize("action", [lambda p: setattr(p, "x", 5), lambda p: delattr(p, "x")])
def test_frozen_raises_the_dataclasses_error(action: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        action(Point(1))  # type: ignore[operator]


def test_copies_and_pickles_are_equal() -> None:
    p = Point(1, 2, ("a",))
    assert copy.copy(p) == p and copy.deepcopy(p) == p
    assert pickle.loads(pickle.dumps(p)) == p
    s = Spec("m", [1])
    assert pickle.loads(pickle.dumps(s)) == s


def test_dataclasses_functions_work_on_records() -> None:
    p = Point(1, 2)
    assert dataclasses.is_dataclass(p) and dataclasses.is_dataclass(Point)
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags"]
    assert dataclasses.replace(p, y=5) == Point(1, 5)
    assert dataclasses.asdict(p) == {"x": 1, "y": 2, "tags": ()}
    assert [f.name for f in dataclasses.fields(Alias)] == ["name", "size", "flags"]


def test_replace_needs_no_dataclasses() -> None:
    assert replace(Point(1, 2), x=3) == Point(3, 2)
    assert replace(RealPoint(1), y=4) == RealPoint(1, 4)  # a true dataclass too
    with pytest.raises(TypeError):
        replace(Point(1), z=1)


def test_keyword_only_fields_inherited_classvars_skipped() -> None:
    s = Sized(size=4, name="int")
    assert s.size == 4 and s.flags == 0 and Sized.kind == "sized"
    assert repr(Alias(size=1)) == "Alias(name='', size=1, flags=0)"
    assert Alias(size=1) != Sized(size=1)  # equality requires the same class
    with pytest.raises(TypeError):
        Sized(4)  # type: ignore[misc]


def test_mutable_records() -> None:
    a, b = Spec("x"), Spec("x")
    a.items.append(1)
    assert a.items == [1] and b.items == [] and a != b
    a.count = 3
    assert a.count == 3 and Spec.__hash__ is None
    st = State()
    st.seen["k"] = 1
    assert repr(st) == "State(seen={'k': 1})" and st != State()  # eq=False: identity
    assert not hasattr(st, "__dict__")


def test_bad_definitions_are_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument"):

        @immutable
        class Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Worse:
            a: list[int] = []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (Point, "missing 1 required argument"),
        (lambda: Point(1, 2, (), 4), "takes 4 positional arguments but 5 were given"),
        (lambda: Point(1, x=2), "multiple values for argument 'x'"),
        (lambda: Point(1, z=2), "unexpected keyword argument 'z'"),
    ],
)
def test_bad_arguments_raise_type_error(call: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()  # type: ignore[operator]


def test_the_generic_init_gives_way_to_a_compiled_one() -> None:
    @immutable
    class Hot:
        a: int
        b: list[int] = field(default_factory=list)

    first = Hot.__init__
    made = [Hot(i) for i in range(_records.HOT + 1)]
    assert Hot.__init__ is not first  # compiled, installed on the class
    assert [m.a for m in made] == list(range(_records.HOT + 1))
    assert all(m.b == [] for m in made) and made[0].b is not made[1].b
    after = Hot(7, [1])
    assert after == Hot(7, [1]) and after.b == [1]


def test_post_init_runs() -> None:
    @record
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    assert Checked(1).a == 1
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_dataclass_is_a_drop_in() -> None:
    @_records.dataclass(frozen=True, slots=True)
    class Twin:
        a: int

    assert Twin(1) == Twin(1) and hash(Twin(1)) == hash(Twin(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Twin(1).a = 2  # type: ignore[misc]


def test_importing_records_loads_neither_dataclasses_nor_typing() -> None:
    code = (
        "import sys\nfrom pybpf._records import immutable\n"
        "@immutable\nclass A:\n    x: int\n"
        "a = A(1); hash(a); repr(a); a == A(1)\n"
        "print(sorted({'dataclasses', 'typing', 'inspect'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_repr_of_long_bytes_is_one_short_line() -> None:
    """A record holding a large blob (a map's ``.bss`` data) prints its start and length,
    not megabytes of text; short bytes print whole."""
    from pybpf.spec import MapSpec, MapType

    big = MapSpec(".bss", MapType.ARRAY, 4, 1 << 22, 1, data=bytes(1 << 22))
    text = repr(big)
    assert len(text) < 600
    assert "data=b'\\x00\\x00" in text and f"...<{1 << 22} bytes>" in text
    small = MapSpec(".data", MapType.ARRAY, 4, 8, 1, data=b"abcdefgh")
    assert "data=b'abcdefgh'," in repr(small)
