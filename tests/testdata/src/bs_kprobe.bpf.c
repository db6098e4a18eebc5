// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_kprobe - libbpf-bootstrap's "kprobe" example, rewritten: kprobe and kretprobe on
 * do_unlinkat; the entry probe reads the file name with BPF_CORE_READ (a CO-RE probe
 * read of struct filename.name), the return probe prints the return value.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(do_unlinkat, int dfd, struct filename *name)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	const char *filename = BPF_CORE_READ(name, name);

	bpf_printk("KPROBE ENTRY pid = %d, filename = %s\n", pid, filename);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(do_unlinkat_exit, long ret)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	bpf_printk("KPROBE EXIT: pid = %d, ret = %ld\n", pid, ret);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
