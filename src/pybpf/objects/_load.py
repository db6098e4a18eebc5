"""Turning a :class:`~pybpf.spec.ProgramSpec` into a loaded program: patching, retries, errors.

* Map references (``lddw`` with ``ref`` set) become the fds of the maps given by name.
* The name is cleaned, shortened or left out (see :func:`pybpf.objects._create.object_name`);
  kprobes get the running kernel's version code when the spec has none (old kernels check it).
* The first attempt loads without a verifier log (the fast path). If the kernel refuses, the
  load is repeated with a log so the :class:`~pybpf.errors.VerifierError` can say why; a log
  that does not fit (ENOSPC) is grown to the kernel's ``log_true_size`` (Linux >= 6.4) or
  four times larger, up to 1 GiB. EAGAIN is retried five times, as libbpf does.
* A refusal without a log (EINVAL for an unknown program type …) becomes
  :class:`~pybpf.errors.NotSupportedError` where a probe shows the type is missing.

See BPF_PROG_LOAD in include/uapi/linux/bpf.h and https://docs.kernel.org/bpf/verifier.html.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys
from collections.abc import Callable, Mapping, Sequence

from pybpf._records import immutable
from pybpf._uapi import ProgType
from pybpf.asm.opcodes import PseudoSrc
from pybpf.errors import NotSupportedError, SyscallError, VerifierError
from pybpf.features import have, kernel_version_code
from pybpf.objects._create import object_name
from pybpf.objects._errors import SpecError, with_hint
from pybpf.objects._memlock import memlock_raised
from pybpf.spec import ProgramSpec
from pybpf.sys import FD, ProgLoadAttr, prog_load

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.asm.instruction import Instruction
    from pybpf.objects._verifier import LineResolver
    from pybpf.spec._lazy import Lazy

__all__ = ["LoadOptions", "load", "patch_maps", "program_code"]

_LOG_START = 256 * 1024
_LOG_MAX = (1 << 30) - 1  # the kernel refuses log_size >= UINT_MAX >> 2
_ATTEMPTS = 5
_MAP_SRCS = (PseudoSrc.MAP_FD, PseudoSrc.MAP_VALUE)


@immutable(slots=False)
class LoadOptions:
    """What a load needs beyond the spec.

    ``log_level`` 0 loads without a log and fetches one only on failure; 1 or 2 keep the
    log of a successful load too (``Program.verifier_log``). ``attach_btf_id`` (with
    ``attach_btf_obj_fd`` for a module's BTF, or ``attach_prog_fd`` for freplace) names the
    kernel function or type of tracing, LSM and iterator programs. ``resolve`` maps an
    instruction index to a source line for error summaries. ``func_info``/``line_info`` are
    the encoded ``bpf_func_info``/``bpf_line_info`` records (with ``prog_btf_fd``);
    ``fd_array`` the fds kfunc calls into module BTF index (``insn.off``). ``explain``
    rewrites a refused program's log before it is summarised (libbpf's log fix-ups of
    poisoned CO-RE relocations and kfunc calls). ``expected_attach_type`` overrides the
    spec's (a struct_ops program's is the index of the member it implements).
    """

    log_level: int = 0
    log_size: int = 0
    attach_btf_id: int = 0
    attach_btf_obj_fd: int = 0
    attach_prog_fd: int = 0
    prog_btf_fd: int = 0
    ifindex: int = 0
    resolve: LineResolver | None = None
    func_info: bytes = b""
    line_info: bytes = b""
    fd_array: Sequence[int] = ()
    explain: Callable[[str], str] | None = None
    expected_attach_type: int | None = None


_INSTRUCTIONS: Lazy[list[Instruction]] = vars(ProgramSpec)["instructions"]
_LDDW = 0x18
_IMM = struct.Struct("=i")  # the imm of a slot, in the host's byte order (checked by _check)


def program_code(spec: ProgramSpec, maps: Mapping[str, object]) -> bytes:
    """The bytes to load: the spec's instructions with every map reference replaced by the
    map's fd, encoded.

    A program parsed from an object and never decoded (its instructions still a recipe
    with an ``image()``: :class:`~pybpf.spec._linker.LinkedCode`, or its relocated form)
    is not decoded here either: the map fds are written into its bytes. Anything else, and
    anything the bytes path cannot vouch for, goes through :func:`patch_maps` and
    :func:`~pybpf.asm.instruction.encode` (which raise the errors).

    Raises:
        SpecError: as :func:`patch_maps`; ValueError: as ``encode``.
    """
    make = getattr(_INSTRUCTIONS.pending(spec), "image", None)
    image = make() if make is not None else None
    if image is not None:
        code = _with_map_fds(image[0], image[1], maps, sys.byteorder == "little")
        if code is not None:
            return code
    from pybpf.asm.instruction import encode  # noqa: PLC0415 - programs made by hand

    return encode(patch_maps(spec, maps))


def _with_map_fds(
    code: bytearray, refs: Mapping[int, str], maps: Mapping[str, object], little: bool
) -> bytes | None:
    """``code`` with each reference's map fd written into its ``lddw``; ``None`` when a
    reference is not a map reference or names no map (:func:`patch_maps` says which)."""
    for slot, name in refs.items():
        at = slot * 8
        src = code[at + 1] >> 4 if little else code[at + 1] & 0xF
        target = maps.get(name)
        if code[at] != _LDDW or src not in _MAP_SRCS or target is None:
            return None
        fd = target if isinstance(target, int) else target.fileno()  # type: ignore[attr-defined]
        _IMM.pack_into(code, at + 4, fd)
    return bytes(code)


def patch_maps(spec: ProgramSpec, maps: Mapping[str, object]) -> list[Instruction]:
    """The spec's instructions with every map reference replaced by the map's fd.

    Raises:
        SpecError: a reference names no map in ``maps``, or is not a map reference.
    """
    out = []
    for i, insn in enumerate(spec.instructions):
        if insn.ref is None:
            out.append(insn)
            continue
        if not (insn.is_wide and insn.src in _MAP_SRCS):
            raise SpecError(
                f"program {spec.name!r}: insn {i} has an unresolved reference {insn.ref!r} "
                "(only map references are resolved at load)"
            )
        target = maps.get(insn.ref)
        if target is None:
            raise SpecError(f"program {spec.name!r}: insn {i} uses map {insn.ref!r}, not loaded")
        fd = target if isinstance(target, int) else target.fileno()  # type: ignore[attr-defined]
        out.append(insn.with_fields(imm=fd, ref=None))
    return out


_NEED_TARGET = {ProgType.TRACING, ProgType.LSM, ProgType.EXT}


def _check(spec: ProgramSpec, opts: LoadOptions) -> None:
    if not spec.insn_count:
        raise SpecError(f"program {spec.name!r} has no instructions")
    if spec.type in _NEED_TARGET and not opts.attach_btf_id:
        target = f" ({spec.attach_to})" if spec.attach_to else ""
        raise SpecError(
            f"program {spec.name!r} ({spec.type.name.lower()}) needs attach_btf_id: the BTF "
            f"id of its target{target} in the kernel's BTF"
        )
    if spec.byte_order != sys.byteorder:
        raise SpecError(
            f"program {spec.name!r} is {spec.byte_order}-endian; this kernel is {sys.byteorder}"
        )
    if "\0" in spec.license or not spec.license.isascii():
        raise SpecError(f"program {spec.name!r}: license {spec.license!r} is not plain ASCII")


_FUNC_INFO_SIZE, _LINE_INFO_SIZE = 8, 16  # struct bpf_func_info, struct bpf_line_info


def _attr(spec: ProgramSpec, code: bytes, opts: LoadOptions, keep: list[object]) -> ProgLoadAttr:
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(spec.license.encode("ascii"))
    keep += [insns, lic]
    kern_version = spec.kernel_version
    if not kern_version and spec.type == ProgType.KPROBE:
        kern_version = kernel_version_code()
    attr = ProgLoadAttr(
        prog_type=spec.type,
        insn_cnt=len(code) // 8,
        insns=ctypes.addressof(insns),
        license=ctypes.addressof(lic),
        kern_version=kern_version,
        prog_flags=spec.flags,
        prog_name=object_name(spec.name),
        prog_ifindex=opts.ifindex,
        expected_attach_type=(
            int(spec.attach_type or 0)
            if opts.expected_attach_type is None
            else opts.expected_attach_type
        ),
        prog_btf_fd=opts.prog_btf_fd,
        attach_btf_id=opts.attach_btf_id,
        attach_prog_fd=opts.attach_prog_fd or opts.attach_btf_obj_fd,
    )
    _ext_info(attr, opts, keep)
    return attr


def _ext_info(attr: ProgLoadAttr, opts: LoadOptions, keep: list[object]) -> None:
    """Point ``attr`` at the func/line info records and the fd array, if any."""
    if opts.func_info:
        buf = ctypes.create_string_buffer(opts.func_info, len(opts.func_info))
        keep.append(buf)
        attr.func_info, attr.func_info_rec_size = ctypes.addressof(buf), _FUNC_INFO_SIZE
        attr.func_info_cnt = len(opts.func_info) // _FUNC_INFO_SIZE
    if opts.line_info:
        buf = ctypes.create_string_buffer(opts.line_info, len(opts.line_info))
        keep.append(buf)
        attr.line_info, attr.line_info_rec_size = ctypes.addressof(buf), _LINE_INFO_SIZE
        attr.line_info_cnt = len(opts.line_info) // _LINE_INFO_SIZE
    if opts.fd_array:
        fds = (ctypes.c_int * len(opts.fd_array))(*opts.fd_array)
        keep.append(fds)
        attr.fd_array = ctypes.addressof(fds)


def line_resolver(spec: ProgramSpec) -> LineResolver | None:
    """Instruction index → ``file:line: source`` from the spec's line info and BTF strings
    (``None`` when the spec has no line info)."""
    records = sorted(spec.line_info, key=lambda r: r.insn) if spec.line_info else []
    string = getattr(spec.btf, "string", None)
    if not records or string is None:
        return None

    def resolve(insn: int) -> str | None:
        before = [r for r in records if r.insn <= insn]
        if not before:
            return None
        rec = before[-1]
        name = os.path.basename(str(string(rec.file_name_off)))
        return f"{name}:{rec.line}: {str(string(rec.line_off)).strip()}"

    return resolve


def load(spec: ProgramSpec, maps: Mapping[str, object], opts: LoadOptions) -> tuple[FD, str]:
    """Load ``spec``; returns the program's fd and its verifier log (empty at log level 0).

    Raises:
        SpecError: the spec cannot be loaded as it is (before any system call).
        VerifierError: the verifier refused the program (the whole log attached).
        NotSupportedError: the kernel lacks the program type.
        SyscallError: another refusal, with a hint where one helps.
    """
    _check(spec, opts)
    code = program_code(spec, maps)
    keep: list[object] = []
    attr = _attr(spec, code, opts, keep)
    if opts.log_level:
        return _load_logged(attr, spec, opts, opts.log_level)
    try:
        return _load_retrying(attr), ""
    except SyscallError as exc:
        if exc.errno == errno.EPERM:
            raise with_hint(exc) from None
    return _load_logged(attr, spec, opts, 1)


def _load_retrying(attr: ProgLoadAttr) -> FD:
    for attempt in range(_ATTEMPTS):
        try:
            return prog_load(attr)
        except SyscallError as exc:
            if memlock_raised(exc.errno or 0):
                continue  # RLIMIT_MEMLOCK lifted: once more
            if exc.errno != errno.EAGAIN or attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _load_logged(
    attr: ProgLoadAttr, spec: ProgramSpec, opts: LoadOptions, level: int
) -> tuple[FD, str]:
    size = opts.log_size or _LOG_START
    while True:
        log = ctypes.create_string_buffer(size)
        attr.log_level, attr.log_size, attr.log_buf = level, size, ctypes.addressof(log)
        attr.log_true_size = 0
        try:
            fd = _load_retrying(attr)
        except SyscallError as exc:
            if exc.errno == errno.ENOSPC and size < _LOG_MAX:
                size = min(_LOG_MAX, max(size * 4, attr.log_true_size))
                continue
            raise _refusal(exc, log.value.decode(errors="replace"), spec, opts) from None
        return fd, log.value.decode(errors="replace")


def _refusal(exc: SyscallError, log: str, spec: ProgramSpec, opts: LoadOptions) -> Exception:
    if opts.explain is not None:
        log = opts.explain(log)
    if log.strip():
        from pybpf.objects._verifier import summarize  # noqa: PLC0415 - a refusal only

        resolve = opts.resolve or line_resolver(spec)
        return VerifierError(exc.command, exc.errno or 0, log, summarize(log, resolve))
    if exc.errno == errno.EINVAL and isinstance(spec.type, ProgType):
        from pybpf.features import prog_type  # noqa: PLC0415 - a refusal only

        feature = prog_type(spec.type)
        try:
            if not have(feature):
                return NotSupportedError(feature.name, feature.min_kernel)
        except SyscallError:
            pass
        hint = f"the kernel refused program {spec.name!r}; check its type, attach type and flags"
        return with_hint(exc, hint)
    return with_hint(exc)
