"""Generate the BTF fixtures of tests/btf and their bpftool goldens (run by this Makefile).

- ``synthetic.{el,eb}.btf``: raw BTF written with pybpf's encoder, holding what clang never
  emits but bpftool must still print right: duplicate names (``___2`` suffixes), typedef and
  enumerator names colliding, ``__builtin_va_list``/``__gnuc_va_list``, GCC's ``__Poly8_t``,
  old-style (INT-encoded) bitfields, odd INT encodings, unknown linkages, an empty enum,
  8-byte enums, a top-level anonymous enum, a type tag with the attribute kflag, and names
  long enough to be truncated.
- ``split_base.btf`` / ``split_mod.btf``: a base and a split BTF built by libbpf itself
  (ctypes on libbpf.so.1), as pahole writes kernel module BTF; ``split_empty.btf`` is a valid
  split BTF without types, ``split_broken.btf`` a truncated one.
- ``NAME.txt`` / ``NAME.h``: ``bpftool btf dump file NAME [format c]`` of each object and
  blob (with ``-B split_base.btf`` for the split ones).
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

from pybpf.btf import (  # noqa: E402 - after the path set-up
    Array,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumValue,
    Float,
    Func,
    FuncLinkage,
    FuncProto,
    Fwd,
    Int,
    IntEncoding,
    Member,
    Param,
    Ptr,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    encode,
)

LONG = "x" * 260
OBJECTS = ("layout.bpfel.o", "layout.bpfeb.o")


def synthetic() -> list[Type]:
    """Types 1.. of the synthetic blob (comments give the ids)."""
    signed, none = IntEncoding.SIGNED, IntEncoding(0)
    return [
        Int(name="int", size=4, encoding=signed, nr_bits=32),  # 1
        Int(name="unsigned int", size=4, encoding=none, nr_bits=32),  # 2
        Int(name="char", size=1, encoding=IntEncoding.CHAR, nr_bits=8),  # 3
        Int(name="_Bool", size=1, encoding=IntEncoding.BOOL, nr_bits=8),  # 4
        Int(name="weird", size=4, encoding=IntEncoding(3), nr_bits=32),  # 5
        Int(name="__Poly8_t", size=1, nr_bits=8),  # 6
        Struct(name="dup", size=4, members=(Member("a", 1, 0),)),  # 7
        Struct(name="dup", size=8, members=(Member("a", 1, 0), Member("b", 5, 32))),  # 8
        Typedef(name="dup_t", type=7),  # 9
        Typedef(name="dup_t", type=8),  # 10
        Enum(name="e1", size=4, values=(EnumValue("dup_t", 1), EnumValue("E1_B", 2))),  # 11
        Typedef(name="__builtin_va_list", type=15),  # 12
        Typedef(name="__gnuc_va_list", type=0),  # 13
        TypeTag(name="noderef", type=1, kflag=True),  # 14
        Ptr(type=14),  # 15
        Struct(  # 16 (no member of __gnuc_va_list: bpftool 7.1 divides by its alignment, 0)
            name="uses",
            size=48,
            members=(
                Member("p", 15, 0),
                Member("va", 12, 64),
                Member("poly", 6, 128),
                Member("d1", 9, 160),
                Member("d2", 10, 192),
                Member("e", 11, 256),
                Member("bits", 27, 288),
                Member("w", 5, 320),
            ),
        ),
        Enum(name="", size=4, values=(EnumValue("TOP_ANON", 1),)),  # 17
        Enum64(name="e64_small", size=8, values=(EnumValue("E64_ONE", 1),)),  # 18
        Enum(name="e8", size=8, values=(EnumValue("E8_ONE", 1),)),  # 19
        Enum(name="e_empty", size=4),  # 20
        Fwd(name="fwd_union", is_union=True),  # 21
        FuncProto(type=1, params=(Param("a", 1), Param("", 0))),  # 22
        Func(name="ext_func", type=22, linkage=FuncLinkage.EXTERN),  # 23
        Var(name="odd_var", type=1, linkage=7),  # 24
        Datasec(name=".data", size=4, vars=(VarSecinfo(24, 0, 4),)),  # 25
        Int(name="int", size=4, encoding=signed, bits_offset=2, nr_bits=3),  # 26
        Struct(name="oldbits", size=4, members=(Member("x", 26, 0), Member("y", 26, 3))),  # 27
        Float(name="double", size=8),  # 28
        DeclTag(name="tag", type=16, component_idx=1),  # 29
        Func(name="weird_linkage", type=22, linkage=9),  # 30
        Struct(name=LONG, size=4, members=(Member("a", 1, 0),)),  # 31
        Struct(name=LONG, size=8, members=(Member("a", 1, 0), Member("b", 1, 32))),  # 32
        Struct(name="node", size=8, members=(Member("next", 35, 0),)),  # 33
        Typedef(name="node_t", type=33),  # 34
        Ptr(type=34),  # 35
        Struct(name="holder", size=16, members=(Member("f", 41, 0), Member("a", 37, 64))),  # 36
        Array(type=28, index_type=2, nelems=1),  # 37
        Union(name="tail", size=8, members=(Member("d", 28, 0), Member("e", 20, 0))),  # 38
        Const(type=38),  # 39
        Enum(name="uns", size=4, values=(EnumValue("BIG", 0xFFFFFFFF),)),  # 40
        Ptr(type=21),  # 41
    ]


def write_synthetic() -> None:
    types = synthetic()
    for order, tag in (("little", "el"), ("big", "eb")):
        (HERE / f"synthetic.{tag}.btf").write_bytes(encode(types, byteorder=order))  # type: ignore[arg-type]


class Libbpf:
    """The few libbpf calls that build BTF (``btf__add_*``), through ctypes."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libbpf.so.1")
        self.lib.btf__new_empty.restype = ctypes.c_void_p
        self.lib.btf__new_empty_split.restype = ctypes.c_void_p
        self.lib.btf__new_empty_split.argtypes = [ctypes.c_void_p]
        self.lib.btf__raw_data.restype = ctypes.c_void_p
        self.lib.btf__raw_data.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
        self.lib.btf__add_enum_value.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64]

    def call(self, name: str, btf: int, *args: object) -> int:
        fn = getattr(self.lib, f"btf__add_{name}")
        conv = [a.encode() if isinstance(a, str) else a for a in args]
        if fn.argtypes is None:
            fn.argtypes = [ctypes.c_void_p] + [
                ctypes.c_char_p if isinstance(a, bytes) else ctypes.c_int64 for a in conv
            ]
        result = fn(btf, *conv)
        if result < 0:
            raise RuntimeError(f"btf__add_{name}{args}: {result}")
        return int(result)

    def raw(self, btf: int) -> bytes:
        size = ctypes.c_uint32()
        ptr = self.lib.btf__raw_data(btf, ctypes.byref(size))
        return ctypes.string_at(ptr, size.value)


