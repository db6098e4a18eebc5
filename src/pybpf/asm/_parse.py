"""Template → parser: turns one tokenized line into a table row and its fields.

Every template of the table (the lossless spelling, the aliases, the llvm-objdump text) is
compiled once, on first use, into a list of matchers. Templates are indexed by the key of
their first (up to three) tokens — ``("r", "+=")``, ``("lock", "fetch", "add")`` — so a line
is tried against the handful of templates that can match it, not against all of them.

When no template matches, the failure that got furthest wins, and a semantic failure (a
number out of range, a register that does not exist) beats a mismatch of shape, so the
message names the real problem.
"""

from __future__ import annotations

from functools import cache

from pybpf._records import immutable
from pybpf.asm._lex import Tok, tokenize
from pybpf.asm._match import (
    LabelRef,
    Lit,
    Matcher,
    Miss,
    Reg,
    State,
    XOff,
    at,
    show,
    slot_matcher,
)
from pybpf.asm._template import Slot, Syntax, split
from pybpf.asm.opcodes import OPS, Kind, Op

__all__ = ["Failure", "LabelRef", "Parsed", "parse"]


class Failure(Exception):
    """No template matched the line; ``col`` (1-based; past the last token for "end of
    line") says where."""

    def __init__(self, col: int, reason: str) -> None:
        super().__init__(reason)
        self.col = col
        self.reason = reason


@immutable
class Parsed:
    """A parsed instruction line: its row, raw field values, and an unresolved label."""

    op: Op
    fields: dict[str, int]
    label: LabelRef | None


# -- templates ---------------------------------------------------------------------------------


@immutable(eq=False)
class _Template:
    """One compiled spelling of one row."""

    op: Op
    text: str
    items: tuple[Matcher, ...]
    keys: tuple[tuple[str, ...], ...]
    commas: tuple[int, int]  # the fewest and most commas a matching line has
    rank: tuple[int, int]

    def match(self, toks: list[Tok]) -> State:
        st = State()
        i = 0
        for item in self.items:
            i = item.match(toks, i, st)
        if i < len(toks):
            raise Miss(i, f"unexpected `{toks[i].text}`")
        return st


def _compile(text: str, op: Op, syntax: Syntax, rank: tuple[int, int]) -> _Template:
    items: list[Matcher] = []
    for part in split(text):
        if isinstance(part, Slot):
            items.append(slot_matcher(part, op, syntax))
            continue
        for tok in tokenize(part):
            msg = (
                "expected a memory operand like [%r1+8]"
                if syntax == "ubpf" and tok.text == "["
                else None
            )
            items.append(Lit(tok, msg))
    commas = sum(1 for it in items if isinstance(it, Lit) and it.tok.text == ",")
    extra = sum(1 for it in items if isinstance(it, XOff))
    return _Template(op, text, tuple(items), _keys(items), (commas, commas + extra), rank)


def _keys(items: list[Matcher]) -> tuple[tuple[str, ...], ...]:
    """The index keys: the key classes of the leading single-token items (up to 3)."""
    keys: list[tuple[str, ...]] = [()]
    for item in items[:3]:
        if isinstance(item, Lit):
            choices = [item.tok.key]
        elif isinstance(item, Reg):
            choices = ["%r"] if item.letters == "%" else list(item.letters)
        else:
            break
        keys = [(*k, c) for k in keys for c in choices]
    return tuple(keys)


# The kernel verifier prints a plain lddw without ``ll`` (``(18) r1 = 0x1234``); that reads
# as a mov unless the opcode says otherwise, so it is only tried under a ``(18)`` prefix.
_VERIFIER_LDDW = "{dst64} = {imm64}"


def _spellings(op: Op, syntax: Syntax) -> list[tuple[int, str]]:
    """(tier, template) pairs: the lossless spelling first, then aliases, then objdump's."""
    if syntax == "ubpf":
        return [(0, op.ubpf)] + [(1, a) for a in op.aliases]
    out = [(0, op.llvm)] + [(1, a) for a in op.llvm_aliases]
    if op.kind is Kind.LDDW and op.key is not None and op.key[1] != 0:
        out.append((2, op.llvm.removesuffix(" ll")))  # pseudo forms: ``ll`` may be left out
    if op.objdump is not None and op.objdump != "<unknown>":
        out.append((3, op.objdump))
    return out


class _Grammar:
    """All compiled templates of one syntax, indexed by key."""

    def __init__(self, syntax: Syntax) -> None:
        self.syntax = syntax
        self.index: dict[tuple[str, ...], list[_Template]] = {}
        self.prefixes: dict[tuple[str, ...], list[_Template]] = {}  # proper key prefixes
        self.by_code: dict[int, list[_Template]] = {}
        self._cache: dict[tuple[str, ...], list[_Template]] = {}
        # line shape -> the template that matched it, when every template ranked before it
        # missed because of the shape alone: lines of that shape can try it first
        self.memo: dict[tuple[str, ...], _Template] = {}
        for n, op in enumerate(OPS):
            for tier, text in _spellings(op, syntax):
                self._add(_compile(text, op, syntax, (tier, n)))
        for op in OPS:
            if syntax == "llvm" and op.kind is Kind.LDDW and op.key == ("src", 0):
                tpl = _compile(_VERIFIER_LDDW, op, syntax, (9, 0))
                self.by_code.setdefault(op.code, []).append(tpl)

    def _add(self, tpl: _Template) -> None:
        for key in tpl.keys:
            self.index.setdefault(key, []).append(tpl)
            for n in range(1, len(key)):
                self.prefixes.setdefault(key[:n], []).append(tpl)

    def candidates(self, key: tuple[str, ...]) -> list[_Template]:
        found = self._cache.get(key)
        if found is None:
            found = []
            for n in range(min(3, len(key)), 0, -1):
                found += self.index.get(key[:n], ())
            if len(key) < 3:  # a short line: also the templates it is the start of
                found += self.prefixes.get(key, ())
            found = sorted(set(found), key=lambda t: t.rank)
            self._cache[key] = found
        return found


