"""Coverage-guided fuzzing of pybpf.btf with atheris (a script for long runs, not run in CI).

Each input is split in two: a ``.BTF`` blob and a ``.BTF.ext`` blob. The BTF goes through
every entry point (index, decoding, names, lookups, sizes and alignments, member walks, both
formatters, re-encoding in both byte orders, type replacement); the ``.BTF.ext`` is parsed
against it and re-encoded. A blob is also tried as split BTF on top of a fixed base.
BTFError is the expected answer to bad input; any other exception, a hang or runaway memory
is a finding.

    pip install atheris
    python fuzz/fuzz_btf.py --seeds fuzz/corpus_btf        # write seeds from the fixtures
    python fuzz/fuzz_btf.py -max_len=65536 -rss_limit_mb=1024 -timeout=10 fuzz/corpus_btf

Seeds: the ``.BTF``/``.BTF.ext`` sections of tests/testdata/obj/*.o and the raw blobs of
tests/testdata/btf/, joined the way :func:`split_input` splits them.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import atheris

ROOT = Path(__file__).resolve().parent.parent

with atheris.instrument_imports():
    from pybpf.btf import BTF, BTFExt, Int, format_c, format_raw
    from pybpf.elf import ELFFile
    from pybpf.errors import BTFError, ELFError

_T = TypeVar("_T")
BASE = BTF(
    (ROOT / "tests/testdata/btf/split_base.btf").read_bytes()
    if (ROOT / "tests/testdata/btf/split_base.btf").exists()
    else b"\x9f\xeb\x01\x00\x18\x00\x00\x00" + bytes(12) + b"\x01\x00\x00\x00\x00"
)


def split_input(data: bytes) -> tuple[bytes, bytes]:
    """``u32 length of the .BTF part`` + .BTF + .BTF.ext (a short input is all .BTF)."""
    if len(data) < 4:
        return data, b""
    (n,) = struct.unpack_from("<I", data)
    return data[4 : 4 + n], data[4 + n :]


def join_input(btf: bytes, ext: bytes) -> bytes:
    return struct.pack("<I", len(btf)) + btf + ext


def _guard(call: Callable[[], _T]) -> _T | None:
    """Run ``call``; BTFError is a correct answer, so go on with the next entry point."""
    try:
        return call()
    except BTFError:
        return None


def touch(btf: BTF) -> None:
    repr(btf)
    _guard(btf.validate)
    for type_id in range(len(btf)):
        t = _guard(lambda i=type_id: btf[i])  # type: ignore[misc]
        _guard(lambda i=type_id: btf.name_of(i))  # type: ignore[misc]
        btf.kind_of(type_id)
        _guard(lambda i=type_id: btf.sizeof(i))  # type: ignore[misc]
        _guard(lambda i=type_id: btf.alignof(i))  # type: ignore[misc]
        _guard(lambda i=type_id: btf.skip_mods_and_typedefs(i))  # type: ignore[misc]
        _guard(lambda i=type_id: list(btf.iter_members(i, flatten=True)))  # type: ignore[misc]
        if t is not None and t.name:
            btf.find(t.name)
            btf.find_flavors(t.name)
    _guard(lambda: format_raw(btf))
    _guard(lambda: format_c(btf))
    for order in ("little", "big"):
        _guard(lambda o=order: BTF(btf.encode(o)))  # type: ignore[misc]
    if len(btf) > btf.start_id:
        _guard(lambda: btf.replaced({btf.start_id: Int(name="int", size=4, nr_bits=32)}))


def test_one_input(data: bytes) -> None:
    btf_part, ext_part = split_input(data)
    for base in (None, BASE):
        btf = _guard(lambda b=base: BTF(btf_part, base=b, name="fuzz"))  # type: ignore[misc]
        if btf is None:
            continue
        touch(btf)
        ext = _guard(lambda b=btf: BTFExt(ext_part, b))  # type: ignore[misc]
        if ext is not None:
            _guard(ext.encode)


def write_seeds(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for obj in sorted((ROOT / "tests/testdata/obj").glob("*.o")):
        try:
            elf = ELFFile.from_path(obj)
        except ELFError:
            continue
        btf, ext = elf.get_section_by_name(".BTF"), elf.get_section_by_name(".BTF.ext")
        if btf is not None:
            extra = bytes(ext.data) if ext is not None else b""
            (folder / obj.name).write_bytes(join_input(bytes(btf.data), extra))
    for blob in sorted((ROOT / "tests/testdata/btf").glob("*.btf")):
        (folder / blob.name).write_bytes(join_input(blob.read_bytes(), b""))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        write_seeds(Path(sys.argv[2]))
        return
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
