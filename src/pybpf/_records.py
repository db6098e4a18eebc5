"""Records: frozen (``immutable``) and mutable (``record``) slotted classes with dataclass
semantics, made without generating code at import.

Every value type of pybpf is one of these (docs/architecture.md, decision log: "Records
instead of dataclasses"). Standard library only; layer -1 like ``_util``.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_options: object) -> Callable[[_T], _T]:
        """(Typing only: tells type checkers that ``record``/``immutable`` make dataclasses.)"""
        return lambda decorator: decorator


__all__ = ["MISSING", "Field", "dataclass", "field", "immutable", "record", "replace"]

# -- records: dataclasses without their import-time cost --------------------------------------
#
# ``@dataclasses.dataclass`` compiles an ``__init__``, ``__repr__``, ``__eq__`` (and, frozen,
# ``__setattr__``/``__delattr__``/``__hash__``) with ``exec`` for every class, at import:
# ~0.5 ms per frozen slotted class here, and importing ``dataclasses`` itself loads
# ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``), ~6 ms. A process that loads one
# object imports some sixty such classes and instantiates a third of them. ``record`` and
# ``immutable`` make the same classes from shared, precompiled methods: the field table is read
# from the annotations (strings; nothing is evaluated), ``__eq__``/``__hash__``/``__repr__``
# are generic functions driven by it, and only ``__init__`` is generated, with the same code
# a dataclass would have (so instances are built as fast), once a class has made HOT
# instances: until then a generic ``__init__`` binds the arguments (see _adaptive_init).
# ``dataclasses.fields``/``replace``/``asdict``/``is_dataclass`` work on them: the
# ``__dataclass_fields__`` they read is built on first access.


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""No default (a field's ``default``/``default_factory`` when it has none)."""


class Field:
    """One field of a record (what :func:`field` returns, and what the class keeps)."""

    __slots__ = ("compare", "default", "default_factory", "init", "kw_only", "name", "repr", "type")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        *,
        init: bool = True,
        repr: bool = True,  # dataclasses' names
        compare: bool = True,
        kw_only: Any = MISSING,
    ) -> None:
        self.name = ""
        self.type: object = None
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.compare, self.kw_only = init, repr, compare, kw_only

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] = MISSING,
    init: bool = True,
    repr: bool = True,  # dataclasses' name
    compare: bool = True,
    kw_only: bool = MISSING,
) -> Any:
    """A field's options, as :func:`dataclasses.field` takes them.

    Raises:
        ValueError: both ``default`` and ``default_factory``.
    """
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init=init, repr=repr, compare=compare, kw_only=kw_only)


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def immutable(
    cls: type | None = None, /, *, eq: bool = True, slots: bool = True, kw_only: bool = False
) -> Any:
    """Class decorator of a value type: frozen, slotted (``slots=False`` keeps a
    ``__dict__``, for ``cached_property``), with ``__eq__``/``__hash__``/``__repr__``/
    ``__match_args__``; ``@dataclass(frozen=True, slots=True)`` in effect, at a fraction of
    its import time (see the comment above)."""
    options = {"frozen": True, "slots": slots, "eq": eq, "kw_only": kw_only}
    return _make_record(cls, **options) if cls is not None else lambda c: _make_record(c, **options)


