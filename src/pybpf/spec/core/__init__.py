"""CO-RE: libbpf's relocation engine as a pure function, ``spec + target BTF -> relocated spec``.

A BPF program compiled with ``__builtin_preserve_access_index`` (``BPF_CORE_READ``,
``bpf_core_field_exists``, ``bpf_core_type_size``, ``bpf_core_enum_value`` ...) records, for
each instruction that depends on a kernel type's layout, a CO-RE relocation: the local type
(in the program's BTF), an access string and a kind. Relocating adapts each such
instruction to the kernel the program will run on, given that kernel's BTF::

    from pybpf.btf._btf import BTF
    from pybpf.spec.core import relocate

    vmlinux = BTF.from_path("/sys/kernel/btf/vmlinux")
    relocated, results = relocate(collection_spec, vmlinux)

All 13 relocation kinds of libbpf are supported, with libbpf's candidate rules (flavors
``___suffix``, compatibility, ambiguity errors, vmlinux before modules), its values and
instruction patches, and its poisoning of relocations that find no target. Each
:class:`CoreResult` carries the debug lines libbpf prints for the same relocation.
See https://docs.kernel.org/bpf/llvm_reloc.html#co-re-relocations.
"""

from __future__ import annotations

from pybpf.spec.core.access import (
    Accessor,
    CoreSpec,
    format_spec,
    parse_spec,
)
from pybpf.spec.core.calc import CoreValues, calc_values
from pybpf.spec.core.candidates import Candidate, Target, find_candidates, make_targets
from pybpf.spec.core.compat import (
    essential_name,
    fields_are_compat,
    types_are_compat,
    types_match,
)
from pybpf.spec.core.errors import CoreError
from pybpf.spec.core.match import match_spec
from pybpf.spec.core.patch import POISON_HELPER, patch_insn, poison_insn
from pybpf.spec.core.relocate import (
    CoreResult,
    explain_verifier_log,
    relocate,
    relocate_program,
)
from pybpf.spec.core.resolve import CandidateCache, Resolution, resolve

__all__ = [
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
]
