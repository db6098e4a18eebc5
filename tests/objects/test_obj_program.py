"""Loading programs from specs, running them, and what the kernel says about them."""

from __future__ import annotations

import errno

import pytest

from pybpf.asm.instruction import encode
from pybpf.errors import ClosedError, SyscallError, VerifierError
from pybpf.objects import ArrayMap, Map, Program, SpecError, TestRunResult
from pybpf.spec import MapSpec, MapType, ProgramSpec, ProgType
from pybpf.sys.fake import FakeBackend
from tests.objects.progs import EXIT, count_into, map_fd, op, ret


def _spec(name: str, insns: list, t: ProgType = ProgType.SOCKET_FILTER) -> ProgramSpec:  # type: ignore[type-arg]
    return ProgramSpec(name, t, insns, license="GPL")


def test_load_patches_map_references_and_counts(backend: str) -> None:
    with Map.create(MapSpec("counter", MapType.ARRAY, 4, 8, 1)) as m:
        assert isinstance(m, ArrayMap)
        spec = _spec("count", count_into("counter", 7))
        with Program.load(spec, {"counter": m}) as prog:
            assert prog.name == "count" and prog.type == ProgType.SOCKET_FILTER
            if backend == "kernel":
                for _ in range(3):
                    assert prog.test_run(b"\0" * 64).retval == 7
                assert m[0] == (3).to_bytes(8, "little")
            assert prog.info().map_ids == (m.info().id,)
        assert spec.instructions[3].ref == "counter"  # the spec is left as it was


def test_test_run_returns_data_and_duration(kernel: None) -> None:
    with Program.load(_spec("xdp2", ret(2), ProgType.XDP)) as prog:
        result = prog.test_run(bytes(range(64)), repeat=100)
    assert isinstance(result, TestRunResult)
    assert result.retval == 2 and result.data == bytes(range(64))
    assert result.ctx is None and result.duration_ns >= 0


def test_test_run_output_too_small_says_how_big(kernel: None) -> None:
    with (
        Program.load(_spec("xdp1", ret(1), ProgType.XDP)) as prog,
        pytest.raises(SyscallError) as info,
    ):
        prog.test_run(bytes(64), data_size_out=10)
    assert info.value.errno == errno.ENOSPC and "data_size_out=64" in str(info.value)


def test_test_run_with_context(kernel: None) -> None:
    # SK_LOOKUP and others take a context; a raw tracepoint takes its u64 arguments.
    prog_insns = [op("LDX.MEM.DW", 0, 1, 0), EXIT]  # return ctx->args[0]
    with Program.load(_spec("rawtp", prog_insns, ProgType.RAW_TRACEPOINT)) as prog:
        result = prog.test_run(ctx=(41).to_bytes(8, "little"))
    assert result.retval == 41


def test_verifier_error_carries_log_and_summary(backend: str) -> None:
    bad = [op("ALU64.MOV.X", 0, 2), EXIT] if backend == "kernel" else [op("ALU64.MOV.K", 0)]
    with pytest.raises(VerifierError) as info:
        Program.load(_spec("bad", bad))
    err = info.value
    assert isinstance(err, SyscallError) and err.command == "BPF_PROG_LOAD"
    if backend == "kernel":
        assert err.errno == errno.EACCES
        assert "R2 !read_ok" in err.log and "processed" in err.log
        assert str(err).endswith("R2 !read_ok\n  at insn 0: r0 = r2")
    else:
        assert "last insn is not an exit" in str(err)


def test_log_level_keeps_the_log_and_grows_the_buffer(backend: str) -> None:
    with Program.load(_spec("logged", ret(0)), log_level=1, log_size=16) as prog:
        assert "processed" in prog.verifier_log


