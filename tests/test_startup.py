"""Start-up stays cheap: what each entry point imports (the import graph, not a timing).

A ``pybpf`` process pays for every module it imports before it does anything (see
``benchmarks/startup.py``: ``pybpf prog loadall`` is held to ``bpftool prog loadall``'s time
as a whole process). Each case runs in a fresh interpreter and lists ``sys.modules``: the
modules a path must not load are the ones that cost the most and that it does not need
(the VM, llvmlite, the kernel layer, the assembler's parser, ctypes ...).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pybpf.cli
from pybpf.cli import COMMANDS
from tests.conftest import OBJ, is_root

OBJECT = OBJ / "bs_bootstrap.el.v3.o"
# costly and needed by none of the pure paths
HEAVY = ("pybpf.vm", "pybpf.objects", "pybpf.sys", "pybpf.features", "llvmlite", "ctypes")
ASSEMBLER = ("pybpf.asm.assembler", "pybpf.asm._parse", "pybpf.asm.builder")
# standard library modules a command reading or loading an object does not need (typing and
# dataclasses: pybpf._util's records and TYPE_CHECKING blocks stand in; argparse: FAST
# commands read their own words; the rest: used by other commands, imported where used)
STDLIB_UNUSED = (
    "typing",
    "dataclasses",
    "inspect",
    "argparse",
    "gettext",
    "locale",
    "shutil",
    "json",
    "datetime",
    "gzip",
    "ipaddress",
    "tempfile",
)
# the parts of the kernel half a load of an object without externs, struct_ops, arenas or
# pinned-map reuse does not need: introspection, info layouts, the probe families
UNUSED_BY_A_LOAD = (
    "pybpf.objects.info",
    "pybpf.objects.introspect",
    "pybpf.sys.info",
    "pybpf.objects._ksyms",
    "pybpf.objects._load_structops",
    "pybpf.objects._load_arena",
    "pybpf.features.programs",
    "pybpf.features.links",
    "pybpf.features.kconfig",
    "pybpf.features.report",
)


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (listed by code that
    imports nothing itself)."""
    script = f"{code}\nimport sys\nsys.__stdout__.write(' '.join(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.splitlines()[-1].split())


def cli_modules(*argv: str) -> set[str]:
    """The modules loaded by running ``pybpf ARGV`` (its output discarded)."""
    code = (
        "import io, sys\n"
        f"sys.argv = ['pybpf', *{list(argv)!r}]\n"
        "from pybpf.cli import main\n"
        "sys.stdout = io.TextIOWrapper(io.BytesIO())\n"
        "try:\n"
        "    status = main()\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "assert status in (0, None), status\n"
    )
    return modules_after(code)


