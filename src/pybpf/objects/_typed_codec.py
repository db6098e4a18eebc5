"""The codec of maps with BTF key and value types (kept apart from :mod:`pybpf.objects.codec`
so that loading maps does not import :mod:`pybpf.btf.values`)."""

from __future__ import annotations

from pybpf.btf.values import MapCodec
from pybpf.objects.codec import _RAW, Codec

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["TypedCodec"]


class TypedCodec(MapCodec, Codec):
    """Keys and values typed from BTF (see :class:`pybpf.btf.values.MapCodec` for the
    arguments and :mod:`pybpf.btf.values` for what each BTF type becomes).

    Example::

        m = Map.from_id(42)              # created with BTF: struct flow -> struct stats
        m[Flow(saddr=1, daddr=2)]        # stats(packets=3, bytes=180)
        m[{"saddr": 1, "daddr": 2}]      # the same key as a dict
        m.raw[bytes(8)]                  # raw bytes, always possible
    """

    def value_reader(self) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        found = self.value.reader() if self.value is not None else None
        return found if found is not None else (_RAW, self.decode_value)
