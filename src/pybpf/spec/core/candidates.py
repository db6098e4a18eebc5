"""Finding the target types a local type may relocate to (libbpf's ``bpf_core_find_cands``).

A candidate has the local type's kind (an enum may also be an enum64 and the reverse) and the
same *essential* name: ``task_struct``, ``task_struct___old`` and ``task_struct___v2`` are all
candidates of one another. vmlinux is searched first; kernel modules' BTF only when vmlinux
has no candidate at all, each module's own types in the order given.

Lookups are remembered per target BTF (weakly: the memo goes with the BTF object), so
relocating again against the same kernel BTF costs no search. A module whose BTF turns out
to be malformed is skipped, not fatal: broken module BTF must not break a load.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence

from pybpf._records import immutable
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import Kind
from pybpf.errors import BTFError
from pybpf.spec.core.compat import essential_name
from pybpf.spec.core.errors import CoreError

__all__ = ["Candidate", "Target", "find_candidates", "make_targets"]

_ENUMS = (Kind.ENUM, Kind.ENUM64)


@immutable(eq=False)
class Target:
    """A BTF that candidates are searched in: vmlinux, or a module's split BTF (whose
    ``name`` is the module's, as libbpf's log names it)."""

    btf: BTF
    name: str = "vmlinux"


@immutable
class Candidate:
    """A target type that a local type may relocate to."""

    target: Target
    type_id: int

    @property
    def btf(self) -> BTF:
        return self.target.btf


def make_targets(target: BTF | Sequence[BTF] | Mapping[str, BTF]) -> tuple[Target, ...]:
    """The targets to search, in order: vmlinux first, then modules.

    ``target`` is one BTF (vmlinux, or any BTF standing in for it: no modules are searched),
    a sequence (vmlinux, then module BTFs split on it; a module is named after the last part
    of its BTF's ``source``, as in ``/sys/kernel/btf/<module>``), or a mapping of names to
    BTFs whose first entry is vmlinux.

    Raises:
        ValueError: no target at all.
        TypeError: something that is not a BTF.
    """
    if isinstance(target, BTF):
        return (Target(target),)
    items = list(target.items()) if isinstance(target, Mapping) else [("", b) for b in target]
    if not items:
        raise ValueError("no target BTF to relocate against")
    for _, btf in items:
        if not isinstance(btf, BTF):
            raise TypeError(f"target must be a BTF, not {type(btf).__name__}")
    pairs = [(name or _module_name(btf), btf) for name, btf in items]
    first, *rest = pairs
    return (Target(first[1]), *(Target(btf, name) for name, btf in rest))


def _module_name(btf: BTF) -> str:
    return btf.source.rstrip("/").rsplit("/", 1)[-1]


class _Memo:
    """What was looked up in one target BTF: ``(essential name, kind)`` -> ids, and for
    module BTF an index of its own types by essential name (built on first use)."""

    __slots__ = ("found", "own")

    def __init__(self) -> None:
        self.found: dict[tuple[str, Kind], tuple[int, ...]] = {}
        self.own: dict[tuple[str, Kind], list[int]] | None = None


_MEMOS: weakref.WeakKeyDictionary[BTF, _Memo] = weakref.WeakKeyDictionary()


def _memo(btf: BTF) -> _Memo:
    memo = _MEMOS.get(btf)
    if memo is None:
        memo = _MEMOS[btf] = _Memo()
    return memo


def _kind_key(kind: Kind) -> Kind:
    return Kind.ENUM if kind in _ENUMS else kind


def find_candidates(local_btf: BTF, local_id: int, targets: Sequence[Target]) -> list[Candidate]:
    """Candidates of local type ``local_id``, in libbpf's order (ascending ids in vmlinux;
    else module by module).

    Raises:
        CoreError: the local type is anonymous (libbpf cannot relocate it) or out of range.
    """
    local_t = local_btf.get(local_id)
    if local_t is None:
        raise CoreError(f"local type id {local_id} out of range", source=local_btf.source)
    if not local_t.name:
        raise CoreError(
            f"target candidate search failed for [{local_id}] {local_t.kind.name.lower()} "
            "<anon>: anonymous types cannot be relocated",
            source=local_btf.source,
        )
    key = (essential_name(local_t.name), _kind_key(local_t.kind))
    main, *modules = targets
    found = [Candidate(main, i) for i in _search_main(main.btf, key)]
    if found:
        return found
    for module in modules:
        found += [Candidate(module, i) for i in _search_module(module.btf, key)]
    return found


def _search_main(btf: BTF, key: tuple[str, Kind]) -> tuple[int, ...]:
    memo = _memo(btf)
    ids = memo.found.get(key)
    if ids is None:
        essential, kind = key
        ids = memo.found[key] = tuple(
            i
            for i in btf.find_flavors(essential)
            if _kind_key(btf.kind_of(i)) is kind and essential_name(btf.name_of(i)) == essential
        )
    return ids


def _search_module(btf: BTF, key: tuple[str, Kind]) -> list[int]:
    memo = _memo(btf)
    if memo.own is None:
        try:
            memo.own = _index_own(btf)
        except BTFError:
            memo.own = {}  # malformed module BTF: no candidates from it
    return memo.own.get(key, [])


def _index_own(btf: BTF) -> dict[tuple[str, Kind], list[int]]:
    """Own types by (essential name, kind); every record is decoded first, so a malformed
    module is found out here (and skipped) rather than in the middle of a relocation."""
    btf.validate()
    index: dict[tuple[str, Kind], list[int]] = {}
    for type_id in range(btf.start_id, len(btf)):
        name = btf.name_of(type_id)
        if name:
            key = (essential_name(name), _kind_key(btf.kind_of(type_id)))
            index.setdefault(key, []).append(type_id)
    return index
