// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
// pybpf-linked: el.v3
/*
 * link_a - first half of obj/linked.<variant>.o (`bpftool gen object linked.o a.o b.o`).
 *
 * On its own this object has unresolved externs (a function, a variable and a map
 * defined in link_b), which a loader must refuse or resolve by linking. Across the pair:
 * a global function and a global variable used from the other file, a map declared
 * "extern" in one file and defined in the other, __weak definitions in both files (the
 * strong one wins), __hidden symbols, same-named static functions in each file, .rodata
 * and .bss in both (merged by the linker), and CO-RE relocations in both (.BTF.ext merged).
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_core_read.h>

#define __hidden __attribute__((visibility("hidden")))

/* defined in link_b */
extern int b_scale(int x);
extern __u64 b_total;
extern struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} shared_map SEC(".maps");

/* defined here, used by link_b */
__u32 a_calls __hidden;
const volatile __u32 a_factor = 3;

__noinline int a_offset(int x)
{
	return x + (int)a_factor;
}

/* weak here and strong in link_b: the linked object uses link_b's */
__weak __noinline int pick(int x)
{
	return x;
}

static __noinline int local_helper(int x)
{
	return x * 7;
}

SEC("xdp")
int from_a(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u64 *v;

	a_calls++;
	v = bpf_map_lookup_elem(&shared_map, &key);
	if (v)
		*v += b_scale(local_helper(key)) + pick(1);
	b_total += a_calls;
	return XDP_PASS;
}

SEC("raw_tp/sys_enter")
int a_core(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	b_total += BPF_CORE_READ(task, tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
