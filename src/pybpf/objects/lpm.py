"""Longest-prefix-match trie maps (``lpm_trie``, Linux >= 4.11).

A key is a prefix length in bits and the data it applies to (an address, in network byte
order)::

    | prefixlen (u32, host order) | data[key_size - 4] (big-endian, most significant first) |

Keys are written as ``(prefixlen, data)`` where data is bytes, an int, or an
:mod:`ipaddress` address; an ``ipaddress`` network (``IPv4Network("10.0.0.0/8")``) is a key by
itself. Keys come back as :class:`LPMKey`. Looking up a full-length key finds the value of the
longest stored prefix that matches it.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from pybpf._uapi import MapType
from pybpf.objects._errors import CodecError
from pybpf.objects.codec import Codec, RawCodec, encode_exact
from pybpf.objects.kv import HashMap

__all__ = ["LPMCodec", "LPMKey", "LPMTrieMap"]

_PREFIXLEN = struct.Struct("=I")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class LPMKey(NamedTuple):
    """A trie key: ``prefixlen`` bits of ``data``."""

    prefixlen: int
    data: bytes

    @property
    def network(self) -> _Network:
        """The key as an :mod:`ipaddress` network (for 4- and 16-byte data)."""
        return ipaddress.ip_network((self.data, self.prefixlen), strict=False)


class LPMCodec(Codec):
    """Encodes ``(prefixlen, data)`` keys and networks; values through ``values`` codec."""

    def __init__(self, key_size: int, values: Codec) -> None:
        self.key_size, self.value_size = key_size, values.value_size
        self.data_size = key_size - 4
        self.values = values
        self.encode_value = values.encode_value  # type: ignore[method-assign]
        self.decode_value = values.decode_value  # type: ignore[method-assign]

    def encode_key(self, key: object) -> bytes:
        if isinstance(key, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            key = (key.prefixlen, key.network_address)
        if not isinstance(key, tuple) or len(key) != 2:
            if type(key) is bytes and len(key) == self.key_size:
                return key
            raise CodecError(f"an LPM key is (prefixlen, data) or a network, not {key!r}")
        prefixlen, data = key
        if not isinstance(prefixlen, int) or not 0 <= prefixlen <= self.data_size * 8:
            raise CodecError(f"prefixlen {prefixlen!r} is not in 0..{self.data_size * 8}")
        return _PREFIXLEN.pack(prefixlen) + self._data(data)

    def _data(self, data: object) -> bytes:
        if isinstance(data, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            data = data.packed
        return encode_exact(data, self.data_size, "LPM key data", "big")

    def decode_key(self, data: bytes) -> LPMKey:
        return LPMKey(_PREFIXLEN.unpack_from(data)[0], data[4 : self.key_size])

    def encode_value(self, value: object) -> bytes:
        return self.values.encode_value(value)

    def decode_value(self, data: bytes) -> object:
        return self.values.decode_value(data)


class LPMTrieMap(HashMap, types=(MapType.LPM_TRIE,)):
    """An ``lpm_trie`` map: keys are prefixes (see the module docstring)."""

    def raw_codec(self) -> Codec:
        return LPMCodec(self.key_size, RawCodec(self.key_size, self.value_size))

    def typed_codec(self) -> Codec:
        """Keys stay :class:`LPMKey` (prefixes, networks); values are typed from BTF."""
        return LPMCodec(self.key_size, super().typed_codec())