def command_help(command: str) -> str:
    """The ``--help`` text of one command."""
    argv = [sys.executable, "-m", "pybpf", command, "--help"]
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` that are, or are inside, one of ``prefixes``."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_import_pybpf_loads_only_the_errors() -> None:
    found = modules_after("import pybpf")
    pybpf_modules = {m for m in found if m.startswith("pybpf")}
    assert pybpf_modules <= {"pybpf", "pybpf.errors", "pybpf._load", "pybpf._util"}
    assert not loaded(found, ("typing", "dataclasses", "inspect", "argparse", *HEAVY))


def test_help_imports_no_command() -> None:
    found = cli_modules("--help")
    assert not [m for m in found if m.startswith("pybpf.cli._")]
    assert not loaded(found, ("dataclasses", "pybpf.asm", "pybpf.btf", "pybpf.spec", *HEAVY))


def test_spec_command_needs_no_kernel_layer_nor_assembler() -> None:
    found = cli_modules("spec", str(OBJECT))
    assert "pybpf.spec.loader" in found
    assert not loaded(found, (*HEAVY, *ASSEMBLER, "pybpf.spec.core", "pybpf.asm.disasm"))


@pytest.mark.parametrize("argv", [("spec", str(OBJECT)), ("spec", str(OBJECT), "--json")])
def test_spec_command_reads_its_words_without_argparse(argv: tuple[str, ...]) -> None:
    found = cli_modules(*argv)
    json_too = argv[-1] == "--json"  # (json loads re)
    unwanted = tuple(m for m in (*STDLIB_UNUSED, "re") if not (json_too and m in ("json", "re")))
    assert not loaded(found, unwanted)


def test_a_fast_command_leaves_other_forms_to_argparse() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pybpf", "spec", "--bogus", str(OBJECT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "unrecognized arguments: --bogus" in proc.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "pybpf", "prog", "loadall", str(OBJECT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode == 2 and "expected OBJ and PINDIR" in usage.stderr


def test_disasm_command_needs_no_specs_nor_kernel_layer() -> None:
    found = cli_modules("disasm", str(OBJECT))
    assert "pybpf.asm.disasm" in found
    assert not loaded(found, (*HEAVY, "pybpf.spec", "pybpf.asm.builder"))


def test_btf_dump_needs_no_specs_nor_instructions_parser() -> None:
    found = cli_modules("btf", "dump", str(OBJECT))
    assert not loaded(found, (*HEAVY, *ASSEMBLER, "pybpf.spec"))


@pytest.mark.parametrize(
    ("module", "unwanted"),
    [
        ("pybpf.asm.instruction", (*ASSEMBLER, "pybpf.asm.disasm", "pybpf.btf", "typing")),
        (
            "pybpf.spec.loader",
            (*HEAVY, *ASSEMBLER, *STDLIB_UNUSED, "re", "pybpf.asm.disasm", "pybpf.spec.core"),
        ),
        ("pybpf.spec.core.relocate", (*HEAVY, *ASSEMBLER, *STDLIB_UNUSED, "pybpf.asm.disasm")),
        ("pybpf.btf", (*HEAVY, *ASSEMBLER, *STDLIB_UNUSED, "re", "pybpf.spec")),
        # the kernel half: the loader's modules import what a load needs, no more (the
        # typed map values, pybpf.objects.codec, come with the map families that use them)
        (
            "pybpf.objects.collection",
            (
                *STDLIB_UNUSED,
                *UNUSED_BY_A_LOAD,
                "pybpf.vm",
                "pybpf.objects.kv",
                "pybpf.objects.codec",
                "pybpf.btf.values",
                "pybpf.spec.core",
                *ASSEMBLER,
                "pybpf.asm.disasm",
            ),
        ),
    ],
)
def test_library_modules_import_what_they_use(module: str, unwanted: tuple[str, ...]) -> None:
    assert not loaded(modules_after(f"import {module}"), unwanted)


@pytest.mark.root
def test_prog_loadall_needs_no_vm_nor_assembler(tmp_path: Path) -> None:
    if not is_root() or not Path("/sys/fs/bpf").is_dir():
        pytest.skip("needs root and a bpffs at /sys/fs/bpf")
    if "loadall" not in command_help("prog"):
        pytest.skip("this pybpf has no `prog loadall` yet")
    pins = Path("/sys/fs/bpf") / f"pybpf_test_startup_{os.getpid()}"
    try:
        found = cli_modules("prog", "loadall", str(OBJECT), str(pins))
    finally:
        shutil.rmtree(pins, ignore_errors=True)
    assert "pybpf.objects.kv" in found  # it made a hash map (and a ring buffer)
    assert not loaded(found, ("pybpf.vm", "llvmlite", *ASSEMBLER, "pybpf.asm.disasm"))
    assert not loaded(found, ("argparse", "gettext", "locale", "shutil", *UNUSED_BY_A_LOAD))
    # maps are made and pinned, never read: their typed codec is not built
    assert not loaded(found, ("pybpf.btf.values", "pybpf.objects._typed_codec", *STDLIB_UNUSED))


@pytest.mark.root
@pytest.mark.parametrize("fixture", ["bs_minimal.el.v3", "bs_bootstrap.el.v3"])
def test_prog_loadall_decodes_no_instruction(tmp_path: Path, fixture: str) -> None:
    """The program bytes come from the object's (relocated) image, and no probe loads a
    program of its own: the opcode table, built on first decode, is never built."""
    if not is_root() or not Path("/sys/fs/bpf").is_dir():
        pytest.skip("needs root and a bpffs at /sys/fs/bpf")
    pins = Path("/sys/fs/bpf") / f"pybpf_test_startup_{os.getpid()}"
    code = (
        "import sys\nfrom pybpf.cli import main\n"
        f"assert main(['prog', 'loadall', {str(OBJ / f'{fixture}.o')!r}, {str(pins)!r}]) == 0\n"
        "import pybpf.asm.opcodes as o\nprint('OPS' in vars(o))"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
    finally:
        shutil.rmtree(pins, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


# -- the command table and the modules behind it ----------------------------------------------


def registered(module: str) -> dict[str, str | None]:
    """The commands ``module`` registers, with their help lines."""
    parser = argparse.ArgumentParser(prog="pybpf")
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    return {action.dest: action.help for action in sub._choices_actions}


@pytest.mark.parametrize("module", sorted({module for module, _ in COMMANDS.values()}))
def test_table_lists_each_command_as_its_module_registers_it(module: str) -> None:
    listed = {name: help_line for name, (mod, help_line) in COMMANDS.items() if mod == module}
    assert registered(module) == listed


def test_each_module_is_listed_at_consecutive_places() -> None:
    order = [module for module, _ in COMMANDS.values()]
    firsts = [m for i, m in enumerate(order) if i == 0 or order[i - 1] != m]
    assert len(firsts) == len(set(firsts))


def test_help_lists_every_command() -> None:
    text = pybpf.cli.build_parser().format_help()
    assert all(name in text for name in COMMANDS)


# -- lazy package namespaces ------------------------------------------------------------------


@pytest.mark.parametrize("package", ["pybpf.asm", "pybpf.spec", "pybpf.btf"])
def test_no_lazy_export_is_shadowed_by_a_submodule(package: str) -> None:
    """Importing a submodule sets the package's attribute of that name to the module, so a
    name exported lazily must not also be a submodule's name (``pybpf.btf.encode`` is both,
    and is therefore bound at import)."""
    pkg = importlib.import_module(package)
    submodules = {p.stem for p in Path(pkg.__file__ or "").parent.glob("*.py")}
    for name in set(pkg.__all__) & submodules:
        importlib.import_module(f"{package}.{name}")
        assert not isinstance(getattr(pkg, name), type(pkg)), f"{package}.{name} is a module"
