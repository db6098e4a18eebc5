"""The public surface of pybpf.spec.core, pinned."""

from __future__ import annotations

from pybpf.errors import BTFError, ParseError
from pybpf.spec import core

PUBLIC = {
    "POISON_HELPER",
    "Accessor",
    "Candidate",
    "CandidateCache",
    "CoreError",
    "CoreResult",
    "CoreSpec",
    "CoreValues",
    "Resolution",
    "Target",
    "calc_values",
    "essential_name",
    "explain_verifier_log",
    "fields_are_compat",
    "find_candidates",
    "format_spec",
    "make_targets",
    "match_spec",
    "parse_spec",
    "patch_insn",
    "poison_insn",
    "relocate",
    "relocate_program",
    "resolve",
    "types_are_compat",
    "types_match",
}


def test_all_is_pinned() -> None:
    assert set(core.__all__) == PUBLIC
    assert all(hasattr(core, name) for name in core.__all__)


def test_core_error_is_a_btf_parse_error() -> None:
    assert issubclass(core.CoreError, BTFError) and issubclass(core.CoreError, ParseError)
    assert core.CoreError.__doc__ and "libbpf" in core.CoreError.__doc__


def test_poison_is_libbpfs() -> None:
    assert core.POISON_HELPER == 195896080  # 0xbad2310, "bad relo"
