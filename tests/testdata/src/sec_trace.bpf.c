// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * sec_trace - tracing program types that attach by name or by probe, not by BTF id.
 *
 * kprobe/kretprobe (with and without a target), kprobe.multi, ksyscall, uprobe/uretprobe
 * (auto-attach spec "binary:function" and bare), sleepable uprobe.s, usdt (libbpf's
 * usdt.bpf.h, which brings its own maps and a LINUX_HAS_BPF_COOKIE kconfig extern),
 * tracepoint/tp, raw_tp/raw_tracepoint, writable raw_tp.w and perf_event. The kprobe
 * flavours load even on kernels that cannot attach kprobes (attaching is another step).
 * The "version" section holds the kernel version once required for kprobe programs.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

__u64 hits[16];

static __noinline void hit(int which)
{
	__sync_fetch_and_add(&hits[which & 15], 1);
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(kprobe_unlinkat, int dfd, struct filename *name)
{
	hit(0);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(kretprobe_unlinkat, long ret)
{
	hit(ret == 0 ? 1 : 2);
	return 0;
}

SEC("kprobe")
int kprobe_manual(struct pt_regs *ctx)
{
	hit(3);
	return 0;
}

SEC("kprobe.multi/do_unlinkat*")
int kprobe_multi(struct pt_regs *ctx)
{
	hit(4);
	return 0;
}

SEC("kretprobe.multi/vfs_*")
int kretprobe_multi(struct pt_regs *ctx)
{
	hit(4);
	return 0;
}

SEC("ksyscall/kill")
int BPF_KSYSCALL(ksyscall_kill, pid_t pid, int sig)
{
	hit(sig);
	return 0;
}

SEC("kretsyscall/kill")
int BPF_KRETPROBE(kretsyscall_kill, long ret)
{
	hit(5);
	return 0;
}

SEC("uprobe/libc.so.6:malloc")
int BPF_KPROBE(uprobe_malloc, unsigned long size)
{
	hit(size > 4096 ? 6 : 7);
	return 0;
}

SEC("uretprobe/libc.so.6:malloc")
int BPF_KRETPROBE(uretprobe_malloc, void *ptr)
{
	hit(8);
	return 0;
}

SEC("uprobe")
int uprobe_manual(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe.s/libc.so.6:free")
int BPF_KPROBE(uprobe_sleepable, void *ptr)
{
	char first = 0;

	bpf_copy_from_user(&first, 1, ptr);
	hit(first);
	return 0;
}

SEC("usdt/libc.so.6:libc:setjmp")
int BPF_USDT(usdt_setjmp, void *env, int mask)
{
	hit(9);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint_openat(struct trace_event_raw_sys_enter *ctx)
{
	hit(ctx->args[2] & 1 ? 10 : 11);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	hit(12);
	return 0;
}

SEC("raw_tp/sched_switch")
int raw_tp_switch(struct bpf_raw_tracepoint_args *ctx)
{
	hit(13);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_tracepoint_enter(struct bpf_raw_tracepoint_args *ctx)
{
	hit(ctx->args[1] == 62 ? 14 : 15);
	return 0;
}

SEC("raw_tp.w/bpf_test_finish")
int raw_tp_writable(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

/* uapi linux/bpf_perf_event.h, whose x86 pt_regs would clash with kernel.h's */
struct bpf_perf_event_data {
	struct pt_regs regs;
	__u64 sample_period;
	__u64 addr;
};

SEC("perf_event")
int perf_event_prog(struct bpf_perf_event_data *ctx)
{
	hit(ctx->sample_period & 15);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
/* what kprobe programs had to state before Linux 5.0; loaders still pass it on */
__u32 _version SEC("version") = 0x060100;
