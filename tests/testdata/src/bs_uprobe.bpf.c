// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_uprobe - libbpf-bootstrap's "uprobe" example, rewritten: entry and return probes on
 * two functions of the user-space program; one pair is attached by the loader's caller
 * (bare SEC("uprobe")), the other auto-attaches from its section name
 * ("uprobe//proc/self/exe:uprobed_sub").
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

SEC("uprobe")
int BPF_KPROBE(uprobe_add, int a, int b)
{
	bpf_printk("uprobed_add ENTRY: a = %d, b = %d", a, b);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(uretprobe_add, int ret)
{
	bpf_printk("uprobed_add EXIT: return = %d", ret);
	return 0;
}

SEC("uprobe//proc/self/exe:uprobed_sub")
int BPF_KPROBE(uprobe_sub, int a, int b)
{
	bpf_printk("uprobed_sub ENTRY: a = %d, b = %d", a, b);
	return 0;
}

SEC("uretprobe//proc/self/exe:uprobed_sub")
int BPF_KRETPROBE(uretprobe_sub, int ret)
{
	bpf_printk("uprobed_sub EXIT: return = %d", ret);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