def test_spec_errors_come_before_any_system_call(fake: FakeBackend) -> None:
    calls = len(fake.calls)
    with pytest.raises(SpecError, match="uses map 'nowhere', not loaded"):
        Program.load(_spec("p", [map_fd(1, "nowhere"), *ret(0)]))
    jump = op("JMP.JA").with_fields(ref="label")
    with pytest.raises(SpecError, match="unresolved reference 'label'"):
        Program.load(_spec("p", [jump, *ret(0)]))
    with pytest.raises(SpecError, match="has no instructions"):
        Program.load(_spec("p", []))
    big = _spec("p", ret(0))
    big.byte_order = "big"
    with pytest.raises(SpecError, match="big-endian"):
        Program.load(big)
    assert len(fake.calls) == calls


def test_names_are_cleaned_and_shortened(backend: str) -> None:
    with Program.load(_spec("handle-the/packets.now", ret(0))) as prog:
        assert prog.info().name == "handle_the_pack"


def test_info_xlated_and_jited(kernel: None) -> None:
    spec = _spec("dumped", ret(5), ProgType.XDP)
    with Program.load(spec) as prog:
        info = prog.info()
        assert info.type == ProgType.XDP and len(info.tag) == 16 and prog.tag == info.tag
        assert info.gpl_compatible and info.xlated_size == 16 and prog.id == info.id
        xl = prog.xlated()
        assert xl.raw == encode(spec.instructions) and xl.instructions == spec.instructions
        jit = prog.jited()
        assert len(jit.raw) == info.jited_size > 0
        assert len(jit.ksyms) == len(jit.func_lens) == 1 and jit.func_lens[0] == len(jit.raw)
        assert info.loaded_at.year >= 2024


def test_opened_by_id_and_fd(kernel: None) -> None:
    with Program.load(_spec("byid", ret(3), ProgType.XDP)) as prog:
        with Program.from_id(prog.id) as again:
            assert again.name == "byid" and again.type == ProgType.XDP
            assert again.test_run(bytes(64)).retval == 3
        with Program.from_fd(prog.fileno()) as dup:
            assert dup.fileno() != prog.fileno() and dup.id == prog.id


def test_kernel_that_forbids_a_type_gets_a_hint(kernel: None) -> None:
    btf = pytest.importorskip("pybpf.btf", reason="pybpf.btf finds the kernel's BTF ids")
    vmlinux = btf.BTF.from_path("/sys/kernel/btf/vmlinux")
    func = vmlinux.find_by_name_kind("do_nanosleep", btf.Kind.FUNC)
    from pybpf.spec import AttachType

    spec = ProgramSpec("fentry", ProgType.TRACING, ret(0), license="GPL")
    spec.attach_type = AttachType.TRACE_FENTRY
    try:
        Program.load(spec, attach_btf_id=func).close()
    except SyscallError as exc:
        assert exc.errno == errno.EPERM
        assert "CAP_BPF" in str(exc)
    else:
        pytest.skip("this kernel allows fentry programs")


def test_closed_program(backend: str) -> None:
    prog = Program.load(_spec("closing", ret(0)))
    prog.close()
    with pytest.raises(ClosedError, match="program 'closing' is closed"):
        prog.info()
    with pytest.raises(ClosedError):
        prog.test_run(b"")
    assert "closed" in repr(prog)


def test_eagain_is_retried() -> None:
    from pybpf.sys import use_backend
    from pybpf.sys.fake import Refusal

    class Busy(FakeBackend):
        refusals = 2

        def _prog_load(self, a: object) -> int:
            if self.refusals:
                self.refusals -= 1
                raise Refusal(errno.EAGAIN)
            return super()._prog_load(a)  # type: ignore[arg-type]

    with use_backend(Busy()) as busy, Program.load(_spec("busy", ret(0))):
        assert busy.refusals == 0


def test_tracing_programs_need_a_target(fake: FakeBackend) -> None:
    spec = ProgramSpec("fentry_x", ProgType.TRACING, ret(0), attach_to="do_nanosleep")
    with pytest.raises(SpecError, match=r"needs attach_btf_id: the BTF id of its target \(do_"):
        Program.load(spec)