@dataclass_transform(field_specifiers=(field, Field))
def record(
    cls: type | None = None, /, *, eq: bool = True, slots: bool = False, kw_only: bool = False
) -> Any:
    """Class decorator of a mutable record (a spec, a builder's state): ``@dataclass`` in
    effect (unhashable when ``eq``), made as :func:`immutable` makes its classes."""
    options = {"frozen": False, "slots": slots, "eq": eq, "kw_only": kw_only}
    return _make_record(cls, **options) if cls is not None else lambda c: _make_record(c, **options)


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(
    cls: type | None = None,
    /,
    *,
    frozen: bool = False,
    slots: bool = False,
    eq: bool = True,
    kw_only: bool = False,
) -> Any:
    """``dataclasses.dataclass`` (the options pybpf uses), made as :func:`record` and
    :func:`immutable` make their classes: a drop-in for code written against the stdlib's
    signature (``@dataclass(frozen=True, slots=True)`` is ``@immutable``)."""
    options = {"frozen": frozen, "slots": slots, "eq": eq, "kw_only": kw_only}
    return _make_record(cls, **options) if cls is not None else lambda c: _make_record(c, **options)


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of a record (or dataclass) with some fields changed (``dataclasses.replace``).

    Raises:
        TypeError: a name that is not a field; ValueError: a field that ``__init__`` does not
            take.
    """
    cls = type(obj)
    fields: tuple[Field, ...] | None = getattr(cls, "__record_fields__", None)
    if fields is None:
        import dataclasses  # noqa: PLC0415 - a true dataclass: it is loaded already

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    for f in fields:
        if not f.init:
            if f.name in changes:
                raise ValueError(
                    f"field {f.name} is declared with init=False, it cannot be "
                    "specified with replace()"
                )
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return cls(**changes)


def _make_record(cls: type, *, frozen: bool, slots: bool, eq: bool, kw_only: bool) -> type:
    """``cls`` made again with the record's methods in its namespace (setting them one by
    one on a made class costs more: each dunder assignment updates the type's slots)."""
    fields, own = _fields(cls, kw_only)
    _check_order(cls, fields)
    namespace = dict(cls.__dict__)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    for f in own:  # a field() class attribute becomes the default (kept, as dataclasses does)
        if isinstance(namespace.get(f.name), Field):
            del namespace[f.name]
            if f.default is not MISSING:
                namespace[f.name] = f.default
    if slots and "__slots__" not in namespace:
        inherited = {n for base in cls.__mro__[1:-1] for n in base.__dict__.get("__slots__", ())}
        namespace["__slots__"] = tuple(f.name for f in fields if f.name not in inherited)
        for name in namespace["__slots__"]:
            namespace.pop(name, None)
    names = tuple(f.name for f in fields)
    made: list[type] = []
    namespace.update(
        __record_fields__=fields,
        __record_frozen__=frozen,
        __record_repr__=tuple(f.name for f in fields if f.repr),
        __match_args__=tuple(f.name for f in fields if f.init and not f.kw_only),
        __dataclass_fields__=_DataclassFields(),
        __replace__=replace,
    )
    namespace.setdefault("__init__", _adaptive_init(made))
    namespace.setdefault("__repr__", _repr)
    if eq:
        namespace["__record_key__"] = _key(tuple(f.name for f in fields if f.compare))
        namespace.setdefault("__eq__", _eq)
        if namespace.get("__hash__") is None:
            namespace["__hash__"] = _hash if frozen else None
    if frozen:
        namespace["__setattr__"], namespace["__delattr__"] = _frozen_methods(made, set(names))
        if "__slots__" in namespace:
            namespace.update(__getstate__=_getstate, __setstate__=_setstate)
    new = type(cls)(cls.__name__, cls.__bases__, namespace)
    new.__qualname__ = cls.__qualname__
    made.append(new)
    return new


_set = type.__setattr__


