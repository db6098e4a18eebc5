// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * link_b - second half of obj/linked.<variant>.o; see link_a.bpf.c.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_core_read.h>

#define __hidden __attribute__((visibility("hidden")))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} shared_map SEC(".maps");

__u64 b_total;
const volatile __u32 b_factor = 5;

/* defined in link_a */
extern int a_offset(int x);
extern __u32 a_calls __hidden;

__noinline int b_scale(int x)
{
	return a_offset(x) * (int)b_factor;
}

/* strong: replaces link_a's weak pick() */
__noinline int pick(int x)
{
	return x + 100;
}

/* same name as link_a's static function: each file keeps its own */
static __noinline int local_helper(int x)
{
	return x - 7;
}

SEC("tc")
int from_b(struct __sk_buff *skb)
{
	__u32 key = skb->ifindex;
	__u64 one = 1;

	bpf_map_update_elem(&shared_map, &key, &one, BPF_ANY);
	b_total += local_helper(skb->len) + a_calls + pick(2);
	return 0;
}

SEC("raw_tp/sys_exit")
int b_core(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	b_total += BPF_CORE_READ(task, real_parent, pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
