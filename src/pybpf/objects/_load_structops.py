"""struct_ops maps: the kernel's layout of their value, and what their programs attach to.

As libbpf's ``bpf_map__init_kern_struct_ops``: the object's ``struct tcp_congestion_ops``
(say) is matched, member by member and by name, against the kernel's
``struct bpf_struct_ops_tcp_congestion_ops`` (vmlinux BTF, else a module's), whose ``data``
member is the kernel's ``struct tcp_congestion_ops``::

    kernel value  | refcnt, state ... | data: struct tcp_congestion_ops            |
                                      | ssthresh* | cong_avoid* | ... | name[16] |
                                        ^ a program's fd, once loaded  ^ copied from the object

Data members are copied (same size required); a function pointer member names a program,
which loads with ``attach_btf_id`` = the kernel struct's id and ``expected_attach_type`` =
the member's index there. A member the kernel lacks must be zero (its program is not
loaded). The map is created with ``btf_vmlinux_value_type_id`` = the kernel value type; the
value (with the programs' fds) is what registering the struct_ops writes into it, at attach
time, not at load.
"""

from __future__ import annotations

import struct

from pybpf._records import field, immutable, record, replace
from pybpf._uapi import MapType
from pybpf.btf._btf import BTF
from pybpf.btf._load import KernelBTF
from pybpf.btf.kinds import Kind
from pybpf.btf.types import Composite, FuncProto, Member, Ptr, Struct
from pybpf.errors import SyscallError
from pybpf.objects._create import object_name
from pybpf.objects._errors import SpecError, with_hint
from pybpf.objects._load_kernel import find_in_kernel
from pybpf.objects._memlock import memlock_raised
from pybpf.objects.map import Map
from pybpf.spec import MapSpec
from pybpf.spec.core import essential_name
from pybpf.sys import MapCreateAttr, map_create

__all__ = ["Attach", "StructOpsPlan", "create_struct_ops_map", "plan_struct_ops"]

STRUCT_OPS_VALUE_PREFIX = "bpf_struct_ops_"
BPF_F_VTYPE_BTF_OBJ_FD = 1 << 15
_FD = struct.Struct("=Q")  # the value holds an ``unsigned long`` per function pointer


@immutable
class Attach:
    """What a struct_ops program loads against: the kernel struct's BTF id, the member's
    index in it (its expected attach type) and the module holding it (``""``: vmlinux)."""

    btf_id: int
    member: int
    module: str


@record
class StructOpsPlan:
    """A struct_ops map laid out the kernel's way (see the module docstring)."""

    name: str
    value_type_id: int
    module: str
    value: bytearray
    slots: list[tuple[str, int]] = field(default_factory=list)  # (program, byte offset)
    dropped: set[str] = field(default_factory=set)  # programs of members the kernel lacks

    def value_with(self, fds: dict[str, int]) -> bytes:
        """The value with each loaded program's fd in its member."""
        out = bytearray(self.value)
        for prog, offset in self.slots:
            if prog in fds:
                _FD.pack_into(out, offset, fds[prog])
        return bytes(out)


def _error(mspec: MapSpec, reason: str) -> SpecError:
    return SpecError(f"struct_ops {mspec.name!r}: {reason}")


def _kernel_types(mspec: MapSpec, tname: str, kbtf: KernelBTF) -> tuple[BTF, int, int, int, str]:
    """libbpf's ``find_struct_ops_kern_types``: the kernel's value struct, the struct, the
    byte offset of the struct in the value, and the module."""
    found = find_in_kernel(kbtf, STRUCT_OPS_VALUE_PREFIX + tname, Kind.STRUCT)
    if found is None:
        raise _error(mspec, f"struct {STRUCT_OPS_VALUE_PREFIX}{tname} is not in the kernel's BTF")
    btf = found.btf
    type_id = btf.find_by_name_kind(tname, Kind.STRUCT)
    vtype = btf[found.type_id]
    if type_id is None or not isinstance(vtype, Struct):
        raise _error(mspec, f"struct {tname} is not in the kernel's BTF")
    data = next((m for m in vtype.members if m.type == type_id), None)
    if data is None:
        raise _error(mspec, f"struct {tname} data is not in struct {vtype.name}")
    return btf, found.type_id, type_id, data.bit_offset // 8, found.module


