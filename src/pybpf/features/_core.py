"""Named, cached feature probes: the :class:`Feature` record, :func:`have` and :func:`check`.

A probe asks the running kernel one small question (create a map of a type, load a two-line
program …) and answers True (present) or False (absent). An answer is cached only when it is
conclusive: the kernel said yes, or refused with an errno that means "I don't know this"
(EINVAL, E2BIG, EOPNOTSUPP, ENOTSUPP). Any other refusal (EPERM without privileges, ENOMEM …)
is inconclusive: it propagates as :class:`~pybpf.errors.SyscallError` and the next call asks
again. Caches are kept per backend, so a fake kernel never pollutes the real one's answers.
"""

from __future__ import annotations

import ctypes
import errno
import os
import weakref
from collections.abc import Callable, Sequence

from pybpf._records import field, immutable
from pybpf.errors import NotSupportedError, SyscallError
from pybpf.sys import MapCreateAttr, ProgLoadAttr, current, map_create, prog_load

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    import enum

    from pybpf.asm.instruction import Instruction

__all__ = [
    "ABSENT_ERRNOS",
    "ENOTSUPP",
    "Feature",
    "LoadResult",
    "check",
    "clear_cache",
    "create_map",
    "have",
    "kernel_name",
    "kernel_version_code",
    "known",
    "load_program",
    "privilege_hint",
    "privileged",
    "status",
]

ENOTSUPP = 524  # the kernel-internal "not supported" some commands leak to user space
ABSENT_ERRNOS = frozenset({errno.EINVAL, errno.E2BIG, errno.EOPNOTSUPP, ENOTSUPP})
_CAP_SYS_ADMIN, _CAP_BPF = 21, 39


@immutable
class Feature:
    """A named kernel capability, found out by a probe.

    ``probe`` returns True or False when the answer is conclusive and raises
    :class:`~pybpf.errors.SyscallError` when it is not. ``min_kernel`` is the first Linux
    release with the feature (``None`` when unknown); ``group`` sorts it in reports
    (``map_type``, ``prog_type``, ``helper``, ``link_type``, ``btf_kind``, ``misc``).
    """

    name: str
    min_kernel: str | None
    probe: Callable[[], bool] = field(repr=False, compare=False)
    group: str = "misc"


_caches: weakref.WeakKeyDictionary[object, dict[str, bool]] = weakref.WeakKeyDictionary()


def _cache() -> dict[str, bool]:
    return _caches.setdefault(current(), {})


def have(feature: Feature) -> bool:
    """Whether the running kernel has ``feature`` (cached once conclusive).

    Raises:
        SyscallError: the probe was inconclusive (EPERM without privileges …); not cached.
    """
    cache = _cache()
    known = cache.get(feature.name)
    if known is not None:
        return known
    try:
        answer = feature.probe()
    except SyscallError as exc:
        if exc.errno == errno.EPERM and not exc.hint:
            raise SyscallError(exc.command, exc.errno, privilege_hint()) from exc
        raise
    cache[feature.name] = answer
    return answer


def known(feature: Feature) -> bool | None:
    """The cached answer about ``feature``, or ``None`` when it was not asked yet (never
    probes: for callers that try first and probe only when the kernel refuses)."""
    return _cache().get(feature.name)


def check(feature: Feature) -> None:
    """Raise :class:`~pybpf.errors.NotSupportedError` unless the kernel has ``feature``.

    Raises:
        NotSupportedError: the feature is absent (names it and its minimum kernel).
        SyscallError: the probe was inconclusive.
    """
    if not have(feature):
        raise NotSupportedError(feature.name, feature.min_kernel)


def status(feature: Feature) -> bool | SyscallError:
    """Like :func:`have`, but an inconclusive probe returns its error instead of raising."""
    try:
        return have(feature)
    except SyscallError as exc:
        return exc


def privileged() -> bool:
    """Whether this process holds CAP_BPF or CAP_SYS_ADMIN (effective)."""
    try:
        with open("/proc/self/status") as f:
            caps = next((ln.split()[1] for ln in f if ln.startswith("CapEff:")), "0")
    except OSError:
        return os.geteuid() == 0
    bits = int(caps, 16)
    return bool(bits >> _CAP_BPF & 1 or bits >> _CAP_SYS_ADMIN & 1)


def privilege_hint() -> str:
    """What to say about an EPERM: missing privileges, or a kernel that forbids it anyway."""
    if privileged():
        return "refused although the process has CAP_BPF/CAP_SYS_ADMIN: the kernel forbids it here"
    return "needs CAP_BPF (or CAP_SYS_ADMIN): run as root"


