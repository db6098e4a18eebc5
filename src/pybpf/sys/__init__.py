"""The bpf(2) layer: attr layouts, one thin function per command, and the :class:`FD` type.

No policy lives here: a refused command raises :class:`~pybpf.errors.SyscallError` and that is
all. Exactly one function reaches the kernel (:func:`bpf`), through a swappable
:class:`Backend`; :class:`pybpf.sys.fake.FakeBackend` simulates the kernel for tests.
Linux only; imports nothing above :mod:`pybpf.errors`, :mod:`pybpf._util` and
:mod:`pybpf._uapi`. The names are exported lazily (:func:`pybpf._util.lazy_exports`): a
process that loads a program needs the attr layouts, not the ``bpf_*_info`` ones.
"""

from __future__ import annotations

from pybpf._util import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from pybpf.sys.attrs import (
        Attr,
        BtfLoadAttr,
        GetIdAttr,
        InfoAttr,
        LinkCreateAttr,
        MapBatchAttr,
        MapCreateAttr,
        MapElemAttr,
        ObjAttr,
        ProgLoadAttr,
        TestRunAttr,
    )
    from pybpf.sys.backend import (
        Backend,
        KernelBackend,
        bpf,
        command_name,
        current,
        last_error,
        prepare,
        use_backend,
    )
    from pybpf.sys.commands import (
        btf_get_fd_by_id,
        btf_get_next_id,
        btf_load,
        link_create,
        link_get_fd_by_id,
        link_get_next_id,
        map_create,
        map_delete_batch,
        map_delete_elem,
        map_freeze,
        map_get_fd_by_id,
        map_get_next_id,
        map_get_next_key,
        map_lookup_and_delete_batch,
        map_lookup_and_delete_elem,
        map_lookup_batch,
        map_lookup_elem,
        map_update_batch,
        map_update_elem,
        obj_get,
        obj_get_info_by_fd,
        obj_pin,
        prog_get_fd_by_id,
        prog_get_next_id,
        prog_load,
        prog_test_run,
    )
    from pybpf.sys.fd import FD
    from pybpf.sys.info import BtfInfo, LinkInfo, MapInfo, ProgInfo

__getattr__ = lazy_exports(
    __name__,
    {
        "pybpf.sys.attrs": (
            "Attr BtfLoadAttr GetIdAttr InfoAttr LinkCreateAttr MapBatchAttr MapCreateAttr "
            "MapElemAttr ObjAttr ProgLoadAttr TestRunAttr"
        ),
        "pybpf.sys.backend": (
            "Backend KernelBackend bpf command_name current last_error prepare use_backend"
        ),
        "pybpf.sys.commands": (
            "btf_get_fd_by_id btf_get_next_id btf_load link_create link_get_fd_by_id "
            "link_get_next_id map_create map_delete_batch map_delete_elem map_freeze "
            "map_get_fd_by_id map_get_next_id map_get_next_key map_lookup_and_delete_batch "
            "map_lookup_and_delete_elem map_lookup_batch map_lookup_elem map_update_batch "
            "map_update_elem obj_get obj_get_info_by_fd obj_pin prog_get_fd_by_id "
            "prog_get_next_id prog_load prog_test_run"
        ),
        "pybpf.sys.fd": "FD",
        "pybpf.sys.info": "BtfInfo LinkInfo MapInfo ProgInfo",
    },
)

__all__ = [
    "FD",
    "Attr",
    "Backend",
    "BtfInfo",
    "BtfLoadAttr",
    "GetIdAttr",
    "InfoAttr",
    "KernelBackend",
    "LinkCreateAttr",
    "LinkInfo",
    "MapBatchAttr",
    "MapCreateAttr",
    "MapElemAttr",
    "MapInfo",
    "ObjAttr",
    "ProgInfo",
    "ProgLoadAttr",
    "TestRunAttr",
    "bpf",
    "btf_get_fd_by_id",
    "btf_get_next_id",
    "btf_load",
    "command_name",
    "current",
    "last_error",
    "link_create",
    "link_get_fd_by_id",
    "link_get_next_id",
    "map_create",
    "map_delete_batch",
    "map_delete_elem",
    "map_freeze",
    "map_get_fd_by_id",
    "map_get_next_id",
    "map_get_next_key",
    "map_lookup_and_delete_batch",
    "map_lookup_and_delete_elem",
    "map_lookup_batch",
    "map_lookup_elem",
    "map_update_batch",
    "map_update_elem",
    "obj_get",
    "obj_get_info_by_fd",
    "obj_pin",
    "prepare",
    "prog_get_fd_by_id",
    "prog_get_next_id",
    "prog_load",
    "prog_test_run",
    "use_backend",
]