def _own_annotations(cls: type) -> dict[str, object]:
    found = cls.__dict__.get("__annotations__")  # noqa: RUF063 - inspect costs 5 ms
    if found is None and sys.version_info >= (3, 14):  # pragma: no cover - PEP 649
        import annotationlib  # type: ignore[import-not-found]  # noqa: PLC0415

        found = annotationlib.get_annotations(cls, format=annotationlib.Format.STRING)
    return dict(found or {})


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _fields(cls: type, kw_only: bool) -> tuple[tuple[Field, ...], list[Field]]:
    """The fields of ``cls``: its bases' records' fields, then its own annotations'."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            found[f.name] = f
    own: list[Field] = []
    for name, annotation in _own_annotations(cls).items():
        if _is_classvar(annotation):
            continue
        # the class attribute (a descriptor's class-level value, as dataclasses reads it)
        default = getattr(cls, name) if name in cls.__dict__ else MISSING
        f = default if isinstance(default, Field) else Field(default, MISSING)
        if isinstance(f.default, (list, dict, set)):
            raise ValueError(
                f"mutable default {type(f.default)} for field {name} is not "
                "allowed: use default_factory"
            )
        f.name, f.type = name, annotation
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        found[name] = f
        own.append(f)
    return tuple(found.values()), own


def _check_order(cls: type, fields: tuple[Field, ...]) -> None:
    seen_default = False
    for f in fields:
        if not f.init or f.kw_only:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(
                f"{cls.__name__}: non-default argument {f.name!r} follows default argument"
            )


def _key(names: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    """The tuple of ``names``' values of an instance (what ``__eq__`` and ``__hash__`` use),
    as a class attribute: an ``attrgetter``, or a static function (a plain one would bind)."""
    from operator import attrgetter  # noqa: PLC0415 - loaded already (enum, collections)

    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return staticmethod(lambda obj: (one(obj),))
    return staticmethod(lambda obj: ())


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return self.__record_key__(self) == other.__record_key__(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self.__record_key__(self))


_REPR_BYTES = 64  # a longer bytes value is shown by its start and length


def _repr_value(value: object) -> str:
    """``repr(value)``, but a long ``bytes``/``bytearray`` (a map's initial data, a
    section) by its first bytes and its length: a record's repr stays a line, whatever it
    holds (a 4 MiB ``.bss`` would otherwise print 16 MB of text)."""
    if isinstance(value, (bytes, bytearray)) and len(value) > _REPR_BYTES:
        return f"{value[:16]!r}...<{len(value)} bytes>"
    return repr(value)


def _repr(self: Any) -> str:
    shown = ", ".join(
        [f"{name}={_repr_value(getattr(self, name))}" for name in self.__record_repr__]
    )
    return f"{type(self).__qualname__}({shown})"


def _getstate(self: Any) -> list[object]:
    return [getattr(self, f.name) for f in self.__record_fields__]


def _setstate(self: Any, state: list[object]) -> None:
    for f, v in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, f.name, v)


def _frozen_methods(
    made: list[type], names: set[str]
) -> tuple[Callable[[Any, str, object], None], Callable[[Any, str], None]]:
    """``__setattr__``/``__delattr__`` refusing the fields (any name, on the class itself:
    ``made`` holds it once it exists)."""

    def __setattr__(self: Any, name: str, v: object) -> None:
        if type(self) is made[0] or name in names:
            raise _frozen_error(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, v)  # (a subclass's own attribute)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is made[0] or name in names:
            raise _frozen_error(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __setattr__, __delattr__


def _frozen_error(message: str) -> AttributeError:
    """``dataclasses.FrozenInstanceError`` (an ``AttributeError``): what code catching a
    dataclass's refusal expects; ``dataclasses`` is imported only on this error path."""
    from dataclasses import FrozenInstanceError  # noqa: PLC0415

    return FrozenInstanceError(message)


HOT = 128
"""Instances of a record class made through the generic ``__init__`` before its own is
compiled (see :func:`_adaptive_init`)."""


def _adaptive_init(made: list[type]) -> Callable[..., None]:
    """An ``__init__`` that binds the arguments generically (a few microseconds more per
    instance), and after :data:`HOT` instances compiles the class's own ``__init__`` (the
    code a dataclass would have) and steps aside.

    Compiling one costs 0.1-0.3 ms: most record classes a process uses make a handful of
    instances (specs, results, options), and would pay more to compile than to bind; the
    few that make thousands (instructions, BTF types, ELF symbols) get the fast one.
    """
    calls = 0
    plan: _InitPlan | None = None

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal calls, plan
        calls += 1
        if calls > HOT:
            cls = made[0]
            init = _compile_init(cls)
            _set(cls, "__init__", init)
            init(self, *args, **kwargs)
            return
        if plan is None:
            plan = _InitPlan(made[0])
        plan.bind(self, args, kwargs)

    return __init__


