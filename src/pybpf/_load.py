"""``pybpf.load``: an eBPF object file (or spec) into the kernel, as libbpf loads it.

Example::

    import pybpf

    with pybpf.load("bootstrap.bpf.o") as coll:
        coll.variables["min_duration_ns"]          # .rodata knob, frozen after load
        exec_start = coll.maps["exec_start"]       # a HashMap
        handle_exec = coll.programs["handle_exec"] # a Program, ready to attach

To change what the object says before loading (map sizes, ``const volatile`` knobs, which
programs load), read the spec first, edit it, and load that::

    spec = pybpf.spec.load_collection_spec("bootstrap.bpf.o")
    spec.variables["min_duration_ns"].value = (10**6).to_bytes(8, "little")
    coll = pybpf.load(spec)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.btf._btf import BTF
    from pybpf.objects.collection import Collection
    from pybpf.objects.map import Map
    from pybpf.spec.core.relocate import Targets
    from pybpf.spec.specs import CollectionSpec

__all__ = ["load"]

PathLike = str | os.PathLike[str]


def load(
    source: PathLike | bytes | CollectionSpec,
    *,
    programs: Iterable[str] | None = None,
    pin_root: str = "/sys/fs/bpf",
    kconfig: Mapping[str, str | int | bool] | str | None = None,
    btf: PathLike | BTF | Iterable[BTF] | Mapping[str, BTF] | None = None,
    maps: Mapping[str, Map] | None = None,
    attach_programs: Mapping[str, object] | None = None,
    log_level: int = 0,
) -> Collection:
    """Load an eBPF object (a path, its bytes, or a :class:`~pybpf.spec.CollectionSpec`)
    and return the :class:`~pybpf.objects.Collection` of its maps, programs and variables.

    Does what libbpf does at load: CO-RE against the running kernel's BTF (vmlinux and
    modules), ``.kconfig`` values, ksym and kfunc resolution, global data, BTF sanitised for
    the kernel, maps pinned by name, prog arrays and maps of maps filled, struct_ops laid
    out (see :meth:`~pybpf.objects.Collection.load`).

    Args:
        programs: load only these programs (and the maps they use); default: every
            program with ``autoload``.
        pin_root: the directory of maps pinned ``BY_NAME`` (``LIBBPF_PIN_BY_NAME``).
        kconfig: kconfig values taking precedence over the kernel's config
            (``{"CONFIG_HZ": 1000}`` or ``.config`` text).
        btf: BTF to apply CO-RE against instead of the running kernel's: a path (raw BTF
            or an ELF file with ``.BTF``), a BTF, or vmlinux then module BTFs.
        maps: existing maps to use instead of creating the ones of those names.
        attach_programs: for ``freplace`` programs, the program (or fd) each extends.
        log_level: the verifier log level of every program load.

    Raises:
        OSError: the file cannot be read.
        ELFError, BTFError: a malformed object.
        SpecError, CoreError, VerifierError, NotSupportedError, SyscallError: as
            :meth:`~pybpf.objects.Collection.load`.
    """
    from pybpf.objects.collection import Collection  # noqa: PLC0415 - keeps import pybpf light
    from pybpf.spec.specs import CollectionSpec  # noqa: PLC0415

    if isinstance(source, CollectionSpec):
        spec = source
    else:
        from pybpf.spec.loader import load_collection_spec  # noqa: PLC0415

        spec = load_collection_spec(source)
    return Collection.load(
        spec,
        programs=programs,
        maps=maps,
        pin_root=pin_root,
        kconfig=kconfig,
        btf=_targets(btf),
        attach_programs=attach_programs,
        log_level=log_level,
    )


def _targets(
    btf: PathLike | BTF | Iterable[BTF] | Mapping[str, BTF] | None,
) -> Targets | None:
    """The CO-RE target of ``btf=``: a path is read (raw BTF or an ELF file's ``.BTF``)."""
    from pybpf.btf._btf import BTF  # noqa: PLC0415
    from pybpf.btf._load import load_path  # noqa: PLC0415

    if btf is None or isinstance(btf, (BTF, Mapping)):
        return btf
    if isinstance(btf, (str, os.PathLike)):
        return load_path(btf)
    return list(btf)