def clear_cache() -> None:
    """Forget every cached answer of the active backend."""
    _cache().clear()


# -- probing tools ---------------------------------------------------------------------------
@immutable
class LoadResult:
    """What a probe load gave: ``errno`` 0 when the program loaded, and the verifier log."""

    errno: int
    log: str


def load_program(
    prog_type: int,
    insns: Sequence[Instruction],
    *,
    expected_attach_type: int = 0,
    flags: int = 0,
    kern_version: int = 0,
    attach_btf_id: int = 0,
    log_size: int = 0,
    name: bytes = b"",
    license: bytes = b"GPL",
) -> LoadResult:
    """Load a probe program and close it at once; never raises for a refusal."""
    from pybpf.asm.instruction import encode  # noqa: PLC0415 - only probes that run encode

    code = ctypes.create_string_buffer(encode(insns), len(insns) * 8 + 8)
    lic = ctypes.create_string_buffer(license)
    log = ctypes.create_string_buffer(log_size) if log_size else None
    attr = ProgLoadAttr(
        prog_type=prog_type,
        insn_cnt=len(code.raw) // 8 - 1,
        insns=ctypes.addressof(code),
        license=ctypes.addressof(lic),
        expected_attach_type=expected_attach_type,
        prog_flags=flags,
        kern_version=kern_version,
        attach_btf_id=attach_btf_id,
        prog_name=name,
    )
    attr.insn_cnt = sum(i.slots for i in insns)
    if log is not None:
        attr.log_level, attr.log_size, attr.log_buf = 1, log_size, ctypes.addressof(log)
    try:
        prog_load(attr).close()
    except SyscallError as exc:
        return LoadResult(exc.errno or 0, _text(log))
    return LoadResult(0, _text(log))


def _text(buf: ctypes.Array[ctypes.c_char] | None) -> str:
    return buf.value.decode(errors="replace") if buf is not None else ""


def create_map(attr: MapCreateAttr) -> int:
    """Create a probe map and close it at once; returns 0 or the errno of the refusal."""
    try:
        map_create(attr).close()
    except SyscallError as exc:
        return exc.errno or 0
    return 0


def conclude(err: int, command: str, *, present: Sequence[int] = (0,)) -> bool:
    """Turn a probe's errno into an answer: ``present`` errnos → True, the absent set →
    False, anything else → raise (inconclusive)."""
    if err in present:
        return True
    if err in ABSENT_ERRNOS:
        return False
    raise SyscallError(command, err)


def kernel_version_code() -> int:
    """``LINUX_VERSION_CODE`` of the running kernel (``KERNEL_VERSION(a, b, c)``), as libbpf
    computes it (Ubuntu's and Debian's real version when they record one)."""
    try:
        with open("/proc/version_signature") as f:
            text = f.read().split()[-1]
    except OSError:
        uts = os.uname()
        text = _debian_version(uts.version) or uts.release
    found = _version(text)
    if found is None:
        return 0
    a, b, c = found
    return (a << 16) + (b << 8) + min(c, 255)


def _digits_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return end


def _version(text: str, *, patch: bool = False) -> tuple[int, int, int] | None:
    """``(a, b, c)`` of ``text`` starting ``a.b`` or ``a.b.c`` (``c`` 0 when absent, unless
    ``patch`` requires it), else ``None``."""
    dot = _digits_end(text, 0)
    if dot == 0 or text[dot : dot + 1] != ".":
        return None
    end = _digits_end(text, dot + 1)
    if end == dot + 1:
        return None
    c, last = 0, _digits_end(text, end + 1) if text[end : end + 1] == "." else end
    if last > end + 1:
        c = int(text[end + 1 : last])
    elif patch:
        return None
    return int(text[:dot]), int(text[dot + 1 : end]), c


def _debian_version(version: str) -> str:
    """The ``a.b.c`` after ``Debian `` in ``uname -v`` (Debian's kernels say their real
    version there), or ``""``."""
    at = version.find("Debian ")
    while at >= 0:
        rest = version[at + 7 :]
        if _version(rest, patch=True) is not None:
            return rest
        at = version.find("Debian ", at + 1)
    return ""


def kernel_name(member: enum.IntEnum) -> str:
    """The lower-case name bpftool prints for an enum value (``cgroup_storage``, not its
    ``_deprecated`` alias)."""
    names = [n for n, m in type(member).__members__.items() if m == member]
    names.sort(key=lambda n: n.endswith("_DEPRECATED"))
    return names[0].lower()
