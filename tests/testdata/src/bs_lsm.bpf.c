// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_lsm - libbpf-bootstrap's "lsm" example, rewritten: a BPF LSM program on the "bpf"
 * hook that refuses bpf(2) with EPERM once attached, passing on an earlier program's
 * verdict. Needs BPF LSM and trampolines (refused with EPERM at load on this project's CI
 * kernel, as fentry is).
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

#define EPERM 1

union bpf_attr;

SEC("lsm/bpf")
int BPF_PROG(lsm_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	/* ret is the previous program's verdict, or 0 */
	if (ret != 0)
		return ret;
	bpf_printk("LSM: block bpf() worked");
	return -EPERM;
}

char LICENSE[] SEC("license") = "GPL";
