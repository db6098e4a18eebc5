// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * core - CO-RE relocations of all 13 kinds against real kernel types, and flavors.
 *
 * Local types (kernel.h and below) are deliberately not the kernel's layout: every offset,
 * size and enum value here is patched by the loader from the target BTF. Covered:
 *   field byte offset   plain member access, BPF_CORE_READ chains, array elements
 *   field byte size     bpf_core_field_size
 *   field exists        bpf_core_field_exists (present and missing members)
 *   field signed        bpf_core_field_signed
 *   lshift/rshift u64   BPF_CORE_READ_BITFIELD (direct) and _PROBED, on task_struct and
 *                       sk_buff bitfields (some inside anonymous structs in the kernel)
 *   type id local/target, type exists/size/matches   the bpf_core_type_* macros
 *   enumval exists/value  a flavored enum (pid_type___pybpf) with deliberately wrong values
 * Flavors: task_struct___old has "state" (renamed "__state" in Linux 5.14): the relocation
 * fails, libbpf poisons the instruction, and the bpf_core_field_exists guard makes it dead
 * code, so the object still loads. core_fail.bpf.c has the unguarded version.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* bpf_core_read.h of libbpf 1.1 predates this one; same definition as later libbpf. */
#ifndef bpf_core_field_signed
#define bpf_core_field_signed(field...)                                                  \
	__builtin_preserve_field_info(___bpf_field_ref(field), BPF_FIELD_SIGNED)
#endif

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct task_struct___new {
	unsigned int __state;
} __attribute__((preserve_access_index));

/* matches the kernel's struct sock_common (names and kinds of the members listed) */
struct sock_common___match {
	unsigned short skc_family;
	__be32 skc_daddr;
} __attribute__((preserve_access_index));

/* does not match: skc_family is an integer in the kernel, not a pointer */
struct sock_common___nomatch {
	void *skc_family;
} __attribute__((preserve_access_index));

struct pybpf_no_such_type {
	int x;
} __attribute__((preserve_access_index));

enum pid_type___pybpf {
	PIDTYPE_PID___pybpf = 100,
	PIDTYPE_TGID___pybpf = 101,
	PIDTYPE_SID___pybpf = 103,
	PIDTYPE_PYBPF_MISSING___pybpf = 104,
};

typedef struct task_struct task_t;

__u64 field_out[16];
__u64 type_out[12];
__u64 enum_out[4];

static __always_inline __u64 task_state(struct task_struct *task)
{
	if (bpf_core_field_exists(struct task_struct___old, state)) {
		struct task_struct___old *old = (void *)task;

		return BPF_CORE_READ(old, state);
	}
	return BPF_CORE_READ((struct task_struct___new *)task, __state);
}

/* Probe reads: works from any tracing program, the pointers being plain numbers. */
SEC("raw_tp/sys_enter")
int core_probed(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	field_out[0] = BPF_CORE_READ(task, pid);
	field_out[1] = BPF_CORE_READ(task, real_parent, tgid);
	field_out[2] = BPF_CORE_READ(task, mm, start_code);
	field_out[3] = BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);
	field_out[4] = task_state(task);
	field_out[5] = bpf_core_field_size(task->comm);
	field_out[6] = bpf_core_field_offset(struct task_struct, start_time);
	field_out[7] = bpf_core_field_exists(task->exit_code);
	field_out[8] = bpf_core_field_exists(struct task_struct___old, state);
	field_out[9] = bpf_core_field_signed(task->prio) | bpf_core_field_signed(task->flags) << 1;
	BPF_CORE_READ_INTO(&field_out[10], task, group_leader, comm[1]);
	return 0;
}

/* Direct reads: tp_btf arguments are BTF pointers, so loads go straight to memory. */
SEC("tp_btf/sched_switch")
int BPF_PROG(core_direct, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	field_out[11] = prev->pid ^ next->tgid;
	field_out[12] = BPF_CORE_READ_BITFIELD(next, in_execve);
	field_out[13] = BPF_CORE_READ_BITFIELD(next, sched_reset_on_fork);
	field_out[14] = next->comm[0];
	return 0;
}

SEC("raw_tp/kfree_skb")
int core_skb(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (void *)ctx->args[0];

	field_out[15] = BPF_CORE_READ_BITFIELD_PROBED(skb, pkt_type) |
			BPF_CORE_READ_BITFIELD_PROBED(skb, ip_summed) << 8 |
			(__u64)BPF_CORE_READ(skb, dev, ifindex) << 16;
	return 0;
}

SEC("raw_tp/sys_exit")
int core_types(void *ctx)
{
	type_out[0] = bpf_core_type_id_local(struct task_struct);
	type_out[1] = bpf_core_type_id_kernel(struct task_struct);
	type_out[2] = bpf_core_type_id_kernel(task_t);
	type_out[3] = bpf_core_type_exists(struct task_struct___new);
	type_out[4] = bpf_core_type_exists(struct pybpf_no_such_type);
	type_out[5] = bpf_core_type_size(struct task_struct);
	type_out[6] = bpf_core_type_size(task_t);
	type_out[7] = bpf_core_type_matches(struct sock_common___match);
	type_out[8] = bpf_core_type_matches(struct sock_common___nomatch);
	type_out[9] = bpf_core_type_exists(enum pid_type___pybpf);
	type_out[10] = bpf_core_type_id_local(struct sock_common___match);
	type_out[11] = bpf_core_type_size(struct sk_buff);
	enum_out[0] = bpf_core_enum_value_exists(enum pid_type___pybpf, PIDTYPE_TGID___pybpf);
	enum_out[1] = bpf_core_enum_value_exists(enum pid_type___pybpf,
						 PIDTYPE_PYBPF_MISSING___pybpf);
	enum_out[2] = bpf_core_enum_value(enum pid_type___pybpf, PIDTYPE_SID___pybpf);
	enum_out[3] = bpf_core_enum_value(enum pid_type___pybpf, PIDTYPE_PID___pybpf);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
