"""Exception callbacks: ``__exception_cb(fn)`` on a program (``bpf_throw()``'s handler).

As libbpf's ``bpf_prog_assign_exc_cb``: a ``DECL_TAG`` named ``exception_callback:NAME`` on
a program's global ``FUNC`` names the ``.text`` function the verifier runs when the program
throws; the function is appended to the program even if nothing calls it. Objects without
such a tag (nearly all) cost one search of the BTF strings.
"""

from __future__ import annotations

from pybpf.btf._btf import BTF
from pybpf.btf.kinds import FuncLinkage, Kind
from pybpf.btf.types import DeclTag, Func
from pybpf.elf import STB
from pybpf.errors import BTFError, Location
from pybpf.spec._programs import Function, Functions

__all__ = ["exception_callbacks"]

_PREFIX = "exception_callback:"


def exception_callbacks(btf: BTF | None, funcs: Functions) -> dict[str, Function]:
    """The exception callback of each program that declares one, by program name.

    Raises:
        BTFError: a tag on something that is not a global function, an empty name, a
            callback that is not a global, non-hidden ``.text`` function, or none at all.
    """
    if btf is None or _PREFIX.encode() not in btf.strings:
        return {}
    tagged: dict[str, list[str]] = {}
    for type_id in range(btf.start_id, len(btf)):
        if btf.kind_of(type_id) != Kind.DECL_TAG:
            continue
        tag = btf[type_id]
        if isinstance(tag, DeclTag) and tag.component_idx == -1 and tag.name.startswith(_PREFIX):
            func = btf.get(tag.type)
            if not isinstance(func, Func) or func.linkage != FuncLinkage.GLOBAL:
                raise _error(btf, f"{tag.name!r} is not on a program's global function")
            tagged.setdefault(func.name, []).append(tag.name[len(_PREFIX) :])
    text = [f for f in funcs.all() if f.section.name == ".text"]
    found = {}
    for prog, names in tagged.items():
        if len(names) == 1:  # several: libbpf appends none, and the verifier says why
            found[prog] = _callback(btf, prog, names[0], text)
    return found


def _callback(btf: BTF, prog: str, name: str, text: list[Function]) -> Function:
    if not name:
        raise _error(btf, f"program {prog!r}: exception_callback tag with an empty name")
    matches = [f for f in text if f.name == name]
    if not matches:
        raise _error(btf, f"program {prog!r}: no exception callback {name!r} in .text")
    func = matches[0]
    if func.symbol.bind == STB.LOCAL or func.hidden or len(matches) > 1:
        raise _error(
            btf, f"program {prog!r}: exception callback {name!r} must be one global function"
        )
    return func


def _error(btf: BTF, reason: str) -> BTFError:
    return BTFError(reason, Location(btf.source))
