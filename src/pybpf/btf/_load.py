"""Reading BTF from files: an ELF object's ``.BTF`` section, or a raw BTF file.

The only file I/O of :mod:`pybpf.btf` besides the index cache; everything else works on
bytes. libbpf's ``btf__parse`` decides the same way: a file starting with the BTF magic (in
either byte order) is raw BTF, anything else is read as ELF.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from os import PathLike

from pybpf._records import field, immutable
from pybpf.btf._btf import BTF
from pybpf.btf.kinds import BTF_MAGIC
from pybpf.errors import BTFError, Location

__all__ = ["KernelBTF", "is_raw_btf", "load_bytes", "load_kernel_btf", "load_path"]

_RAW_MAGICS = (BTF_MAGIC.to_bytes(2, "little"), BTF_MAGIC.to_bytes(2, "big"))


def is_raw_btf(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` starts with the BTF magic (rather than being, say, an ELF file)."""
    return bytes(data[:2]) in _RAW_MAGICS


def load_bytes(data: bytes | bytearray | memoryview, *, name: str, base: BTF | None = None) -> BTF:
    """Parse raw BTF, or the ``.BTF`` section of an ELF file.

    Raises:
        ELFError: ``data`` is neither raw BTF nor a well-formed ELF file.
        BTFError: an ELF file without a ``.BTF`` section, or malformed BTF.
    """
    if is_raw_btf(data):
        return BTF(data, base=base, name=name)
    from pybpf.elf import ELFFile  # noqa: PLC0415 - raw BTF (vmlinux) does not need it

    elf = ELFFile(data, name=name, any_machine=True)
    sec = elf.get_section_by_name(".BTF")
    if sec is None:
        raise BTFError("no .BTF section", Location(name))
    return BTF(sec.data, base=base, name=f"{name}:.BTF", pointer_size=8)


def load_path(path: str | PathLike[str], *, base: BTF | None = None, cache: bool = False) -> BTF:
    """Read a file and parse its BTF (see :func:`load_bytes`); ``cache`` as for
    :func:`pybpf.btf.cache.load_cached` (raw files only).

    Raises:
        OSError: the file cannot be read.
        ELFError, BTFError: as for :func:`load_bytes`.
    """
    name = os.fspath(path)
    data = _read(name)
    if cache and is_raw_btf(data):
        from pybpf.btf.cache import load_cached  # noqa: PLC0415 - cache imports this module

        return load_cached(data, name=name, base=base)
    return load_bytes(data, name=name, base=base)


def _read(path: str) -> bytes:
    """The whole file (sysfs files report their size but hand out one page per read)."""
    with open(path, "rb") as f:
        return f.read()


@immutable
class KernelBTF:
    """The running kernel's BTF: vmlinux, and each module's split BTF on top of it.

    ``errors`` maps the modules whose BTF could not be read or parsed to the reason; they
    are left out of ``modules`` (a broken module must not stop a load).
    """

    vmlinux: BTF
    modules: Mapping[str, BTF] = field(default_factory=dict)
    errors: Mapping[str, BTFError | OSError] = field(default_factory=dict)

    def all(self) -> list[BTF]:
        """vmlinux first, then the modules in name order: where CO-RE looks for candidates."""
        return [self.vmlinux, *(self.modules[name] for name in sorted(self.modules))]


def load_kernel_btf(
    directory: str | PathLike[str] = "/sys/kernel/btf",
    *,
    modules: bool = True,
    cache: bool = True,
    read: Callable[[str], bytes | memoryview] | None = None,
    read_cache: Callable[[str], bytes | memoryview] | None = None,
) -> KernelBTF:
    """Read ``vmlinux`` and (with ``modules``) every module's BTF from ``directory``.

    ``read`` gives a file's bytes (default: read whole) and ``read_cache`` an index cache
    entry's (see :func:`pybpf.btf.cache.load_cached`): the kernel half maps both, which
    this layer may not do.

    Requires Linux >= 5.5 built with ``CONFIG_DEBUG_INFO_BTF`` (modules: >= 5.11 with
    ``CONFIG_DEBUG_INFO_BTF_MODULES``). Module BTF that is unreadable, empty of data or
    malformed is recorded in :attr:`KernelBTF.errors` and skipped.

    Raises:
        OSError: ``vmlinux`` cannot be read.
        BTFError: ``vmlinux`` is malformed.
    """
    folder = os.fspath(directory)
    read = read or _read
    path = os.path.join(folder, "vmlinux")
    data = read(path)
    if cache and is_raw_btf(data):
        from pybpf.btf.cache import load_cached  # noqa: PLC0415 - cache imports this module

        vmlinux = load_cached(data, name=path, read=read_cache)
    else:
        vmlinux = load_bytes(data, name=path)
    found: dict[str, BTF] = {}
    errors: dict[str, BTFError | OSError] = {}
    for name in sorted(os.listdir(folder)) if modules else ():
        if name == "vmlinux":
            continue
        path = os.path.join(folder, name)
        try:
            found[name] = BTF(read(path), base=vmlinux, name=path)
        except (BTFError, OSError) as exc:
            errors[name] = exc
    return KernelBTF(vmlinux, found, errors)
