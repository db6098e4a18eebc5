// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * sec_tramp - program types the kernel attaches through a BPF trampoline: fentry, fexit,
 * fmod_ret (and their sleepable .s forms), lsm, lsm.s, lsm_cgroup, and freplace.
 *
 * All attach by BTF id (the function or LSM hook named after the slash). Some kernels
 * refuse them at load time with EPERM (this project's CI kernel does, for every one of
 * them). freplace, last, needs a target program given by the caller (attach_prog_fd):
 * without one libbpf refuses it.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

#define EPERM 1

union bpf_attr;
struct file;
struct socket;

__u64 calls[4];

SEC("fentry/do_unlinkat")
int BPF_PROG(fentry_unlinkat, int dfd, struct filename *name)
{
	calls[0]++;
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(fexit_unlinkat, int dfd, struct filename *name, long ret)
{
	calls[1] += ret == 0;
	return 0;
}

SEC("fmod_ret/security_task_getsid")
int BPF_PROG(fmod_ret_getsid, struct task_struct *p, int ret)
{
	return ret;
}

SEC("fentry.s/do_unlinkat")
int BPF_PROG(fentry_sleepable, int dfd, struct filename *name)
{
	char c = 0;

	bpf_copy_from_user(&c, 1, name->name);
	return 0;
}

SEC("fexit.s/do_unlinkat")
int BPF_PROG(fexit_sleepable, int dfd, struct filename *name, long ret)
{
	return 0;
}

SEC("lsm/bpf")
int BPF_PROG(lsm_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	if (ret)
		return ret;
	return cmd == 0x7fff ? -EPERM : 0;
}

SEC("lsm.s/file_open")
int BPF_PROG(lsm_file_open, struct file *file)
{
	calls[2]++;
	return 0;
}

SEC("lsm_cgroup/socket_bind")
int BPF_PROG(lsm_cgroup_bind, struct socket *sock, void *address, int addrlen)
{
	return 1;
}

SEC("fmod_ret.s/security_task_getsid")
int BPF_PROG(fmod_ret_sleepable, struct task_struct *p, int ret)
{
	return ret;
}

SEC("freplace/count_packet")
int freplace_count(__u32 kind, __u32 len)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
