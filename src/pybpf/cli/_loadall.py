"""``pybpf prog loadall OBJ PINDIR``: load an object and pin its programs, as
``bpftool prog loadall`` does.

::

    pybpf prog loadall OBJ PINDIR [type TYPE] [map {idx IDX | name NAME} MAP]...
                                  [pinmaps MAPDIR]

Every program of ``OBJ`` that loads by default is loaded (CO-RE, externs, global data and
maps as :func:`pybpf.load` does) and pinned at ``PINDIR/<program name>``; with ``pinmaps``
every map is pinned at ``MAPDIR/<map name>`` too (global-data maps under their kernel name,
``obj.bss``, as libbpf names them; dots become ``_``, as a bpffs requires). ``type`` loads
every program as that section name says (``xdp``, ``kprobe`` …); ``map`` reuses an existing
map (``MAP`` is ``id N`` or ``pinned PATH``) in place of the object's map of that name or
index. Maps pinned by name
go under ``/sys/fs/bpf``. Nothing is left pinned when something fails.

The command is one of :data:`pybpf.cli.FAST`: ``pybpf prog loadall OBJ PINDIR`` runs
:func:`main` without argparse (and ``--help`` goes through :func:`register`'s parser). This
module imports nothing until the command runs: a process that loads one object should not pay
for the rest of pybpf.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PEP 781's idiom)
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["main", "register", "run"]

_USAGE = (
    "pybpf prog loadall OBJ PINDIR [type TYPE] [map {idx IDX | name NAME} MAP]... [pinmaps MAPDIR]"
)


def register(subparsers: Any) -> None:
    """Add ``loadall`` to the ``pybpf prog`` subcommands."""
    p = subparsers.add_parser(
        "loadall",
        help="load an object's programs and pin them (like bpftool prog loadall)",
        description="Load every program of an eBPF object and pin each at PINDIR/<name>.",
        usage=_USAGE,
    )
    p.add_argument("obj", metavar="OBJ", help="the eBPF object file")
    p.add_argument("pindir", metavar="PINDIR", help="the directory to pin the programs in")
    p.add_argument("options", nargs="...", metavar="...", help="type, map and pinmaps")
    p.set_defaults(func=run)


class _Options:
    """The keyword options after ``OBJ PINDIR``, read as bpftool reads them."""

    def __init__(self, words: list[str]) -> None:
        self.type: str | None = None
        self.maps: list[tuple[str, str, str, str]] = []  # (idx|name, which, id|pinned, what)
        self.pinmaps: str | None = None
        self._read(list(words))

    def _read(self, words: list[str]) -> None:
        from pybpf.errors import SpecError  # noqa: PLC0415

        while words:
            word = words.pop(0)
            if word == "type" and words:
                self.type = words.pop(0)
            elif word == "map" and len(words) >= 4 and words[0] in ("idx", "name"):
                kind, which, how, what = words[:4]
                del words[:4]
                if how not in ("id", "pinned"):
                    raise SpecError(f"map: expected 'id' or 'pinned', got {how!r}")
                self.maps.append((kind, which, how, what))
            elif word == "pinmaps" and words:
                self.pinmaps = words.pop(0)
            else:
                raise SpecError(f"unexpected {word!r}; usage: {_USAGE}")


def main(words: list[str]) -> int:
    """``pybpf prog loadall`` with the words after ``loadall`` (read without argparse: see
    :data:`pybpf.cli.FAST`); the exit status (2 for a usage error, as argparse's).

    Raises:
        BPFError: as :func:`run`.
    """
    if len(words) < 2 or words[0].startswith("-") or words[1].startswith("-"):
        print(f"usage: {_USAGE}", file=sys.stderr)
        print("pybpf prog loadall: error: expected OBJ and PINDIR", file=sys.stderr)
        return 2
    return _load(words[0], words[1], words[2:])


def run(args: argparse.Namespace) -> int:
    """Load ``args.obj``, pin its programs under ``args.pindir``; 0 on success."""
    return _load(args.obj, args.pindir, args.options)


def _load(obj: str, pindir: str, words: list[str]) -> int:
    from pybpf.objects.collection import Collection  # noqa: PLC0415
    from pybpf.spec.loader import load_collection_spec  # noqa: PLC0415

    options = _Options(words)
    spec = load_collection_spec(obj)
    if options.type is not None:
        _set_type(spec, options.type)
    given = _given_maps(spec, options.maps)
    try:
        with Collection.load(spec, maps=given) as coll:
            _pin_all(coll, spec, pindir, options.pinmaps)
    finally:
        for m in given.values():
            m.close()
    return 0


def _set_type(spec: Any, name: str) -> None:
    """bpftool's ``type TYPE``: every program as section ``TYPE`` would make it."""
    from pybpf.errors import SpecError  # noqa: PLC0415
    from pybpf.spec.sections import find_section  # noqa: PLC0415

    sec = find_section(name)
    if sec is None:
        raise SpecError(f"unknown program type {name!r} (a section name: xdp, kprobe, …)")
    for prog in spec.programs.values():
        prog.type, prog.attach_type = sec.prog_type, sec.attach_type


def _given_maps(spec: Any, wanted: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    """bpftool's ``map {idx IDX | name NAME} {id N | pinned PATH}``: maps to reuse."""
    from pybpf.errors import SpecError  # noqa: PLC0415
    from pybpf.objects.map import Map  # noqa: PLC0415

    names = list(spec.maps)
    given: dict[str, Any] = {}
    try:
        for kind, which, how, what in wanted:
            name = which
            if kind == "idx":
                if not which.isdigit() or int(which) >= len(names):
                    raise SpecError(f"map idx {which}: the object has {len(names)} maps")
                name = names[int(which)]
            elif which not in spec.maps:
                raise SpecError(f"map name {which!r}: no such map in the object")
            if how == "id" and not what.isdigit():
                raise SpecError(f"map id {what!r} is not a number")
            given[name] = Map.from_id(int(what)) if how == "id" else Map.from_pin(what)
    except BaseException:
        for m in given.values():
            m.close()
        raise
    return given


def _pin_all(coll: Any, spec: Any, pindir: str, mapdir: str | None) -> None:
    """Pin the programs (and maps), removing every pin made if one fails."""
    made: list[str] = []
    try:
        for name, prog in coll.programs.items():
            path = os.path.join(pindir, _pin_name(name))
            prog.pin(path)
            made.append(path)
        if mapdir is not None:
            for name, m in coll.maps.items():
                mspec = spec.maps.get(name)
                pin_name = mspec.kernel_name or name if mspec is not None else name
                path = os.path.join(mapdir, _pin_name(pin_name))
                if m.pinned_path == path:
                    continue  # pinned by name there already
                m.pin(path)
                made.append(path)
    except BaseException:
        for path in made:
            try:  # noqa: SIM105 - (contextlib is not otherwise needed here)
                os.unlink(path)
            except OSError:
                pass
        raise


def _pin_name(name: str) -> str:
    """libbpf's ``sanitize_pin_path``: a bpffs refuses names with dots (``obj.bss`` is
    pinned as ``obj_bss``)."""
    return name.replace(".", "_")
