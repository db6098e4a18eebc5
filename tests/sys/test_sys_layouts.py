"""The attr and info layouts match the kernel's uapi header, field by field.

``uapi_layouts.json`` holds the C compiler's offsets for the newest header (regenerate with
``python -m tests.sys.uapi_layouts``); a live test recompiles when a compiler and the header
are at hand.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile

import pytest

from pybpf.sys._layout import fields_of
from tests.sys import uapi_layouts

GOLDEN = json.loads(uapi_layouts.GOLDEN.read_text())
CASES = [(cls, name) for cls in uapi_layouts.LAYOUTS for name in uapi_layouts.fields(cls)]


@pytest.mark.parametrize(("cls", "field"), CASES, ids=[f"{c.__name__}.{f}" for c, f in CASES])
def test_field_offset_matches_the_header(cls: type, field: str) -> None:
    assert getattr(cls, field).offset == GOLDEN[cls.__name__][field]


@pytest.mark.parametrize("cls", list(uapi_layouts.SIZES), ids=lambda c: c.__name__)
def test_size_matches_the_header(cls: type) -> None:
    assert ctypes.sizeof(cls) == GOLDEN[cls.__name__]["sizeof"]


@pytest.mark.parametrize("cls", list(uapi_layouts.LAYOUTS), ids=lambda c: c.__name__)
def test_layouts_have_no_hidden_padding(cls: type) -> None:
    """Every byte belongs to a declared field: padding is written out, so offsets do not
    depend on the host's alignment rules."""
    if issubclass(cls, ctypes.Union):
        return
    end = 0
    for _name, offset, size in fields_of(cls):
        assert offset in (end, end - 4)  # bit fields share their word
        end = max(end, offset + size)
    assert end == ctypes.sizeof(cls)


def test_live_compiler_agrees_with_the_golden_file() -> None:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang-19")
    if cc is None:
        pytest.skip("no C compiler to measure the header's layouts")
    if not os.path.exists("/tmp/bpf.h"):
        pytest.skip("the newest uapi header is not at /tmp/bpf.h")
    with tempfile.TemporaryDirectory() as tmp:
        measured = uapi_layouts.measure(uapi_layouts.newest_header_dir(tmp), cc)
    assert measured == GOLDEN
