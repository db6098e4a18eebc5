"""The ``.kconfig`` map's value: kernel config options and libbpf's virtual ``LINUX_*``
values, written where the spec laid each extern out.

As libbpf's ``bpf_object__resolve_externs`` and ``bpf_object__process_kconfig_line``:

* ``LINUX_KERNEL_VERSION`` is the running kernel's ``KERNEL_VERSION(a, b, c)`` (Ubuntu's and
  Debian's real version where they record one); ``LINUX_HAS_BPF_COOKIE`` whether the kernel
  has ``bpf_get_attach_cookie``; ``LINUX_HAS_SYSCALL_WRAPPER`` whether system calls go
  through ``__<arch>_sys_*`` wrappers. Another ``LINUX_*`` name is an error unless weak.
* ``CONFIG_*`` options come from the ``kconfig`` overrides first, then from
  ``/boot/config-$(uname -r)`` or ``/proc/config.gz`` (libbpf's order). Each line
  ``CONFIG_X=value`` is read as libbpf reads it: ``y``/``n``/``m`` for bool, tristate and
  char externs, ``"text"`` for char arrays (cut to fit, NUL-terminated), anything else an
  integer (C's ``strtoull``: decimal, ``0x`` hex, ``0`` octal) that must fit the extern.

A weak extern left unset reads as zero. Where libbpf gives up when no config file can be
read at all, pybpf lets the weak ones be zero and names the first strong one it could not
set.

Value layouts (``enum libbpf_tristate``: ``TRI_NO`` 0, ``TRI_YES`` 1, ``TRI_MODULE`` 2)::

    bool      1 byte, 0 or 1          char      1 byte ('y', 'n', 'm' or a number)
    tristate  4 bytes (an enum)        int       1/2/4/8 bytes, range-checked
    char[N]   N bytes, NUL-terminated
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from pybpf.objects._errors import SpecError
from pybpf.spec import ExternKind, ExternSpec, KconfigType

__all__ = ["KconfigOverrides", "KernelFacts", "kconfig_image", "read_kernel_config"]

KconfigOverrides = Mapping[str, "str | int | bool"] | str
"""Kconfig values given by the user: ``.config`` text, or a mapping of names to values
(``{"CONFIG_HZ": 1000, "CONFIG_BPF_LSM": "m", "CONFIG_DEFAULT_HOSTNAME": "box"}``)."""

_TRI = {"n": 0, "y": 1, "m": 2}
_U64 = (1 << 64) - 1


class KernelFacts:
    """What the virtual ``LINUX_*`` externs read; each asked only when an extern needs it."""

    def __init__(
        self,
        version: Callable[[], int],
        bpf_cookie: Callable[[], bool],
        syscall_wrapper: Callable[[], bool],
        config: Callable[[], Iterable[str] | None],
    ) -> None:
        self.version = version
        self.bpf_cookie = bpf_cookie
        self.syscall_wrapper = syscall_wrapper
        self.config = config


def read_kernel_config() -> Iterable[str] | None:
    """The running kernel's ``.config`` lines, or ``None`` when neither
    ``/boot/config-$(uname -r)`` nor ``/proc/config.gz`` can be read (libbpf's order)."""
    paths = (f"/boot/config-{os.uname().release}", "/proc/config.gz")
    for path in paths:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            continue
        try:
            if raw[:2] == b"\x1f\x8b":
                import gzip  # noqa: PLC0415 - only a compressed config needs it

                raw = gzip.decompress(raw)
        except (OSError, EOFError):
            continue
        return raw.decode("utf-8", "replace").splitlines()
    return None


class _Image:
    """The map value being filled, and which externs are set."""

    def __init__(self, externs: list[ExternSpec], size: int, byteorder: str) -> None:
        self.data = bytearray(size)
        self.by_name = {e.name: e for e in externs}
        self.set: set[str] = set()
        self.byteorder = byteorder

    def write(self, ext: ExternSpec, raw: bytes) -> None:
        self.data[ext.offset : ext.offset + len(raw)] = raw
        self.set.add(ext.name)

    def number(self, ext: ExternSpec, value: int) -> None:
        """libbpf's ``set_kcfg_value_num``."""
        kind = ext.kconfig_type
        if kind not in (KconfigType.INT, KconfigType.CHAR, KconfigType.BOOL):
            raise _error(ext, f"value '{value}' implies integer, char, or boolean type")
        if kind is KconfigType.BOOL and value > 1:
            raise _error(ext, f"value '{value}' isn't boolean compatible")
        if not _in_range(ext, value):
            raise _error(ext, f"value '{value}' doesn't fit in {ext.size} bytes")
        mask = (1 << (8 * ext.size)) - 1
        self.write(ext, (value & mask).to_bytes(ext.size, self.byteorder))  # type: ignore[arg-type]

    def tristate(self, ext: ExternSpec, letter: str) -> None:
        """libbpf's ``set_kcfg_value_tri``."""
        kind = ext.kconfig_type
        if kind is KconfigType.BOOL:
            if letter == "m":
                raise _error(ext, f"value '{letter}' implies tristate or char type")
            self.write(ext, bytes([letter == "y"]))
        elif kind is KconfigType.TRISTATE:
            self.write(ext, _TRI[letter].to_bytes(ext.size, self.byteorder))  # type: ignore[arg-type]
        elif kind is KconfigType.CHAR:
            self.write(ext, letter.encode())
        else:
            raise _error(ext, f"value '{letter}' implies bool, tristate, or char type")

    def string(self, ext: ExternSpec, value: str) -> None:
        """libbpf's ``set_kcfg_value_str``: ``value`` still has its quotes."""
        if ext.kconfig_type is not KconfigType.CHAR_ARRAY:
            raise _error(ext, f"value '{value}' implies char array type")
        if len(value) < 2 or not value.endswith('"'):
            raise _error(ext, f"invalid string config '{value}'")
        text = value[1:-1].encode()[: ext.size - 1]
        self.write(ext, text + b"\0")


def _error(ext: ExternSpec, reason: str) -> SpecError:
    return SpecError(f"extern (kcfg) {ext.name!r}: {reason}")


def _in_range(ext: ExternSpec, value: int) -> bool:
    """libbpf's ``is_kcfg_value_in_range`` (``value`` as a u64)."""
    bits = ext.size * 8
    if ext.size == 8:
        return True
    if ext.signed:
        return (value + (1 << (bits - 1))) & _U64 < 1 << bits
    return value >> bits == 0


def _strtoull(text: str) -> int | None:
    """C's ``strtoull(text, &end, 0)`` when all of ``text`` is the number, else ``None``."""
    body = text.lstrip(" \t\n\v\f\r")
    negative = body.startswith("-")
    body = body[1:] if body[:1] in "+-" and body else body
    base = 10
    if body[:2].lower() == "0x":
        base, body = 16, body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, body = 8, body[1:]
    try:
        value = int(body, base) if body and body.isalnum() else None
    except ValueError:
        return None
    if value is None or value > _U64:
        return None
    return (-value) & _U64 if negative else value


def _apply_line(image: _Image, line: str) -> None:
    """libbpf's ``bpf_object__process_kconfig_line``."""
    if not line.startswith("CONFIG_"):
        return
    name, sep, value = line.rstrip("\n").partition("=")
    if not sep:
        raise SpecError(f"failed to parse kconfig line {line!r}: no separator")
    if not value:
        raise SpecError(f"failed to parse kconfig line {line!r}: no value")
    ext = image.by_name.get(name)
    if ext is None or name in image.set:
        return
    _apply_value(image, ext, value)


def _apply_value(image: _Image, ext: ExternSpec, value: str) -> None:
    if value[0] in "ynm":
        image.tristate(ext, value[0])
    elif value[0] == '"':
        image.string(ext, value)
    else:
        number = _strtoull(value)
        if number is None:
            raise _error(ext, f"value '{value}' isn't a valid integer")
        if ext.kconfig_type not in (KconfigType.INT, KconfigType.CHAR):
            raise _error(ext, f"value '{value}' implies integer type")
        image.number(ext, number)


def _override(image: _Image, name: str, value: str | int | bool) -> None:
    """A value the user gave for ``name`` (any kconfig extern, ``LINUX_*`` included)."""
    ext = image.by_name.get(name)
    if ext is None:
        return
    if isinstance(value, bool):
        value = "y" if value else "n"
    if isinstance(value, int):
        if ext.kconfig_type is KconfigType.BOOL and value in (0, 1):
            value = "y" if value else "n"
        else:
            image.number(ext, value & _U64)
            return
    if ext.kconfig_type is KconfigType.CHAR_ARRAY and not value.startswith('"'):
        value = f'"{value}"'
    if not value:
        raise _error(ext, "empty value")
    _apply_value(image, ext, value)


def _virtual(image: _Image, ext: ExternSpec, facts: KernelFacts) -> None:
    """libbpf's values of ``LINUX_*`` externs."""
    if ext.name == "LINUX_KERNEL_VERSION":
        value = facts.version()
        if not value:
            raise _error(ext, "failed to get kernel version")
    elif ext.name == "LINUX_HAS_BPF_COOKIE":
        value = int(facts.bpf_cookie())
    elif ext.name == "LINUX_HAS_SYSCALL_WRAPPER":
        value = int(facts.syscall_wrapper())
    elif not ext.name.startswith("LINUX_") or not ext.weak:
        raise _error(ext, "unrecognized virtual extern")
    else:
        return  # an unknown weak LINUX_ extern stays zero
    image.number(ext, value)


def kconfig_image(
    externs: Iterable[ExternSpec],
    size: int,
    facts: KernelFacts,
    overrides: KconfigOverrides | None = None,
    byteorder: str = "little",
) -> bytes:
    """The ``.kconfig`` map's value for these externs (non-kconfig ones are ignored).

    Raises:
        SpecError: a value that does not fit its extern, a line that does not parse, an
            unknown non-weak ``LINUX_*`` extern, a strong extern left unresolved.
    """
    kcfg = [e for e in externs if e.kind is ExternKind.KCONFIG]
    image = _Image(kcfg, size, byteorder)
    if isinstance(overrides, str):
        for line in overrides.splitlines():
            _apply_line(image, line)
    elif overrides:
        for name, value in overrides.items():
            _override(image, name, value)
    for ext in kcfg:
        if ext.name not in image.set and not ext.name.startswith("CONFIG_"):
            _virtual(image, ext, facts)
    pending = [e for e in kcfg if e.name.startswith("CONFIG_") and e.name not in image.set]
    lines = facts.config() if pending else None
    for line in lines or ():
        _apply_line(image, line)
    _check_strong(kcfg, image, config_read=lines is not None or not pending)
    return bytes(image.data)


def _check_strong(kcfg: list[ExternSpec], image: _Image, *, config_read: bool) -> None:
    for ext in kcfg:
        if ext.name in image.set or ext.weak:
            continue
        why = "" if config_read else " (no kernel config: /boot/config-* and /proc/config.gz)"
        raise SpecError(f"extern {ext.name!r} (strong): not resolved{why}")
