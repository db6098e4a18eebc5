"""Loading a whole :class:`~pybpf.spec.CollectionSpec`: :class:`Collection`.

What libbpf does at ``bpf_object__load``, in its order:

1. choose the programs (all with ``autoload``, or the ones asked for) and the maps they use
   — a partial load creates only those, the maps their maps of maps name, and the
   struct_ops maps that use them;
2. lay struct_ops maps out the kernel's way (:mod:`~pybpf.objects._load_structops`);
3. resolve externs: ksyms and kfuncs (:mod:`~pybpf.objects._ksyms`), the ``.kconfig``
   values (:mod:`~pybpf.objects._kconfig`);
4. relocate the programs: CO-RE against the running kernel's BTF, externs patched in,
   attach types and targets found (:mod:`~pybpf.objects._load_progs`);
5. load the collection's BTF, fixed up and sanitised for the kernel
   (:mod:`~pybpf.objects._load_btf`);
6. create the maps, reuse or pin the ``BY_NAME`` ones, write global data and contents,
   freeze ``.rodata`` (:mod:`~pybpf.objects._load_maps`);
7. load the programs with the maps' fds and func/line info;
8. fill prog arrays, and the struct_ops values, with the programs loaded.

Everything made is closed on :meth:`Collection.close` (and on a failure part way, with the
pins it made removed); maps handed in through ``maps=`` are used, not owned.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType, TracebackType

from pybpf._records import replace
from pybpf._uapi import MapType
from pybpf.errors import SyscallError, VerifierError
from pybpf.features import BPF_COOKIE, have, kernel_version_code
from pybpf.objects._errors import SpecError
from pybpf.objects._kconfig import KconfigOverrides, KernelFacts, kconfig_image, read_kernel_config
from pybpf.objects._load_btf import LoadedBTF, load_collection_btf
from pybpf.objects._load_kernel import KernelView, has_syscall_wrapper
from pybpf.objects._load_maps import MapMaker, arena_data_offset
from pybpf.objects._load_progs import Prepared, ProgramPreparer, load_prepared
from pybpf.objects.map import Map
from pybpf.objects.pin import BPFFS_ROOT
from pybpf.objects.program import Program
from pybpf.spec import CollectionSpec, ExternKind, MapSpec, ProgramSpec
from pybpf.sys import KernelBackend, current

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    from typing import Any

    from pybpf.objects._ksyms import Resolved
    from pybpf.objects._load_structops import Attach, StructOpsPlan
    from pybpf.objects._load_vars import GlobalVariable
    from pybpf.spec.core import CoreResult
    from pybpf.spec.core.relocate import Targets

# (externs, struct_ops and global variables are imported where they are used: a load of an
# object without them does not pay for their modules)

__all__ = ["Collection"]

_MAP_SRCS = (1, 2)  # lddw of a map's fd or of an address in its value


class Collection:
    """Maps, programs and global variables loaded together (``.maps``, ``.programs``,
    ``.variables``: read-only dicts by name).

    ``core`` has each program's CO-RE results (what every relocation did, with libbpf's
    debug lines); :meth:`struct_ops_value` the value to register a struct_ops map with.
    A context manager: leaving the ``with`` block closes what the load made.
    """

    def __init__(
        self,
        maps: dict[str, Map],
        programs: dict[str, Program],
        variables: dict[str, GlobalVariable],
        owned: list[Any],
        *,
        core: Mapping[str, Sequence[CoreResult]] | None = None,
        struct_ops: Mapping[str, bytes] | None = None,
    ) -> None:
        self.maps: Mapping[str, Map] = MappingProxyType(maps)
        self.programs: Mapping[str, Program] = MappingProxyType(programs)
        self.variables: Mapping[str, GlobalVariable] = MappingProxyType(variables)
        self.core: Mapping[str, Sequence[CoreResult]] = MappingProxyType(dict(core or {}))
        self._struct_ops = dict(struct_ops or {})
        self._owned = owned

    @classmethod
    def load(
        cls,
        spec: CollectionSpec,
        *,
        programs: Iterable[str] | None = None,
        maps: Mapping[str, Map] | None = None,
        pin_root: str = BPFFS_ROOT,
        kconfig: KconfigOverrides | None = None,
        btf: Targets | None = None,
        attach_programs: Mapping[str, object] | None = None,
        log_level: int = 0,
    ) -> Collection:
        """Load ``spec`` (see the module docstring for the steps).

        Args:
            programs: the programs to load (default: every one with ``autoload``); only
                the maps they use are created.
            maps: existing maps to use instead of creating the ones of those names.
            pin_root: where maps pinned ``BY_NAME`` live.
            kconfig: kconfig values that take precedence over the kernel's config
                (``.config`` text or ``{"CONFIG_HZ": 1000, ...}``; ``LINUX_*`` too).
            btf: the BTF to apply CO-RE relocations against instead of the running
                kernel's (a BTF, or vmlinux then module BTFs).
            attach_programs: for ``freplace`` programs, the program (or fd) whose function
                each replaces, by program name.
            log_level: verifier log level of every program load (the logs are kept on the
                programs as ``verifier_log``).

        Raises:
            SpecError: an unknown program or map name, an incompatible pinned map, an
                unresolved strong extern, a missing attach target.
            CoreError: a CO-RE relocation libbpf would refuse.
            VerifierError: a program the verifier refused (with its source line, and
                poisoned CO-RE relocations explained).
            NotSupportedError, SyscallError: as :meth:`Map.create` and :meth:`Program.load`.
        """
        loader = _Loader(spec, maps or {}, pin_root, log_level)
        try:
            return loader.run(_chosen(spec, programs), kconfig, btf, attach_programs or {})
        except BaseException:
            loader.undo()
            raise
        finally:
            loader.kernel.close()

    def struct_ops_value(self, name: str) -> bytes:
        """The value that registers struct_ops map ``name``: the kernel's layout, with the
        loaded programs' fds in their members (write it at key 0, or give it to a link).

        Raises:
            KeyError: no struct_ops map of that name was loaded.
        """
        return self._struct_ops[name]

    def close(self) -> None:
        """Close every map and program this collection made."""
        for obj in reversed(self._owned):
            obj.close()
        self._owned.clear()

    def __enter__(self) -> Collection:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Collection(maps={sorted(self.maps)}, programs={sorted(self.programs)})"


def _chosen(spec: CollectionSpec, names: Iterable[str] | None) -> list[str] | None:
    """The programs asked for by name (``None``: every program with ``autoload``)."""
    if names is None:
        return None
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in spec.programs]
    if unknown:
        raise SpecError(f"no program named {', '.join(map(repr, unknown))} in the collection")
    return chosen


def _map_refs(prog: ProgramSpec) -> set[str]:
    insns = prog.instructions
    return {i.ref for i in insns if i.ref is not None and i.is_wide and i.src in _MAP_SRCS}


class _Loader:
    def __init__(
        self, spec: CollectionSpec, given: Mapping[str, Map], pin_root: str, log_level: int
    ) -> None:
        if spec.byte_order != sys.byteorder:
            raise SpecError(
                f"the collection is {spec.byte_order}-endian; this kernel is {sys.byteorder}"
            )
        self.spec, self.given, self.log_level = spec, given, log_level
        self.maps: dict[str, Map] = dict(given)
        self.programs: dict[str, Program] = {}
        self.owned: list[Any] = []
        self.pinned: list[str] = []
        self.kernel = KernelView()
        self.pin_root = pin_root

    def run(
        self,
        asked: list[str] | None,
        kconfig: KconfigOverrides | None,
        core_btf: Targets | None,
        attach_programs: Mapping[str, object],
    ) -> Collection:
        self.kernel = KernelView(core_btf)
        chosen = asked if asked is not None else self._autoload()
        needed = self._needed_maps(chosen, full=asked is None)
        attach: dict[str, Attach] = {}
        plans = self._struct_ops(needed, attach)
        chosen = self._drop_unused_struct_ops(chosen, plans, attach, asked is not None)
        ksyms = self._ksyms(chosen)
        images = self._kconfig(needed, kconfig)
        arena = {n: arena_data_offset(self.spec.maps[n], _full_range_lddw) for n in needed}
        preparer = ProgramPreparer(
            self.spec,
            self.kernel,
            ksyms=ksyms,
            struct_ops=attach,
            attach_programs=attach_programs,
            arena=arena,
        )
        prepared = {name: preparer.prepare(name) for name in chosen}
        btf = load_collection_btf(self.spec, mandatory=bool(plans))
        self.owned.append(btf)
        self._make_maps(needed, btf, images, plans, arena)
        for prep in prepared.values():
            preparer.attach_target(prep)
            self._load(prep, btf)
        self._fill_prog_arrays()
        fds = {name: prog.fileno() for name, prog in self.programs.items()}
        values = {name: plan.value_with(fds) for name, plan in plans.items()}
        core = {name: prep.core for name, prep in prepared.items()}
        return Collection(
            self.maps, self.programs, self._variables(), self.owned, core=core, struct_ops=values
        )

    def undo(self) -> None:
        for path in self.pinned:
            with contextlib.suppress(OSError):
                os.unlink(path)
        for obj in reversed(self.owned):
            obj.close()

    # -- what to load ------------------------------------------------------------------------
    def _autoload(self) -> list[str]:
        return [n for n, p in self.spec.programs.items() if p.autoload]

    def _needed_maps(self, chosen: list[str], *, full: bool) -> list[str]:
        """The maps to create, in spec order: all of them for a full load; else those the
        programs use, the maps their contents name, and the struct_ops maps using them."""
        spec = self.spec
        if full:
            return [n for n in spec.maps if n not in self.given]
        names: set[str] = set()
        for prog in chosen:
            names |= _map_refs(spec.programs[prog])
        wanted = set(chosen)
        for name, mspec in spec.maps.items():
            if mspec.type == MapType.STRUCT_OPS and wanted & set(mspec.struct_ops.values()):
                names.add(name)
        unknown = names - set(spec.maps) - set(self.given)
        if unknown:
            raise SpecError(f"programs use maps not in the collection: {sorted(unknown)}")
        names |= self._content_maps(names)
        return [n for n in spec.maps if n in names and n not in self.given]

    def _content_maps(self, names: set[str]) -> set[str]:
        """The maps named by the contents of maps of maps in ``names``, transitively."""
        found: set[str] = set()
        todo = list(names)
        while todo:
            mspec = self.spec.maps.get(todo.pop())
            if mspec is None or mspec.type == MapType.PROG_ARRAY:
                continue
            for _, value in mspec.contents:
                if isinstance(value, str) and value not in found | names:
                    found.add(value)
                    todo.append(value)
        return found

    # -- kernel-dependent preparation --------------------------------------------------------
    def _struct_ops(self, needed: list[str], attach: dict[str, Attach]) -> dict[str, StructOpsPlan]:
        plans: dict[str, StructOpsPlan] = {}
        for name in needed:
            mspec = self.spec.maps[name]
            if mspec.type == MapType.STRUCT_OPS:
                from pybpf.objects._load_structops import plan_struct_ops  # noqa: PLC0415

                plans[name] = plan_struct_ops(mspec, self.kernel.btf(), attach)
        return plans

    def _drop_unused_struct_ops(
        self,
        chosen: list[str],
        plans: dict[str, StructOpsPlan],
        attach: dict[str, Attach],
        asked: bool,
    ) -> list[str]:
        """libbpf's ``bpf_object_adjust_struct_ops_autoload``: a program only for members
        the kernel lacks is not loaded (an error when it was asked for by name)."""
        dropped = {p for plan in plans.values() for p in plan.dropped if p not in attach}
        if asked and dropped & set(chosen):
            names = ", ".join(sorted(dropped & set(chosen)))
            raise SpecError(f"struct_ops programs {names} implement members the kernel lacks")
        return [n for n in chosen if n not in dropped]

    def _ksyms(self, chosen: list[str]) -> dict[str, Resolved]:
        externs = self.spec.externs
        if not externs:
            return {}
        from pybpf.objects._ksyms import extern_refs, resolve_ksyms  # noqa: PLC0415

        used: set[str] = set()
        for name in chosen:
            used |= extern_refs(self.spec.programs[name].instructions, externs)
        wanted = [
            e for e in externs.values() if e.name in used and e.kind is not ExternKind.KCONFIG
        ]
        if not wanted:
            return {}
        kbtf = self.kernel.btf_or_none() if any(e.typed for e in wanted) else None
        return resolve_ksyms(wanted, kbtf, self.kernel.modules)

    def _kconfig(self, needed: list[str], kconfig: KconfigOverrides | None) -> dict[str, bytes]:
        mspec = self.spec.maps.get(".kconfig")
        if mspec is None or ".kconfig" not in needed:
            return {}
        facts = KernelFacts(
            version=kernel_version_code,
            bpf_cookie=lambda: have(BPF_COOKIE),
            syscall_wrapper=lambda: has_syscall_wrapper(self.kernel.btf_or_none()),
            config=read_kernel_config,
        )
        image = kconfig_image(
            self.spec.externs.values(), mspec.value_size, facts, kconfig, self.spec.byte_order
        )
        return {".kconfig": image}

    # -- kernel objects ----------------------------------------------------------------------
    def _make_maps(
        self,
        needed: list[str],
        btf: LoadedBTF,
        images: dict[str, bytes],
        plans: dict[str, StructOpsPlan],
        arena: dict[str, int],
    ) -> None:
        handle = btf if btf.handle is not None else None
        maker = MapMaker(
            handle,
            btf.fixed,
            self.pin_root,
            variables=self.spec.variables,
            owned=self.owned,
            pinned=self.pinned,
        )
        for name in self._creation_order(needed):
            mspec = self.spec.maps[name]
            if name in images:
                mspec = replace(mspec, data=images[name])
            if name in plans:
                made = self._struct_ops_map(mspec, plans[name], btf)
            else:
                made = maker.make(mspec, self.maps, arena.get(name, 0))
            self.maps[name] = made

    def _creation_order(self, needed: list[str]) -> list[str]:
        """``needed`` with every map after the maps its contents name."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order or name in self.given:
                return
            if name in visiting:
                raise SpecError(f"map {name!r} contains itself through its contents")
            visiting.add(name)
            mspec = self.spec.maps[name]
            if mspec.type != MapType.PROG_ARRAY:
                for _, value in mspec.contents:
                    if isinstance(value, str):
                        if value not in self.spec.maps and value not in self.given:
                            raise SpecError(f"map {name!r}: no map named {value!r}")
                        visit(value)
            order.append(name)

        for name in needed:
            visit(name)
        return order

    def _struct_ops_map(self, mspec: MapSpec, plan: StructOpsPlan, btf: LoadedBTF) -> Map:
        from pybpf.objects._load_structops import create_struct_ops_map  # noqa: PLC0415

        module_fd = self.kernel.modules.fd(plan.module) if plan.module else 0
        made = create_struct_ops_map(mspec, plan, btf.fileno(), module_fd)
        self.owned.append(made)
        return made

    def _load(self, prepared: Prepared, btf: LoadedBTF) -> None:
        name = prepared.spec.name
        externs = list(self.spec.externs)
        try:
            prog = load_prepared(
                prepared, self.maps, btf, self.kernel, externs=externs, log_level=self.log_level
            )
        except SyscallError as exc:
            raise _naming(exc, name) from exc.__cause__
        self.owned.append(prog)
        self.programs[name] = prog

    def _fill_prog_arrays(self) -> None:
        for name, mspec in self.spec.maps.items():
            if mspec.type != MapType.PROG_ARRAY or name not in self.maps or name in self.given:
                continue
            table = self.maps[name]
            for key, value in mspec.contents:
                target: object = value
                if isinstance(value, str):
                    if value not in self.spec.programs:
                        raise SpecError(f"map {name!r}: no program named {value!r}")
                    if value not in self.programs:
                        continue  # not loaded in this (partial) load
                    target = self.programs[value]
                table[key] = target  # type: ignore[index]

    def _variables(self) -> dict[str, GlobalVariable]:
        out: dict[str, GlobalVariable] = {}
        if not self.spec.variables:
            return out
        from pybpf.objects._load_vars import GlobalVariable  # noqa: PLC0415
        from pybpf.objects.kv import KeyValueMap  # noqa: PLC0415

        mapped = isinstance(current(), KernelBackend)
        for name, var in self.spec.variables.items():
            target = self.maps.get(var.map_name)
            if isinstance(target, KeyValueMap):
                out[name] = GlobalVariable(var, target, mapped=mapped)
        return out


def _naming(exc: SyscallError, program: str) -> SyscallError:
    """``exc`` saying which program the kernel refused."""
    err = exc.errno or 0
    if isinstance(exc, VerifierError):
        return VerifierError(exc.command, err, exc.log, f"program {program!r}: {exc.summary}")
    hint = f"program {program!r}" + (f": {exc.hint}" if exc.hint else "")
    return SyscallError(exc.command, err, hint)


def _full_range_lddw() -> bool:
    """Whether ``lddw`` may point anywhere in an arena (Linux >= 6.12; libbpf's
    ``FEAT_LDIMM64_FULL_RANGE_OFF``): the kernel no longer refuses large offsets."""
    from pybpf.objects._load_arena import FULL_RANGE_LDDW  # noqa: PLC0415 - arenas are rare

    return have(FULL_RANGE_LDDW)
