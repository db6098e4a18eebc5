"""The helper registry: helper functions by id and by name, user-extensible.

A helper is a Python function ``fn(env, r1, r2, r3, r4, r5) -> int``: ``env`` is the
:class:`~pybpf.vm.env.Env` of the run (memory, maps, the packet), the five arguments are the
registers as unsigned 64-bit ints, and the result becomes r0 (negative results are fine: they
are stored as their two's complement). A helper refuses bad arguments by raising
:class:`~pybpf.errors.VMError`; the VM adds the pc of the call.

Register a helper of your own on a VM::

    @vm.helpers.register(0x10000, name="my_sum")
    def my_sum(env, a, b, c, d, e):
        return a + b
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from pybpf.asm.helpers import HELPER_IDS, HELPER_NAMES
from pybpf.errors import VMError
from pybpf.vm._code import HelperFn

__all__ = ["HelperRegistry"]


class HelperRegistry(Mapping[int, HelperFn]):
    """Helpers by id (``registry[1]``) or kernel name (``registry["bpf_map_lookup_elem"]``;
    the ``bpf_`` prefix may be left out)."""

    def __init__(self, helpers: Mapping[int, HelperFn] | None = None) -> None:
        self._fns: dict[int, HelperFn] = dict(helpers or {})
        self._names: dict[int, str] = {}

    def register(
        self, helper: int | str, fn: HelperFn | None = None, *, name: str | None = None
    ) -> Callable[[HelperFn], HelperFn]:
        """Add or replace the helper ``helper`` (an id, or a kernel helper name).

        Usable directly (``register(5, fn)``) or as a decorator (``@register(5)``).

        Raises:
            VMError: ``helper`` is a name the kernel does not have.
        """
        hid = self.resolve(helper)
        if name is not None:
            self._names[hid] = name

        def add(func: HelperFn) -> HelperFn:
            self._fns[hid] = func
            return func

        if fn is not None:
            add(fn)
        return add

    def unregister(self, helper: int | str) -> None:
        """Remove a helper (programs calling it then fail to load)."""
        self._fns.pop(self.resolve(helper), None)

    def resolve(self, helper: int | str) -> int:
        """The id of ``helper`` (an id or a name).

        Raises:
            VMError: an unknown name.
        """
        if isinstance(helper, int):
            return helper
        for hid, known in self._names.items():
            if known == helper:
                return hid
        for candidate in (helper, f"bpf_{helper}"):
            if candidate in HELPER_IDS:
                return HELPER_IDS[candidate]
        raise VMError(f"unknown helper name {helper!r}")

    def name(self, hid: int) -> str:
        """The helper's name (the kernel's, or the one given at registration)."""
        return self._names.get(hid) or HELPER_NAMES.get(hid, f"helper#{hid}")

    def function(self, hid: int) -> HelperFn:
        """The function of helper ``hid``.

        Raises:
            VMError: no such helper in this registry.
        """
        fn = self._fns.get(hid)
        if fn is None:
            raise VMError(f"unknown helper {self.name(hid)} ({hid})")
        return fn

    def copy(self) -> HelperRegistry:
        """An independent registry with the same helpers."""
        new = HelperRegistry(self._fns)
        new._names = dict(self._names)
        return new

    def __getitem__(self, key: int | str) -> HelperFn:
        hid = self.resolve(key)
        if hid not in self._fns:
            raise KeyError(key)
        return self._fns[hid]

    def __contains__(self, key: object) -> bool:
        try:
            return self.resolve(key) in self._fns  # type: ignore[arg-type]
        except VMError:
            return False

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._fns))

    def __len__(self) -> int:
        return len(self._fns)
