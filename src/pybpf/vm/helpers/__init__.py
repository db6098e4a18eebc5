"""Helpers of the VM: the registry and the implementations of the kernel's common helpers.

:data:`DEFAULT_HELPERS` holds every helper the VM implements; each VM starts with a copy
(``vm.helpers``) that the user may extend or change (see :class:`HelperRegistry`).
"""

from __future__ import annotations

from pybpf.vm.helpers.events import EVENT_HELPERS
from pybpf.vm.helpers.maps import MAP_HELPERS
from pybpf.vm.helpers.net import NET_HELPERS
from pybpf.vm.helpers.registry import HelperRegistry
from pybpf.vm.helpers.strings import STRING_HELPERS
from pybpf.vm.helpers.system import SYSTEM_HELPERS

__all__ = ["DEFAULT_HELPERS", "HelperRegistry"]

DEFAULT_HELPERS = HelperRegistry(
    {**MAP_HELPERS, **EVENT_HELPERS, **SYSTEM_HELPERS, **STRING_HELPERS, **NET_HELPERS}
)
"""Every helper the VM implements, by id (copy it before changing it)."""