def write_split() -> None:
    lib = Libbpf()
    base = lib.lib.btf__new_empty()
    add = lib.call
    i32 = add("int", base, "int", 4, 1)  # 1
    add("int", base, "long unsigned int", 8, 0)  # 2
    task_ptr = add("ptr", base, 4)  # 3 (fields go right after their struct: refer forward)
    task = add("struct", base, "task_struct", 16)  # 4
    add("field", base, "pid", i32, 0, 0)
    add("field", base, "next", task_ptr, 64, 0)
    pid_t = add("typedef", base, "pid_t", i32)  # 5
    (HERE / "split_base.btf").write_bytes(lib.raw(base))

    mod = lib.lib.btf__new_empty_split(base)
    mod_task_ptr = add("ptr", mod, task)  # 6
    ctx_ptr = add("ptr", mod, 8)  # 7
    ctx = add("struct", mod, "mod_ctx", 24)  # 8
    add("field", mod, "task", mod_task_ptr, 0, 0)
    add("field", mod, "pid", pid_t, 64, 0)
    add("field", mod, "flags", i32, 96, 3)
    add("field", mod, "next", ctx_ptr, 128, 0)
    kind = add("enum", mod, "mod_kind", 4)  # 9
    add("enum_value", mod, "MOD_A", 0)
    add("enum_value", mod, "MOD_B", -1)
    proto = add("func_proto", mod, i32)  # 10
    add("func_param", mod, "ctx", ctx_ptr)
    add("func_param", mod, "kind", kind)
    func = add("func", mod, "mod_handler", 1, proto)  # 11
    var = add("var", mod, "mod_count", 1, i32)  # 12
    add("datasec", mod, ".data..percpu", 4)  # 13
    add("datasec_var_info", mod, var, 0, 4)
    add("decl_tag", mod, "bpf_kfunc", func, -1)  # 14
    add("type_tag", mod, "user", i32)  # 15
    add("typedef", mod, "task_struct", task)  # 16: a name taken from the base's strings
    del ctx
    split = lib.raw(mod)
    (HERE / "split_mod.btf").write_bytes(split)
    (HERE / "split_broken.btf").write_bytes(split[: len(split) - 37])
    empty = lib.lib.btf__new_empty_split(base)
    (HERE / "split_empty.btf").write_bytes(lib.raw(empty))


def bpftool(*args: str) -> bytes:
    return subprocess.run(["bpftool", *args], check=True, capture_output=True).stdout


def write_goldens() -> None:
    for name in (*OBJECTS, "synthetic.el.btf", "synthetic.eb.btf"):
        stem = name.rsplit(".", 1)[0]
        (HERE / f"{stem}.txt").write_bytes(bpftool("btf", "dump", "file", name))
        (HERE / f"{stem}.h").write_bytes(bpftool("btf", "dump", "file", name, "format", "c"))
    for name in ("split_mod.btf", "split_empty.btf"):
        stem = name.rsplit(".", 1)[0]
        base = ("-B", "split_base.btf")
        (HERE / f"{stem}.txt").write_bytes(bpftool(*base, "btf", "dump", "file", name))
        c = bpftool(*base, "btf", "dump", "file", name, "format", "c")
        (HERE / f"{stem}.h").write_bytes(c)


if __name__ == "__main__":
    import os

    os.chdir(HERE)
    write_synthetic()
    write_split()
    write_goldens()
