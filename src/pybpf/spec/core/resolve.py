"""Resolving one relocation against its candidates (libbpf's ``bpf_core_calc_relo_insn``).

Every candidate is matched; the matching ones must agree (same bit offset, same value, same
poison decision) or the relocation is ambiguous and fails. The candidates that matched
replace the local type's candidate list for the rest of the run (libbpf prunes it the same
way, so later relocations of that type only see the types that matched before). When none
matches, the relocation is computed against "no target": existence checks become 0, sizes
and type ids 0, and offsets poison their instruction.
"""

from __future__ import annotations

from collections.abc import Sequence

from pybpf._records import immutable
from pybpf.btf._btf import BTF
from pybpf.spec.core.access import CoreSpec, format_spec, parse_spec
from pybpf.spec.core.calc import CoreValues, calc_values
from pybpf.spec.core.candidates import Candidate, Target, find_candidates
from pybpf.spec.core.compat import kind_name
from pybpf.spec.core.errors import CoreError
from pybpf.spec.core.match import match_spec
from pybpf.spec.specs import CoreRelo, CoreReloKind

__all__ = ["CandidateCache", "Resolution", "resolve"]


_SpecKey = tuple[int, int, str, CoreReloKind]  # local BTF, type id, access string, kind
_Match = tuple[bool, CoreSpec, str, CoreValues | None]
_Memo = tuple[CoreSpec, bool, CoreSpec, str, CoreValues | None]  # the local spec first


class CandidateCache:
    """The state of one relocation run: the candidate list of each local type (libbpf's
    ``cand_cache``, pruned as relocations match), and memos of work that depends only on
    its inputs (a local spec parsed, a spec matched against a candidate), since programs
    repeat the same accesses many times.

    Keyed by the local BTF object and type id; the first search of a type logs the
    candidates found, as libbpf does.
    """

    def __init__(self, targets: Sequence[Target]) -> None:
        self.targets = tuple(targets)
        self._lists: dict[tuple[int, int], list[Candidate]] = {}
        self._btfs: dict[int, BTF] = {}  # keeps each keyed BTF alive, so ids stay unique
        self._specs: dict[_SpecKey, tuple[CoreSpec, str]] = {}
        self._matches: dict[tuple[int, int, int, bool], _Memo] = {}

    def local_spec(self, btf: BTF, relo: CoreRelo, kind: CoreReloKind) -> tuple[CoreSpec, str]:
        """The relocation's parsed local spec and its text.

        Raises:
            CoreError: the access string does not parse against the type.
        """
        key = (id(btf), relo.type_id, relo.access, kind)
        found = self._specs.get(key)
        if found is None:
            spec = parse_spec(btf, relo.type_id, relo.access, kind)
            found = self._specs[key] = (spec, format_spec(spec))
            self._btfs[id(btf)] = btf
        return found

    def match(self, local: CoreSpec, cand: Candidate, little_endian: bool) -> _Match:
        """Whether ``local`` matches ``cand``, the target spec (and its text), and the values
        computed against it when it matches.

        Raises:
            CoreError: as :func:`~pybpf.spec.core.match.match_spec` and
                :func:`~pybpf.spec.core.calc.calc_values`.
        """
        key = (id(local), id(cand.btf), cand.type_id, little_endian)
        found = self._matches.get(key)
        if found is None or found[0] is not local:
            matched, spec = match_spec(local, cand.btf, cand.type_id)
            values = calc_values(local, spec, little_endian) if matched else None
            found = self._matches[key] = (local, matched, spec, format_spec(spec), values)
        return found[1:]

    def get(self, local_btf: BTF, local_id: int, log: list[str]) -> list[Candidate]:
        """The current candidate list of a local type (searched on first use).

        Raises:
            CoreError: the local type is anonymous or out of range.
        """
        key = (id(local_btf), local_id)
        cands = self._lists.get(key)
        if cands is None:
            cands = find_candidates(local_btf, local_id, self.targets)
            self._lists[key] = cands
            self._btfs[id(local_btf)] = local_btf
            log += _found_lines(local_btf, local_id, cands)
        return cands


