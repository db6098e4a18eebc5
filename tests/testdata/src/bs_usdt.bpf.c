// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_usdt - libbpf-bootstrap's "usdt" example, rewritten: libc's setjmp USDT probe, once
 * auto-attached from the section name (with a PID filter in .bss) and once left for
 * manual attachment, its arguments fetched through libbpf's usdt.bpf.h (which adds the
 * __bpf_usdt_specs and __bpf_usdt_ip_to_spec_id maps and a LINUX_HAS_BPF_COOKIE extern).
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

pid_t my_pid;

SEC("usdt/libc.so.6:libc:setjmp")
int BPF_USDT(usdt_auto_attach, void *arg1, int arg2, void *arg3)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;
	bpf_printk("USDT auto attach to libc:setjmp: arg1 = %lx, arg2 = %d, arg3 = %lx", arg1,
		   arg2, arg3);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_manual_attach, void *arg1, int arg2, void *arg3)
{
	bpf_printk("USDT manual attach to libc:setjmp: arg1 = %lx, arg2 = %d, arg3 = %lx", arg1,
		   arg2, arg3);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
