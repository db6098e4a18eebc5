"""The running kernel's build configuration (``CONFIG_*``), as libbpf and bpftool find it."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["kernel_config", "parse_kernel_config"]


def parse_kernel_config(text: str) -> dict[str, str]:
    """``{"CONFIG_BPF": "y", "CONFIG_HZ": "250", ...}`` from .config text ("is not set" lines
    are left out, as the kernel's own tools do)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.startswith("CONFIG_"):
            values[name] = value.strip().strip('"')
    return values


def kernel_config() -> Mapping[str, str] | None:
    """The running kernel's configuration from /proc/config.gz or /boot/config-<release>;
    ``None`` when neither is readable."""
    import gzip  # noqa: PLC0415 - only kconfig externs read the configuration

    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return parse_kernel_config(f.read())
    except OSError:
        pass
    try:
        with open(f"/boot/config-{os.uname().release}") as f:
            return parse_kernel_config(f.read())
    except OSError:
        return None
