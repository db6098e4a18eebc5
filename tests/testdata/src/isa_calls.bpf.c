// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v3 el.v4 eb.v3 eb.v4
/*
 * isa_calls - every kind of call: helpers, bpf-to-bpf, callbacks, tail calls, kfuncs.
 *
 * - helper calls (call imm, src 0);
 * - bpf-to-bpf calls (src 1, pc-relative) to static __noinline subprograms in .text,
 *   five arguments, nested, shared by several programs; a global (non-static) function,
 *   which the verifier checks on its own from its BTF signature;
 * - callbacks: bpf_loop and bpf_for_each_map_elem take a function pointer, which clang
 *   loads with lddw + a relocation against .text (BPF_PSEUDO_FUNC, src 4, once loaded);
 * - a tail call through a prog array initialised in the object (.values);
 * - kfunc calls (src 2 once loaded: bpf_task_from_pid, bpf_task_acquire, bpf_task_release)
 *   in a syscall program, plus a weak kfunc this kernel lacks, tested with bpf_ksym_exists.
 */
#include "common.h"
#include "kernel.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

__u64 call_out[8];

/* five arguments: r1..r5, the most a BPF call takes */
static __noinline __u64 mix(__u64 a, __u64 b, __u64 c, __u64 d, __u64 e)
{
	return (a * 31 + b) ^ (c << 3) ^ (d >> 2) ^ e;
}

static __noinline __u64 nested(__u64 x)
{
	return mix(x, x + 1, x + 2, x + 3, x + 4) + 1;
}

/* global: BTF_FUNC_GLOBAL linkage, verified independently of its callers */
__noinline int global_scale(int x)
{
	return x * 3 + 1;
}

struct loop_state {
	__u64 acc;
	__u64 seed;
};

static long loop_step(__u32 index, void *data)
{
	struct loop_state *st = data;

	st->acc = st->acc * 33 + st->seed + index;
	return st->acc > 0xffffffffffULL; /* 1 stops the loop */
}

struct bpf_map;

static long sum_entry(struct bpf_map *map, __u32 *key, __u64 *value, void *data)
{
	struct loop_state *st = data;

	st->acc += *value + *key;
	return 0;
}

SEC("xdp")
int calls(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	struct loop_state st = { .acc = 0, .seed = len };
	__u32 key = 1;
	__u64 *slot;

	call_out[0] = mix(len, 1, 2, 3, 4);
	call_out[1] = nested(len);
	call_out[2] = global_scale((int)len);
	slot = bpf_map_lookup_elem(&values, &key);
	if (slot)
		*slot = len;
	call_out[3] = bpf_loop(16, loop_step, &st, 0);
	call_out[4] = st.acc;
	st.acc = 0;
	bpf_for_each_map_elem(&values, sum_entry, &st, 0);
	call_out[5] = st.acc;
	return XDP_PASS;
}

SEC("xdp")
int calls_again(struct xdp_md *ctx)
{
	/* the same subprograms, linked into a second program */
	call_out[6] = nested(ctx->ingress_ifindex) + global_scale(2);
	return XDP_PASS;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	call_out[7] = 0x7a11;
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} tail_calls SEC(".maps") = {
	.values = { [2] = (void *)&tail_target },
};

SEC("xdp")
int tail_caller(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &tail_calls, 2);
	return XDP_PASS; /* only when the slot is empty */
}

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void pybpf_no_such_kfunc(void) __ksym __weak;

struct kfunc_args {
	int pid;
	int tgid_out;
};

SEC("syscall")
int kfuncs(struct kfunc_args *args)
{
	struct task_struct *task, *again;

	if (bpf_ksym_exists(pybpf_no_such_kfunc))
		pybpf_no_such_kfunc();
	task = bpf_task_from_pid(args->pid);
	if (!task)
		return -1;
	again = bpf_task_acquire(task);
	if (again) {
		args->tgid_out = again->tgid;
		bpf_task_release(again);
	}
	bpf_task_release(task);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
