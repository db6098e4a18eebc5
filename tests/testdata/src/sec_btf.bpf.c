// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * sec_btf - program types that attach by BTF id without a trampoline, and syscall.
 *
 * tp_btf (typed raw tracepoints: arguments are BTF pointers, read directly), iter and
 * sleepable iter.s (the loader finds "bpf_iter_<name>" in vmlinux BTF), and syscall
 * (sleepable, run with BPF_PROG_TEST_RUN). These load where the trampoline-based
 * fentry/fexit/fmod_ret/lsm programs (sec_tramp.bpf.c) are refused, as on this project's CI
 * kernel.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

struct bpf_map___iter {
	__u32 id;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map___iter *map;
} __attribute__((preserve_access_index));

__u64 switches;
__s32 last_pid;

SEC("tp_btf/sched_switch")
int BPF_PROG(tp_btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switches++;
	last_pid = next->pid;
	return 0;
}

SEC("tp_btf/task_newtask")
int BPF_PROG(tp_btf_newtask, struct task_struct *task, u64 clone_flags)
{
	return 0;
}

SEC("iter/task")
int iter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	BPF_SEQ_PRINTF(seq, "%d %d\n", task->tgid, task->pid);
	return 0;
}

SEC("iter/bpf_map")
int iter_maps(struct bpf_iter__bpf_map *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct bpf_map___iter *map = ctx->map;

	if (!map)
		return 0;
	BPF_SEQ_PRINTF(seq, "map %u\n", map->id);
	return 0;
}

SEC("iter.s/task")
int iter_task_sleepable(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	char c = 0;

	if (!task || !task->mm)
		return 0;
	bpf_copy_from_user_task(&c, 1, (void *)task->mm->start_stack, task, 0);
	bpf_seq_write(ctx->meta->seq, &c, 1);
	return 0;
}

struct syscall_args {
	__u64 in;
	__u64 out;
};

SEC("syscall")
int syscall_prog(struct syscall_args *args)
{
	args->out = args->in * 2 + switches;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
