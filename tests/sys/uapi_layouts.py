"""Where each pybpf layout lives in the uapi header, and a C program that prints its offsets.

``python -m tests.sys.uapi_layouts [HEADER_DIR]`` compiles the program against
``HEADER_DIR/linux/bpf.h`` (default: the newest header at /tmp/bpf.h, copied into a temporary
``linux/`` directory) and rewrites ``uapi_layouts.json``, the golden file
``test_sys_layouts.py`` compares the ctypes layouts with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pybpf.sys import attrs, info

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "uapi_layouts.json"

# layout -> (C object whose fields these are, pybpf field -> C member path overrides)
ATTR = "union bpf_attr"
LAYOUTS: dict[type, tuple[str, str, dict[str, str]]] = {
    attrs.MapCreateAttr: (ATTR, "", {}),
    attrs.MapElemAttr: (ATTR, "", {}),
    attrs.MapBatchAttr: (ATTR, "batch.", {}),
    attrs.ProgLoadAttr: (ATTR, "", {}),
    attrs.ObjAttr: (ATTR, "", {"bpf_fd": "bpf_fd", "file_flags": "file_flags"}),
    attrs.TestRunAttr: (ATTR, "test.", {}),
    attrs.GetIdAttr: (ATTR, "", {}),
    attrs.InfoAttr: (ATTR, "info.", {}),
    attrs.BtfLoadAttr: (ATTR, "", {}),
    attrs.LinkCreateAttr: (ATTR, "link_create.", {"extra": "target_btf_id"}),
    attrs.LinkCreateKprobeMulti: (ATTR, "link_create.kprobe_multi.", {}),
    attrs.LinkCreateUprobeMulti: (ATTR, "link_create.uprobe_multi.", {}),
    attrs.LinkCreateRelative: (ATTR, "link_create.tcx.", {}),
    attrs.LinkCreateNetfilter: (ATTR, "link_create.netfilter.", {}),
    info.ProgInfo: ("struct bpf_prog_info", "", {}),
    info.MapInfo: ("struct bpf_map_info", "", {}),
    info.BtfInfo: ("struct bpf_btf_info", "", {}),
    info.LinkInfo: ("struct bpf_link_info", "", {"extra": "raw_tracepoint"}),
}
# Members of nested layouts, as offsets relative to their parent in C.
NESTED_BASE = {
    attrs.LinkCreateKprobeMulti: "link_create.kprobe_multi",
    attrs.LinkCreateUprobeMulti: "link_create.uprobe_multi",
    attrs.LinkCreateRelative: "link_create.tcx",
    attrs.LinkCreateNetfilter: "link_create.netfilter",
}
SIZES = {
    attrs.MapBatchAttr: "sizeof(((union bpf_attr *)0)->batch)",
    attrs.TestRunAttr: "sizeof(((union bpf_attr *)0)->test)",
    attrs.InfoAttr: "sizeof(((union bpf_attr *)0)->info)",
    attrs.LinkCreateAttr: "sizeof(((union bpf_attr *)0)->link_create)",
    info.ProgInfo: "sizeof(struct bpf_prog_info)",
    info.MapInfo: "sizeof(struct bpf_map_info)",
    info.BtfInfo: "sizeof(struct bpf_btf_info)",
    info.LinkInfo: "sizeof(struct bpf_link_info)",
}


def fields(cls: type) -> list[str]:
    """The layout's named fields: padding and bit fields (which have no offsetof) left out."""
    return [f[0] for f in cls._fields_ if not f[0].startswith("_") and len(f) == 2]  # type: ignore[attr-defined]


def c_program() -> str:
    lines = [
        "#include <stdio.h>",
        "#include <stddef.h>",
        "#include <linux/bpf.h>",
        "int main(void) {",
    ]
    for cls, (obj, prefix, renames) in LAYOUTS.items():
        base = NESTED_BASE.get(cls)
        for name in fields(cls):
            member = prefix + renames.get(name, name)
            expr = f"offsetof({obj}, {member})"
            if base:
                expr += f" - offsetof({obj}, {base})"
            lines.append(f'printf("{cls.__name__} {name} %zu\\n", (size_t)({expr}));')
        if cls in SIZES:
            lines.append(f'printf("{cls.__name__} sizeof %zu\\n", (size_t){SIZES[cls]});')
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


def measure(include_dir: str, compiler: str) -> dict[str, dict[str, int]]:
    """Compile and run the program; ``{layout: {field: offset, "sizeof": size}}``."""
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "layouts.c", Path(tmp) / "layouts"
        src.write_text(c_program())
        extra = (
            ["-I/usr/include/x86_64-linux-gnu"]
            if os.path.isdir("/usr/include/x86_64-linux-gnu")
            else []
        )
        subprocess.run([compiler, "-I", include_dir, *extra, "-o", str(exe), str(src)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    table: dict[str, dict[str, int]] = {}
    for line in out.splitlines():
        layout, name, value = line.split()
        table.setdefault(layout, {})[name] = int(value)
    return table


def newest_header_dir(tmp: str, header: str = "/tmp/bpf.h") -> str:
    """A directory with ``linux/bpf.h`` copied from ``header``."""
    os.makedirs(os.path.join(tmp, "linux"), exist_ok=True)
    shutil.copy(header, os.path.join(tmp, "linux", "bpf.h"))
    return tmp


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        inc = sys.argv[1] if len(sys.argv) > 1 else newest_header_dir(tmp)
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang-19") or "cc"
        GOLDEN.write_text(json.dumps(measure(inc, cc), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