class _InitPlan:
    """How a record's generic ``__init__`` binds its arguments (what the compiled
    ``__init__`` does, the same errors for bad arguments included)."""

    __slots__ = ("accepted", "fields", "positional", "post_init", "store", "where")

    def __init__(self, cls: Any) -> None:
        fields: tuple[Field, ...] = cls.__record_fields__
        self.where = f"{cls.__qualname__}.__init__()"
        self.positional = tuple(f.name for f in fields if f.init and not f.kw_only)
        self.accepted = frozenset(f.name for f in fields if f.init)
        self.fields = tuple((f.name, f.init, f.default, f.default_factory) for f in fields)
        self.store = object.__setattr__ if cls.__record_frozen__ else setattr
        self.post_init = hasattr(cls, "__post_init__")

    def bind(self, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if len(args) > len(self.positional):
            raise TypeError(
                f"{self.where} takes {len(self.positional) + 1} positional arguments but "
                f"{len(args) + 1} were given"
            )
        given = dict(zip(self.positional, args, strict=False))
        for name, v in kwargs.items():
            if name in given:
                raise TypeError(f"{self.where} got multiple values for argument {name!r}")
            if name not in self.accepted:
                raise TypeError(f"{self.where} got an unexpected keyword argument {name!r}")
            given[name] = v
        store, missing = self.store, []
        for name, init, default, factory in self.fields:
            if init and name in given:
                store(obj, name, given[name])
            elif factory is not MISSING:
                store(obj, name, factory())
            elif default is not MISSING:
                store(obj, name, default)
            elif init:
                missing.append(name)
        if missing:
            raise TypeError(f"{self.where} missing {len(missing)} required argument(s): {missing}")
        if self.post_init:
            obj.__post_init__()


def _compile_init(cls: type) -> Callable[..., None]:
    """The ``__init__`` a dataclass would have, as code (built once per class)."""
    env: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": MISSING}
    frozen = cls.__record_frozen__  # type: ignore[attr-defined]
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in cls.__record_fields__:  # type: ignore[attr-defined]
        name = f.name
        if f.default is not MISSING:
            env[f"_d_{name}"] = f.default
        if f.default_factory is not MISSING:
            env[f"_f_{name}"] = f.default_factory
        if f.init:
            if f.default is not MISSING:
                param = f"{name}=_d_{name}"
            elif f.default_factory is not MISSING:
                param = f"{name}=_MISSING"
                body.append(f" if {name} is _MISSING: {name} = _f_{name}()")
            else:
                param = name
            (keyword if f.kw_only else positional).append(param)
            source = name
        elif f.default_factory is not MISSING:
            source = f"_f_{name}()"
        elif f.default is not MISSING:
            source = f"_d_{name}"
        else:
            continue
        body.append(f" _set(self, {name!r}, {source})" if frozen else f" self.{name} = {source}")
    if hasattr(cls, "__post_init__"):
        body.append(" self.__post_init__()")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    exec(f"def __init__({params}) -> None:\n" + "\n".join(body or [" pass"]), env)
    made: Callable[..., None] = env["__init__"]
    made.__qualname__ = f"{cls.__qualname__}.__init__"
    return made


class _DataclassFields:
    """A record's ``__dataclass_fields__``, made on first access (by ``dataclasses.fields``,
    ``replace``, ``asdict``, ``is_dataclass``) from a plain dataclass of the same fields."""

    def __get__(self, obj: object, owner: type) -> dict[str, Any]:
        import dataclasses  # noqa: PLC0415 - whoever asks has imported it

        annotations: dict[str, object] = {}
        namespace: dict[str, object] = {"__annotations__": annotations}
        for f in owner.__record_fields__:  # type: ignore[attr-defined]
            annotations[f.name] = f.type
            namespace[f.name] = dataclasses.field(
                default=dataclasses.MISSING if f.default is MISSING else f.default,
                default_factory=(
                    dataclasses.MISSING if f.default_factory is MISSING else f.default_factory
                ),
                init=f.init,
                repr=f.repr,
                compare=f.compare,
                kw_only=f.kw_only,
            )
        twin: Any = dataclasses.dataclass(type(owner.__name__, (), namespace), eq=False)
        found: dict[str, Any] = twin.__dataclass_fields__
        _set(owner, "__dataclass_fields__", found)
        return found
