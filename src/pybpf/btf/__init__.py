"""BTF, the BPF Type Format: parse, index, format and encode it, and read ``.BTF.ext``.

Example::

    from pybpf.btf import BTF, Kind, format_c

    vmlinux = BTF.from_path("/sys/kernel/btf/vmlinux", cache=True)
    (task,) = vmlinux.find("task_struct", Kind.STRUCT)
    for member, bit_offset in vmlinux.iter_members(task):
        print(member.name, bit_offset // 8, vmlinux.sizeof(member.type))

    obj = BTF.from_path("prog.bpf.o")         # an object's .BTF section
    print(format_c(obj))                       # as `bpftool btf dump file prog.bpf.o format c`

Pure: bytes in, values out. Only :meth:`BTF.from_path` and :mod:`pybpf.btf.cache` touch
the file system. Malformed input raises :class:`~pybpf.errors.BTFError` (naming the section
or file and the byte offset), never anything else.
"""

from __future__ import annotations

from pybpf._util import lazy_exports
from pybpf.btf._btf import BTF

# Bound here, not lazily: ``encode`` is also a submodule's name, and importing that submodule
# (``pybpf.btf.ext`` does) would set the package's ``encode`` to the module.
from pybpf.btf.encode import encode
from pybpf.btf.kinds import FuncLinkage, IntEncoding, Kind, VarLinkage
from pybpf.btf.types import (
    VOID,
    Array,
    Composite,
    Const,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    EnumType,
    EnumValue,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Member,
    Modifier,
    Param,
    Ptr,
    Ref,
    Restrict,
    Struct,
    Type,
    Typedef,
    TypeTag,
    Union,
    Var,
    VarSecinfo,
    Void,
    Volatile,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.btf._format_c import format_c
    from pybpf.btf._format_raw import format_raw
    from pybpf.btf._load import KernelBTF, load_kernel_btf
    from pybpf.btf.encode import StringTable
    from pybpf.btf.ext import BTFExt, CoreRelo, CoreReloKind, FuncInfo, LineInfo, encode_ext

# Imported on first use (see pybpf._util.lazy_exports): a CO-RE user needs BTF and the
# types, not the formatters.
__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf.btf.encode": "StringTable",
        "pybpf.btf.ext": "BTFExt CoreRelo CoreReloKind FuncInfo LineInfo encode_ext",
        "pybpf.btf._format_c": "format_c",
        "pybpf.btf._format_raw": "format_raw",
        "pybpf.btf._load": "KernelBTF load_kernel_btf",
    },
)


__all__ = [
    "BTF",
    "VOID",
    "Array",
    "BTFExt",
    "Composite",
    "Const",
    "CoreRelo",
    "CoreReloKind",
    "Datasec",
    "DeclTag",
    "Enum",
    "Enum64",
    "EnumType",
    "EnumValue",
    "Float",
    "Func",
    "FuncInfo",
    "FuncLinkage",
    "FuncProto",
    "Fwd",
    "Int",
    "IntEncoding",
    "KernelBTF",
    "Kind",
    "LineInfo",
    "Member",
    "Modifier",
    "Param",
    "Ptr",
    "Ref",
    "Restrict",
    "StringTable",
    "Struct",
    "Type",
    "TypeTag",
    "Typedef",
    "Union",
    "Var",
    "VarLinkage",
    "VarSecinfo",
    "Void",
    "Volatile",
    "encode",
    "encode_ext",
    "format_c",
    "format_raw",
    "load_kernel_btf",
]
