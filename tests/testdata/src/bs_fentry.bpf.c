// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_fentry - libbpf-bootstrap's "fentry" example, rewritten: fentry and fexit programs
 * on do_unlinkat printing the PID, the file name (read directly through the BTF pointer)
 * and, on exit, the return value. Needs BPF trampolines; some kernels (this project's CI
 * kernel among them) refuse fentry/fexit programs at load time with EPERM.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

SEC("fentry/do_unlinkat")
int BPF_PROG(do_unlinkat, int dfd, struct filename *name)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("fentry: pid = %d, filename = %s\n", pid, name->name);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(do_unlinkat_exit, int dfd, struct filename *name, long ret)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("fexit: pid = %d, filename = %s, ret = %ld\n", pid, name->name, ret);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