def plan_struct_ops(mspec: MapSpec, kbtf: KernelBTF, attach: dict[str, Attach]) -> StructOpsPlan:
    """Lay ``mspec``'s value out the kernel's way; record in ``attach`` what each of its
    programs loads against.

    Raises:
        SpecError: no such struct_ops in the kernel; a member it lacks that is set, a
            bitfield, a member of another kind or size; a program used by two members that
            differ.
    """
    local = mspec.btf
    if not isinstance(local, BTF) or mspec.value_type is None:
        raise _error(mspec, "has no BTF value type")
    ltype = local[mspec.value_type]
    if not isinstance(ltype, Struct):
        raise _error(mspec, "value is not a struct")
    kern, vtype_id, ktype_id, data_off, module = _kernel_types(
        mspec, essential_name(ltype.name), kbtf
    )
    ktype = kern[ktype_id]
    if not isinstance(ktype, Struct):  # _kernel_types looked for a STRUCT
        raise _error(mspec, f"kernel type [{ktype_id}] is not a struct")
    plan = StructOpsPlan(mspec.name, vtype_id, module, bytearray(kern.sizeof(vtype_id)))
    data = mspec.data or bytes(ltype.size)
    for member in ltype.members:
        _member(mspec, plan, (local, member, data), (kern, ktype, ktype_id, data_off), attach)
    return plan


def _member(
    mspec: MapSpec,
    plan: StructOpsPlan,
    mine: tuple[BTF, Member, bytes],
    theirs: tuple[BTF, Composite, int, int],
    attach: dict[str, Attach],
) -> None:
    local, member, data = mine
    kern, ktype, ktype_id, data_off = theirs
    size = local.sizeof(member.type)
    start = member.bit_offset // 8
    mdata = data[start : start + size]
    prog = mspec.struct_ops.get(member.name)
    index = next((i for i, m in enumerate(ktype.members) if m.name == member.name), None)
    if index is None:
        if any(mdata):
            raise _error(mspec, f"member {member.name} is not in the kernel's BTF")
        if prog is not None:
            plan.dropped.add(prog)
        return
    kmember = ktype.members[index]
    if member.bitfield_size or kmember.bitfield_size:
        raise _error(mspec, f"bitfield {member.name} is not supported")
    koff = data_off + kmember.bit_offset // 8
    _, mtype = local.skip_mods_and_typedefs(member.type)
    kid, kmtype = kern.skip_mods_and_typedefs(kmember.type)
    if mtype.kind != kmtype.kind:
        raise _error(
            mspec, f"member {member.name}: {mtype.kind.name} here, {kmtype.kind.name} in the kernel"
        )
    if isinstance(kmtype, Ptr):
        if prog is not None:
            where = (kern, kmtype, ktype_id, index, koff)
            _slot(mspec, plan, (member.name, prog), where, attach)
        return
    if kern.sizeof(kid) != size:
        raise _error(
            mspec, f"member {member.name}: {size} bytes here, {kern.sizeof(kid)} in the kernel"
        )
    plan.value[koff : koff + size] = mdata


def _slot(
    mspec: MapSpec,
    plan: StructOpsPlan,
    names: tuple[str, str],
    where: tuple[BTF, Ptr, int, int, int],
    attach: dict[str, Attach],
) -> None:
    """Record that member ``names[0]`` is program ``names[1]``."""
    mname, prog = names
    kern, kptr, ktype_id, index, koff = where
    _, pointee = kern.skip_mods_and_typedefs(kptr.type)
    if not isinstance(pointee, FuncProto):
        raise _error(mspec, f"kernel member {mname} is not a function pointer")
    want = Attach(ktype_id, index, plan.module)
    seen = attach.setdefault(prog, want)
    if seen != want:
        raise _error(
            mspec,
            f"member {mname}: program {prog!r} already implements member #{seen.member} "
            f"of kernel type [{seen.btf_id}]; a program may serve one member only",
        )
    plan.slots.append((prog, koff))


def create_struct_ops_map(mspec: MapSpec, plan: StructOpsPlan, btf_fd: int, module_fd: int) -> Map:
    """Create the struct_ops map of ``plan`` (``module_fd``: the module's BTF, if any).

    Raises:
        SyscallError: the kernel refused.
    """
    attr = MapCreateAttr(
        map_type=MapType.STRUCT_OPS,
        key_size=4,
        value_size=len(plan.value),
        max_entries=1,
        map_flags=mspec.flags,
        map_name=object_name(mspec.kernel_name or mspec.name),
        btf_fd=btf_fd,
        btf_vmlinux_value_type_id=plan.value_type_id,
    )
    if module_fd:
        attr.value_type_btf_obj_fd = module_fd
        attr.map_flags |= BPF_F_VTYPE_BTF_OBJ_FD
    try:
        fd = map_create(attr)
    except SyscallError as exc:
        if not memlock_raised(exc.errno or 0):
            raise with_hint(exc, f"creating struct_ops map {mspec.name!r}") from None
        try:
            fd = map_create(attr)  # once more, RLIMIT_MEMLOCK lifted
        except SyscallError as again:
            raise with_hint(again, f"creating struct_ops map {mspec.name!r}") from None
    made = replace(mspec, value_size=len(plan.value), key_size=4, max_entries=1)
    return Map._wrap(fd, made)