def _found_lines(local_btf: BTF, local_id: int, cands: list[Candidate]) -> list[str]:
    lt = local_btf[local_id]
    head = f"CO-RE relocating [{local_id}] {kind_name(lt)} {lt.name}: found target candidate"
    lines = []
    for cand in cands:
        t = cand.btf[cand.type_id]
        lines.append(f"{head} [{cand.type_id}] {kind_name(t)} {t.name} in [{cand.target.name}]")
    return lines


@immutable
class Resolution:
    """How one relocation resolved: the local spec, the chosen target's spec (``None``
    when no candidate matched, or for ``TYPE_ID_LOCAL``), the target type, the values to
    patch, and libbpf's log lines up to (not including) the patch. ``local_text`` and
    ``target_text`` are the specs as :func:`~pybpf.spec.core.access.format_spec` gives."""

    local: CoreSpec
    target: CoreSpec | None
    candidate: Candidate | None
    values: CoreValues
    log: tuple[str, ...]
    local_text: str
    target_text: str | None = None


def resolve(
    relo: CoreRelo,
    local_btf: BTF,
    cache: CandidateCache,
    *,
    prefix: str = "",
    little_endian: bool = True,
) -> Resolution:
    """Resolve ``relo`` (whose type is in ``local_btf``) against the cache's targets.

    ``prefix`` starts each of the relocation's own log lines (``"prog 'x': relo #3: "``).

    Raises:
        CoreError: a bad access string or type id, an anonymous type, ambiguous
            candidates, or any error of matching or computing the values.
    """
    kind = _kind(relo.kind)
    log: list[str] = []
    t = local_btf.get(relo.type_id)
    if t is None:
        raise CoreError(f"local type id {relo.type_id} out of range (BTF has {len(local_btf)})")
    cands = []
    if kind is not CoreReloKind.TYPE_ID_LOCAL:
        cands = cache.get(local_btf, relo.type_id, log)
    try:
        local, text = cache.local_spec(local_btf, relo, kind)
    except CoreError as exc:
        raise CoreError(
            f"parsing [{relo.type_id}] {kind_name(t)} {t.name or '<anon>'} + {relo.access} "
            f"failed: {exc.reason}"
        ) from exc
    log.append(prefix + text)
    if kind is CoreReloKind.TYPE_ID_LOCAL:
        values = CoreValues(relo.type_id, relo.type_id, validate=False)
        return Resolution(local, None, None, values, tuple(log), text)
    best = _choose(local, cands, cache, log, prefix=prefix, little_endian=little_endian)
    if best is None:
        log.append(f"{prefix}no matching targets found")
        values = calc_values(local, None, little_endian)
        return Resolution(local, None, None, values, tuple(log), text)
    cand, spec, values, targ_text = best
    return Resolution(local, spec, cand, values, tuple(log), text, targ_text)


def _kind(kind: int) -> CoreReloKind:
    try:
        return CoreReloKind(kind)
    except ValueError:
        raise CoreError(f"unrecognized CO-RE relocation kind {kind!r}") from None


_Best = tuple[Candidate, CoreSpec, CoreValues, str]


def _choose(
    local: CoreSpec,
    cands: list[Candidate],
    cache: CandidateCache,
    log: list[str],
    *,
    prefix: str,
    little_endian: bool,
) -> _Best | None:
    """Match every candidate; the first match, after checking the others agree with it."""
    best: _Best | None = None
    kept: list[Candidate] = []
    for i, cand in enumerate(cands):
        matched, spec, text, values = cache.match(local, cand, little_endian)
        log.append(f"{prefix}{'matching' if matched else 'non-matching'} candidate #{i} {text}")
        if values is None:
            continue
        if best is None:
            best = (cand, spec, values, text)
        else:
            _check_agree(best[1], best[2], spec, values)
        kept.append(cand)
    if best is not None:
        cands[:] = kept
    return best


def _check_agree(spec: CoreSpec, values: CoreValues, other: CoreSpec, got: CoreValues) -> None:
    if other.bit_offset != spec.bit_offset:
        raise CoreError(f"field offset ambiguity: {other.bit_offset} != {spec.bit_offset}")
    if got.poison != values.poison or got.new != values.new:
        raise CoreError(
            f"relocation decision ambiguity: {_decision(got)} {got.new} != "
            f"{_decision(values)} {values.new}"
        )


def _decision(values: CoreValues) -> str:
    return "failure" if values.poison else "success"