@cache
def _grammar(syntax: Syntax) -> _Grammar:
    return _Grammar(syntax)


# -- entry point -------------------------------------------------------------------------------

_MEMO_MAX = 4096


def parse(toks: list[Tok], syntax: Syntax, code: int | None = None) -> Parsed:
    """Parse one instruction (labels and prefixes already removed).

    ``code`` is the opcode the line claims (the ``(b7)`` of a verifier log line, or the
    first byte of an llvm-objdump listing line): only rows with that opcode are tried.

    Raises:
        Failure: no spelling of any row matches, with the column of the problem.
    """
    g = _grammar(syntax)
    shape = tuple(t.key for t in toks)
    if code is None:
        known = g.memo.get(shape)
        if known is not None:
            try:
                st = known.match(toks)
            except Miss:
                pass
            else:
                return Parsed(known.op, st.fields, st.label)
    key = shape[:3]
    cands = g.candidates(key)
    if code is not None:
        cands = [t for t in cands if t.op.code == code] + g.by_code.get(code, [])
    if not cands:
        raise _no_candidates(g, toks, key, code)
    misses: list[Miss] = []
    for tpl in cands:
        try:
            st = tpl.match(toks)
        except Miss as miss:
            misses.append(miss)
            continue
        if code is None and all(m.shape for m in misses):
            if len(g.memo) > _MEMO_MAX:
                g.memo.clear()
            g.memo[shape] = tpl
        return Parsed(tpl.op, st.fields, st.label)
    best = max(misses, key=lambda m: (m.semantic, m.index))
    if not best.semantic:  # for the message: what the near misses expected too
        misses += _near_misses(g, key, toks, cands)
        best = max(misses, key=lambda m: (m.semantic, m.index))
    if syntax == "ubpf" and not best.semantic:
        _check_operand_count(toks, cands)
    raise Failure(_col(toks, best.index), _reason(best, misses, toks))


def _near_misses(
    g: _Grammar, key: tuple[str, ...], toks: list[Tok], tried: list[_Template]
) -> list[Miss]:
    """Misses of the templates that share all but the last of the line's key tokens."""
    near = g.prefixes.get(key[:-1], []) if len(key) > 1 else []
    out: list[Miss] = []
    for tpl in near:
        if tpl in tried:
            continue
        try:
            tpl.match(toks)
        except Miss as miss:
            out.append(miss)
    return out


def _reason(best: Miss, misses: list[Miss], toks: list[Tok]) -> str:
    """The reason of the best miss; several "expected X" at the same token are merged."""
    if best.semantic:
        return best.reason
    found = f", found {show(at(toks, best.index))}"
    wants: list[str] = []
    for m in misses:
        if m.index == best.index and not m.semantic and m.reason.endswith(found):
            want = m.reason.removesuffix(found).removeprefix("expected ")
            if m.reason.startswith("expected ") and want not in wants:
                wants.append(want)
    if len(wants) < 2:
        return best.reason
    if len(wants) > 4:
        return f"unexpected {show(at(toks, best.index))}"
    return f"expected {' or '.join(wants)}{found}"


def _col(toks: list[Tok], i: int) -> int:
    if i < len(toks):
        return toks[i].col
    return toks[-1].col + len(toks[-1].text) if toks else 1


def _no_candidates(g: _Grammar, toks: list[Tok], key: tuple[str, ...], code: int | None) -> Failure:
    if code is not None and g.candidates(key):
        return Failure(toks[0].col, f"the instruction does not have opcode ({code:02x})")
    known = [k for k in range(1, len(key) + 1) if key[:k] in g.prefixes or key[:k] in g.index]
    n = max(known, default=0)
    if n == 0:
        word = "mnemonic" if g.syntax == "ubpf" else "instruction"
        return Failure(toks[0].col, f"unknown {word} `{toks[0].text}`")
    return Failure(_col(toks, n), f"unexpected {show(at(toks, n))}")


def _check_operand_count(toks: list[Tok], cands: list[_Template]) -> None:
    commas = sum(1 for t in toks if t.text == ",")
    if any(lo <= commas <= hi for lo, hi in (t.commas for t in cands)):
        return
    want = sorted({n + 1 for t in cands for n in range(t.commas[0], t.commas[1] + 1)})
    got = commas + 1 if len(toks) > 1 else 0
    expected = " or ".join(map(str, want))
    raise Failure(
        toks[0].col,
        f"wrong number of operands for `{toks[0].text}`: expected {expected}, got {got}",
    )
