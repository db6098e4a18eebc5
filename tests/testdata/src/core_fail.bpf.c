// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * core_fail - CO-RE relocations that cannot be satisfied and are not guarded.
 *
 * task_struct___old.state does not exist on Linux >= 5.14: libbpf logs the failed
 * relocation, poisons the instruction (a call to helper 0xbad2310 = 195896080), and the
 * verifier refuses the program there: "invalid func unknown#195896080" on older kernels,
 * "<invalid CO-RE relocation> / failed to resolve CO-RE relocation <byte_off> [5] struct
 * task_struct___old.state (0:0 @ offset 0)" on newer ones (it reads the poisoned call's
 * relocation from the program's BTF.ext).
 * A second program asks for the size of a missing type, which is not an error (size 0),
 * and reads a field of a missing type, which is.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_core_read.h>

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct pybpf_missing_struct {
	int present_nowhere;
} __attribute__((preserve_access_index));

__u64 out[4];

SEC("raw_tp/sys_enter")
int missing_field(void *ctx)
{
	struct task_struct___old *task = (void *)bpf_get_current_task();

	out[0] = BPF_CORE_READ(task, state);
	return 0;
}

SEC("raw_tp/sys_exit")
int missing_type(void *ctx)
{
	struct pybpf_missing_struct *p = (void *)bpf_get_current_task();

	out[1] = bpf_core_type_size(struct pybpf_missing_struct);
	out[2] = BPF_CORE_READ(p, present_nowhere);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
