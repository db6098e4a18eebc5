// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_ksyscall - libbpf-bootstrap's "ksyscall" example, rewritten: entry probes on the
 * kill(2) and tgkill(2) syscalls through SEC("ksyscall/NAME") and BPF_KSYSCALL, which reads
 * the arguments from the inner pt_regs when the kernel wraps syscalls
 * (LINUX_HAS_SYSCALL_WRAPPER, a .kconfig extern).
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16

SEC("ksyscall/tgkill")
int BPF_KSYSCALL(tgkill_entry, pid_t tgid, pid_t tid, int sig)
{
	char comm[TASK_COMM_LEN];
	__u32 caller_pid = bpf_get_current_pid_tgid() >> 32;

	if (sig == 0)
		return 0; /* a probe for existence, not a signal */
	bpf_get_current_comm(&comm, sizeof(comm));
	bpf_printk("tgkill syscall called by PID %d (%s) for thread id %d with pid %d and signal %d.",
		   caller_pid, comm, tid, tgid, sig);
	return 0;
}

SEC("ksyscall/kill")
int BPF_KSYSCALL(entry_probe, pid_t pid, int sig)
{
	char comm[TASK_COMM_LEN];
	__u32 caller_pid = bpf_get_current_pid_tgid() >> 32;

	if (sig == 0)
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	bpf_printk("KILL syscall called by PID %d (%s) for PID %d with signal %d.", caller_pid,
		   comm, pid, sig);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
