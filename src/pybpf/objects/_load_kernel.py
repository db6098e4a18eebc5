"""The running kernel as a collection load sees it: its BTF, its modules' BTF objects, its
symbols.

* :func:`kernel_btf` — vmlinux and module BTF from ``/sys/kernel/btf`` (mapped, not read,
  where the kernel allows), parsed once per process and kept while the files stay the same
  (a module loaded or unloaded, or a new boot, makes the next load read them again). CO-RE,
  typed ksyms, kfuncs, struct_ops and BTF attach targets search it: vmlinux first, then the
  modules in name order, as libbpf's ``find_ksym_btf_id`` does.
* :class:`ModuleFDs` — the kernel's BTF objects of modules, opened by name for one load
  (a typed ksym or kfunc in a module needs the module BTF's fd; libbpf's
  ``load_module_btfs``).
* :func:`kallsyms` — addresses of named symbols from ``/proc/kallsyms`` (untyped ksyms).

See https://docs.kernel.org/bpf/btf.html and
https://docs.kernel.org/bpf/libbpf/program_types.html.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import weakref
from collections.abc import Iterable

from pybpf._records import immutable
from pybpf.btf._btf import BTF
from pybpf.btf._load import KernelBTF, load_kernel_btf
from pybpf.btf.kinds import Kind
from pybpf.errors import BTFError, NotSupportedError, SyscallError
from pybpf.objects._errors import SpecError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.objects.btf import BTFHandle
    from pybpf.spec.core import CandidateCache
    from pybpf.spec.core.relocate import Targets

__all__ = [
    "BTF_DIR",
    "Found",
    "KernelView",
    "ModuleFDs",
    "find_in_kernel",
    "has_syscall_wrapper",
    "kallsyms",
    "kernel_btf",
]

BTF_DIR = "/sys/kernel/btf"
KALLSYMS = "/proc/kallsyms"
_KERNEL_BTF_MIN = "5.5"  # /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)

_CACHE: dict[str, tuple[tuple[object, ...], KernelBTF]] = {}  # directory -> (files, BTF)


def _fingerprint(directory: str) -> tuple[object, ...]:
    """What changes when the kernel's BTF does: each file's name, inode and mtime."""
    out: list[object] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            st = entry.stat()
            out.append((entry.name, st.st_ino, st.st_mtime_ns, st.st_size))
    out.sort()
    return tuple(out)


def kernel_btf(directory: str = BTF_DIR) -> KernelBTF:
    """The running kernel's BTF (vmlinux and modules), cached per process.

    Raises:
        NotSupportedError: the kernel exposes no BTF (``/sys/kernel/btf/vmlinux``).
        BTFError: vmlinux BTF is malformed.
    """
    try:
        key = _fingerprint(directory)
    except OSError as exc:
        raise NotSupportedError(
            "kernel BTF", _KERNEL_BTF_MIN, f"{directory}: {exc.strerror} (CONFIG_DEBUG_INFO_BTF)"
        ) from None
    cached = _CACHE.get(directory)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        found = _read_kernel_btf(directory)
    except OSError as exc:
        raise NotSupportedError(
            "kernel BTF", _KERNEL_BTF_MIN, f"{directory}/vmlinux: {exc.strerror}"
        ) from None
    _CACHE[directory] = (key, found)
    return found


def _read_sysfs(path: str) -> bytes | memoryview:
    """A sysfs BTF file's bytes: mapped where the kernel allows it (recent kernels map
    ``/sys/kernel/btf/*`` privately, as libbpf >= 1.6 does; faster than reading, which
    sysfs serves a page per call), else read. A mapping is not copied: the BTF parsed from
    it keeps it for as long as it lives."""
    mapped = _map_readonly(path)
    if mapped is not None:
        return mapped
    with open(path, "rb") as f:
        return f.read()


def _map_file(path: str) -> memoryview:
    """A file's bytes, mapped (a BTF index cache entry: the index's arrays are then views
    of the page cache, not copies).

    Raises:
        OSError: no such file; ValueError: an empty one, or one that cannot be mapped.
    """
    mapped = _map_readonly(path)
    if mapped is None:
        raise ValueError(f"{path}: cannot be mapped")
    return mapped


_PROT_READ, _MAP_PRIVATE = 1, 2
_MAP_FAILED = ctypes.c_void_p(-1).value
_libc: ctypes.CDLL | None = None


def _map_readonly(path: str) -> memoryview | None:
    """A read-only private mapping of the file at ``path`` (``None`` when it is empty or
    the kernel will not map it), with no file descriptor kept open.

    :class:`mmap.mmap` keeps a duplicate of the file's fd for as long as the mapping lives
    (before Python 3.13's ``trackfd=False``); the kernel's BTF stays mapped for the
    process's life, and so would two fds. So the mapping is made with libc's ``mmap`` and
    unmapped when the last view of it is gone.

    Raises:
        OSError: the file cannot be opened.
    """
    global _libc  # noqa: PLW0603 - loaded on first use
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mmap.restype = ctypes.c_void_p
        _libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
        _libc.mmap.argtypes += [ctypes.c_int, ctypes.c_long]
        _libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        addr = _libc.mmap(None, size, _PROT_READ, _MAP_PRIVATE, fd, 0) if size else None
    finally:
        os.close(fd)
    if addr is None or addr == _MAP_FAILED:
        return None
    pages = (ctypes.c_char * size).from_address(addr)
    weakref.finalize(pages, _libc.munmap, addr, size)
    return memoryview(pages).cast("B").toreadonly()


def _read_kernel_btf(directory: str) -> KernelBTF:
    """:func:`pybpf.btf.load_kernel_btf`, the files mapped rather than read (the BTF layer
    may not map files; this one may)."""
    return load_kernel_btf(directory, read=_read_sysfs, read_cache=_map_file)


@immutable
class Found:
    """A type found in the kernel's BTF: its id, the BTF holding it and the module's name
    (``""`` for vmlinux)."""

    type_id: int
    btf: BTF
    module: str


def find_in_kernel(kbtf: KernelBTF, name: str, kind: Kind) -> Found | None:
    """The first type called ``name`` of ``kind`` in vmlinux, else in a module's own types
    (libbpf's ``find_ksym_btf_id``)."""
    type_id = kbtf.vmlinux.find_by_name_kind(name, kind)
    if type_id is not None:
        return Found(type_id, kbtf.vmlinux, "")
    for module in sorted(kbtf.modules):
        btf = kbtf.modules[module]
        own = [i for i in btf.find(name, kind) if i >= btf.start_id]
        if own:
            return Found(own[0], btf, module)
    return None


def _keep(handle: BTFHandle, handles: dict[str, BTFHandle]) -> bool:
    """Add ``handle`` to ``handles`` when it is a module's BTF not seen yet."""
    try:
        info = handle.info()
    except BaseException:
        handle.close()
        raise
    if not info.kernel_btf or info.name in ("", "vmlinux") or info.name in handles:
        return False
    handles[info.name] = handle
    return True


class ModuleFDs:
    """The kernel's module BTF objects, opened on first use and kept for one load.

    ``fd(name)`` is what an ``lddw`` of a module's typed ksym carries; ``index(name)``
    its position in the ``fd_array`` of a program load (kfunc calls name the module BTF by
    that index in ``insn.off``; index 0 is never used, as in libbpf).
    """

    def __init__(self) -> None:
        self._handles: dict[str, BTFHandle] | None = None
        self._array: list[int] = []

    def _open(self) -> dict[str, BTFHandle]:
        from pybpf.objects.btf import BTFHandle  # noqa: PLC0415 - only kfuncs/ksyms in modules
        from pybpf.objects.introspect import btf_ids  # noqa: PLC0415

        handles: dict[str, BTFHandle] = {}
        try:
            for btf_id in btf_ids():
                with contextlib.suppress(SyscallError):  # gone since the id was listed
                    handle = BTFHandle.from_id(btf_id)
                    if not _keep(handle, handles):
                        handle.close()
        except BaseException:
            for handle in handles.values():
                handle.close()
            raise
        return handles

    def fd(self, module: str) -> int:
        """The fd of module ``module``'s BTF object.

        Raises:
            SpecError: the kernel has no BTF object of that module (it was unloaded).
        """
        if self._handles is None:
            self._handles = self._open()
        handle = self._handles.get(module)
        if handle is None:
            raise SpecError(f"kernel module {module!r} has no BTF object (was it unloaded?)")
        return handle.fileno()

    def index(self, module: str) -> int:
        """The ``fd_array`` index of module ``module``'s BTF (allocated on first use)."""
        fd = self.fd(module)
        if not self._array:
            self._array.append(0)  # index 0 stands for vmlinux
        if fd not in self._array[1:]:
            self._array.append(fd)
        return self._array.index(fd, 1)

    @property
    def fd_array(self) -> tuple[int, ...]:
        """The ``fd_array`` of program loads (empty when no kfunc is in a module)."""
        return tuple(self._array)

    def close(self) -> None:
        for handle in (self._handles or {}).values():
            handle.close()
        self._handles = None
        self._array = []


def kallsyms(names: Iterable[str], path: str = KALLSYMS) -> dict[str, int]:
    """The addresses of the named symbols in ``/proc/kallsyms`` (absent names left out).

    As libbpf's ``kallsyms_cb``: a data symbol (``d``) may carry an LLVM ``.llvm.<hash>``
    suffix; a name listed twice must have one address.

    Raises:
        SpecError: a name with two different addresses; kallsyms unreadable.
    """
    wanted = sorted(set(names))
    if not wanted:
        return {}
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror}") from None
    return {name: addr for name in wanted if (addr := _address(data, name)) is not None}


def _address(data: bytes, name: str) -> int | None:
    needle = b" " + name.encode()
    found: int | None = None
    at = data.find(needle)
    while at >= 0:
        end = at + len(needle)
        after = data[end : end + 1]
        kind = data[at - 1 : at]
        exact = after in (b"\n", b"\t", b"")
        llvm = kind == b"d" and data.startswith(b".llvm.", end)
        if data[at - 2 : at - 1] == b" " and (exact or llvm):
            addr = int(data[data.rfind(b"\n", 0, at) + 1 : at - 2], 16)
            if found is not None and found != addr:
                raise SpecError(
                    f"extern (ksym) {name!r}: resolution is ambiguous: {found:#x} or {addr:#x}"
                )
            found = addr
        at = data.find(needle, end)
    return found


# libbpf's arch_specific_syscall_pfx
_SYSCALL_PREFIX = {
    "x86_64": "x64",
    "i386": "ia32",
    "i686": "ia32",
    "s390x": "s390x",
    "s390": "s390",
    "armv7l": "arm",
    "aarch64": "arm64",
    "mips64": "mips",
    "riscv64": "riscv",
    "ppc64le": "powerpc",
    "ppc64": "powerpc",
    "loongarch64": "loongarch",
}


def has_syscall_wrapper(kbtf: KernelBTF | None) -> bool:
    """Whether system calls enter the kernel through ``__<arch>_sys_*`` wrappers (the value
    of libbpf's ``LINUX_HAS_SYSCALL_WRAPPER``), from vmlinux BTF or else kallsyms.

    libbpf finds out by creating a kprobe on ``__<arch>_sys_bpf``, which fails (giving 0)
    where kprobes cannot be created even though the wrapper exists; pybpf asks whether the
    function exists, which is what the value means to ``BPF_KSYSCALL`` programs.
    """
    prefix = _SYSCALL_PREFIX.get(os.uname().machine)
    if prefix is None:
        return False
    name = f"__{prefix}_sys_bpf"
    if kbtf is not None:
        return kbtf.vmlinux.find_by_name_kind(name, Kind.FUNC) is not None
    try:
        return name in kallsyms([name])
    except (SpecError, BTFError):
        return False


class KernelView:
    """What one load learns about the running kernel, each part asked once and only when
    needed: its BTF, its modules' BTF objects, the CO-RE candidate cache.

    ``core_target`` replaces the kernel's BTF for CO-RE only (libbpf's
    ``btf_custom_path``): ksyms, kfuncs, struct_ops and attach targets are always the
    running kernel's.
    """

    def __init__(self, core_target: Targets | None = None) -> None:
        self._core_target = core_target
        self._btf: KernelBTF | NotSupportedError | None = None
        self._core: CandidateCache | None = None
        self.modules = ModuleFDs()

    def btf(self) -> KernelBTF:
        """The kernel's BTF.

        Raises:
            NotSupportedError: the kernel exposes none.
        """
        if self._btf is None:
            try:
                self._btf = kernel_btf()
            except NotSupportedError as exc:
                self._btf = exc
        if isinstance(self._btf, NotSupportedError):
            raise self._btf
        return self._btf

    def btf_or_none(self) -> KernelBTF | None:
        """The kernel's BTF, or ``None`` when it exposes none."""
        try:
            return self.btf()
        except NotSupportedError:
            return None

    def core_cache(self) -> CandidateCache:
        """The candidate cache CO-RE relocations of this load share.

        Raises:
            NotSupportedError: no target given and the kernel exposes no BTF.
        """
        if self._core is None:
            from pybpf.spec.core import CandidateCache, make_targets  # noqa: PLC0415 - CO-RE only

            target = self._core_target
            if target is None:
                kbtf = self.btf()
                target = {"vmlinux": kbtf.vmlinux, **kbtf.modules}
            self._core = CandidateCache(make_targets(target))
        return self._core

    def close(self) -> None:
        self.modules.close()
