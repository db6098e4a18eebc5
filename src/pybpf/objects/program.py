"""Loaded programs: :class:`Program` — load, test-run, inspect, pin.

A program is loaded from a :class:`~pybpf.spec.ProgramSpec` (:meth:`Program.load`; map
references resolved from a name → map dict), or opened from a pin, an id or an fd.
:meth:`Program.test_run` runs it in the kernel on given packet data or context
(BPF_PROG_TEST_RUN); :meth:`Program.xlated` and :meth:`Program.jited` dump what the kernel
made of it.

Example::

    prog = Program.load(ProgramSpec("ret2", ProgType.XDP, [mov_r0_2, exit_], license="GPL"))
    assert prog.test_run(b"\\0" * 64).retval == 2
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Mapping
from functools import cached_property

from pybpf._records import immutable
from pybpf._uapi import AttachType, ProgType
from pybpf.errors import SyscallError
from pybpf.features import kernel_name
from pybpf.objects import _load, pin
from pybpf.objects._errors import with_hint
from pybpf.objects._handle import Handle
from pybpf.spec import ProgramSpec
from pybpf.sys import FD, TestRunAttr, obj_get_info_by_fd, prog_get_fd_by_id, prog_test_run

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import TypeVar

    from pybpf.asm.instruction import Instruction
    from pybpf.objects._verifier import LineResolver
    from pybpf.objects.info import ProgramInfo

    _P = TypeVar("_P", bound="Program")

__all__ = ["JitedProgram", "Program", "TestRunResult", "XlatedProgram"]

_OUT_HEADROOM = 256  # output room beyond the input: XDP and TC programs may grow packets
# Program types whose context the kernel only reads (no ctx_out), or writes back in place.
_CTX_IN_ONLY = frozenset({ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE})
_CTX_IN_PLACE = frozenset({ProgType.SYSCALL})


@immutable
class TestRunResult:
    """The outcome of :meth:`Program.test_run`: the return value, the packet data and the
    context as the program left them, and the mean run time in nanoseconds."""

    __test__ = False  # not a pytest class

    retval: int
    data: bytes
    ctx: bytes | None
    duration_ns: int


@immutable(slots=False)
class XlatedProgram:
    """The instructions as the verifier rewrote them (``bpftool prog dump xlated``).

    Map references show the map's id in ``imm``; helper calls the kernel's relative address.
    """

    raw: bytes

    @cached_property
    def instructions(self) -> list[Instruction]:
        """The decoded instructions (kernel-internal forms kept raw rather than refused)."""
        from pybpf.asm.instruction import iter_decode  # noqa: PLC0415

        return [insn for _, insn in iter_decode(self.raw, strict=False)]


@immutable(slots=False)
class JitedProgram:
    """The machine code the JIT produced, with the address and length of each function."""

    raw: bytes
    ksyms: tuple[int, ...]
    func_lens: tuple[int, ...]


class Program(Handle):
    """A loaded program. ``verifier_log`` keeps the log of a load made with ``log_level``."""

    kind = "program"

    def __init__(
        self,
        fd: FD,
        *,
        type: ProgType | int,
        name: str = "",
        spec: ProgramSpec | None = None,
        verifier_log: str = "",
    ) -> None:
        super().__init__(fd)
        self._type = type
        self._name = name
        self._spec = spec
        self.verifier_log = verifier_log

    @classmethod
    def load(
        cls: type[_P],
        spec: ProgramSpec,
        maps: Mapping[str, object] | None = None,
        *,
        log_level: int = 0,
        log_size: int = 0,
        attach_btf_id: int = 0,
        attach_btf_obj_fd: int = 0,
        attach_prog_fd: int = 0,
        prog_btf_fd: int = 0,
        resolve: LineResolver | None = None,
    ) -> _P:
        """Load ``spec``; ``maps`` (name → map or fd) resolves its map references.

        Raises:
            SpecError: the spec cannot be loaded as it is (an unknown map name …).
            VerifierError: the verifier refused; ``log`` has the whole log, ``str()`` the
                reason and the failing instruction.
            NotSupportedError: the kernel lacks the program type.
            SyscallError: another refusal (EPERM: privileges …), with a hint.
        """
        opts = _load.LoadOptions(
            log_level=log_level,
            log_size=log_size,
            attach_btf_id=attach_btf_id,
            attach_btf_obj_fd=attach_btf_obj_fd,
            attach_prog_fd=attach_prog_fd,
            prog_btf_fd=prog_btf_fd,
            resolve=resolve,
        )
        fd, log = _load.load(spec, maps or {}, opts)
        return cls(fd, type=spec.type, name=spec.name, spec=spec.copy(), verifier_log=log)

    @classmethod
    def from_fd(cls: type[_P], fd: FD | int) -> _P:
        """Wrap an open program fd; an ``FD`` is taken over, an ``int`` duplicated first."""
        owned = fd if isinstance(fd, FD) else FD.dup_of(fd)
        from pybpf.objects.info import program_info  # noqa: PLC0415 - not on a load's path

        try:
            info = program_info(owned.fileno())
        except BaseException:
            owned.close()
            raise
        return cls(owned, type=info.type, name=info.name)

    @classmethod
    def from_pin(cls: type[_P], path: str) -> _P:
        """Open the program pinned at ``path``.

        Raises:
            SyscallError: nothing is pinned there (ENOENT).
            SpecError: what is pinned there is not a program.
        """
        prog = cls.from_fd(pin.open_pinned(path, "prog"))
        prog._pinned = path
        return prog

    @classmethod
    def from_id(cls: type[_P], prog_id: int) -> _P:
        """Open the program with kernel id ``prog_id``.

        Raises:
            SyscallError: ENOENT when there is none.
        """
        try:
            fd = prog_get_fd_by_id(prog_id)
        except SyscallError as exc:
            hint = f"no program has id {prog_id}" if exc.errno == errno.ENOENT else ""
            raise with_hint(exc, hint) from None
        return cls.from_fd(fd)

    # -- shape -------------------------------------------------------------------------------
    @property
    def type(self) -> ProgType | int:
        return self._type

    @property
    def name(self) -> str:
        return self._name

    @property
    def spec(self) -> ProgramSpec | None:
        """A copy of the spec it was loaded from (``None`` when opened from the kernel)."""
        return self._spec.copy() if self._spec is not None else None

    @property
    def attach_type(self) -> AttachType | None:
        return self._spec.attach_type if self._spec is not None else None

    def __repr__(self) -> str:
        state = f"fd={self._fd.fileno()}" if not self.closed else "closed"
        kind = kernel_name(self._type) if isinstance(self._type, ProgType) else self._type
        return f"Program(name={self._name!r}, type={kind}, {state})"

    # -- running -----------------------------------------------------------------------------
    def test_run(
        self,
        data: bytes = b"",
        *,
        ctx: bytes | None = None,
        repeat: int = 1,
        data_size_out: int | None = None,
        ctx_size_out: int | None = None,
        flags: int = 0,
        cpu: int = 0,
    ) -> TestRunResult:
        """Run the program in the kernel on ``data`` (a packet) and/or ``ctx`` (BPF_PROG_TEST_RUN).

        ``repeat`` runs it that many times (the duration is the mean). The output buffers
        default to the input size plus 256 bytes of room for packets that grow. Raw
        tracepoint programs only read ``ctx`` (the result's ``ctx`` is ``None``); ``syscall``
        programs get it back as they changed it; both run once.

        Raises:
            SyscallError: the kernel refused (ENOSPC: the output did not fit — the hint says
                how big it is; ENOTSUPP/EINVAL: this program type cannot be test-run, or the
                data or context is not acceptable to it).
        """
        keep: list[object] = []
        # repeat 0 means once to the kernel, and is the only value syscall programs accept
        attr = TestRunAttr(prog_fd=self.fileno(), repeat=repeat if repeat != 1 else 0)
        attr.flags, attr.cpu = flags, cpu
        out = _buffers(attr, keep, "data", data, size_out=data_size_out, headroom=_OUT_HEADROOM)
        in_place = self._type in _CTX_IN_PLACE
        ctx_out = None
        if ctx is not None:
            no_out = in_place or self._type in _CTX_IN_ONLY
            size = 0 if no_out else ctx_size_out
            ctx_out = _buffers(attr, keep, "ctx", ctx, size_out=size, headroom=0)
        try:
            prog_test_run(attr)
        except SyscallError as exc:
            raise self._run_error(exc, attr) from None
        if in_place and ctx is not None:
            ctx_bytes: bytes | None = ctypes.string_at(attr.ctx_in, attr.ctx_size_in)
        else:
            ctx_bytes = ctx_out.raw[: attr.ctx_size_out] if ctx_out is not None else None
        data_bytes = out.raw[: attr.data_size_out] if out is not None else b""
        return TestRunResult(attr.retval, data_bytes, ctx_bytes, attr.duration)

    def _run_error(self, exc: SyscallError, attr: TestRunAttr) -> Exception:
        if exc.errno == errno.ENOSPC:
            need = attr.data_size_out
            return with_hint(exc, f"the output is {need} bytes; pass data_size_out={need}")
        if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP, 524):
            kind = kernel_name(self._type) if isinstance(self._type, ProgType) else self._type
            hint = f"{kind} programs may not be test-run, or not with this data/context"
            return with_hint(exc, hint)
        return with_hint(exc)

    # -- inspecting --------------------------------------------------------------------------
    def info(self) -> ProgramInfo:
        """What the kernel says about the program (id, tag, type, sizes, map ids …)."""
        from pybpf.objects.info import program_info  # noqa: PLC0415 - not on a load's path

        return program_info(self.fileno())

    @property
    def id(self) -> int:
        return self.info().id

    @property
    def tag(self) -> str:
        """The kernel's hash of the program's instructions (hex), as bpftool shows it."""
        return self.info().tag

    def xlated(self) -> XlatedProgram:
        """The instructions after verification (as ``bpftool prog dump xlated``)."""
        from pybpf.sys.info import ProgInfo  # noqa: PLC0415 - not on a load's path

        first = ProgInfo()
        obj_get_info_by_fd(self.fileno(), first)
        buf = ctypes.create_string_buffer(max(1, first.xlated_prog_len))
        again = ProgInfo(xlated_prog_len=first.xlated_prog_len)
        again.xlated_prog_insns = ctypes.addressof(buf)
        obj_get_info_by_fd(self.fileno(), again)
        return XlatedProgram(buf.raw[: again.xlated_prog_len])

    def jited(self) -> JitedProgram:
        """The JIT's machine code, with its functions' addresses and lengths."""
        from pybpf.sys.info import ProgInfo  # noqa: PLC0415 - not on a load's path

        first = ProgInfo()
        obj_get_info_by_fd(self.fileno(), first)
        code = ctypes.create_string_buffer(max(1, first.jited_prog_len))
        ksyms = (ctypes.c_uint64 * first.nr_jited_ksyms)()
        lens = (ctypes.c_uint32 * first.nr_jited_func_lens)()
        again = ProgInfo(jited_prog_len=first.jited_prog_len)
        again.jited_prog_insns = ctypes.addressof(code)
        again.nr_jited_ksyms, again.jited_ksyms = first.nr_jited_ksyms, ctypes.addressof(ksyms)
        again.nr_jited_func_lens = first.nr_jited_func_lens
        again.jited_func_lens = ctypes.addressof(lens)
        obj_get_info_by_fd(self.fileno(), again)
        return JitedProgram(code.raw[: again.jited_prog_len], tuple(ksyms), tuple(lens))


def _buffers(
    attr: TestRunAttr,
    keep: list[object],
    what: str,
    data: bytes | None,
    *,
    size_out: int | None,
    headroom: int,
) -> ctypes.Array[ctypes.c_char] | None:
    """Point ``attr``'s ``<what>_in``/``<what>_out`` at buffers; returns the output buffer."""
    data = data or b""
    if data:
        din = ctypes.create_string_buffer(data, len(data))
        keep.append(din)
        setattr(attr, f"{what}_in", ctypes.addressof(din))
        setattr(attr, f"{what}_size_in", len(data))
    size = size_out if size_out is not None else len(data) + headroom if data else 0
    if not size:
        return None
    out = ctypes.create_string_buffer(size)
    keep.append(out)
    setattr(attr, f"{what}_out", ctypes.addressof(out))
    setattr(attr, f"{what}_size_out", size)
    return out
