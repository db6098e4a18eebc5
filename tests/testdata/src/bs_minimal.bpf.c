// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_minimal - libbpf-bootstrap's "minimal" example, rewritten: a tracepoint on write(2)
 * that prints a line to the trace pipe when the process whose PID user space stored in
 * my_pid (.bss) calls it.
 */
#include "common.h"

int my_pid = 0;

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;
	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
