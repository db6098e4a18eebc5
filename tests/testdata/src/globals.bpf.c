// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * globals - global variables in .data, .rodata, .bss and custom .data.NAME / .rodata.NAME.
 *
 * libbpf turns each of these sections into an array map with one element (the section's
 * bytes), names it after the section, and describes the variables with the DATASEC in BTF.
 * .rodata is frozen after load: "const volatile" variables are the knobs user space sets
 * before loading. Static (local) variables are in the same sections but not visible to
 * user space by name in a skeleton; they still appear in the DATASEC. A string literal
 * passed to a helper lands in .rodata.str1.1 (mergeable strings), another .rodata.* map.
 */
#include "common.h"

struct config {
	__u32 port;
	__u8 verbose;
	__u8 mode;
	__u16 flags;
	__u64 limits[3];
};

struct stats {
	__u64 packets;
	__u64 bytes;
	__u32 by_proto[4];
};

/* .rodata: knobs set before load, then frozen */
const volatile struct config cfg = { .port = 8080, .verbose = 1, .limits = { 10, 20, 30 } };
const volatile __u32 sample_rate = 100;
const volatile _Bool use_fast_path = 0;
const char greeting[] = "pybpf";

/* .data: initialised, writable */
__u64 generation = 7;
char tag[8] = "v1";
static int data_local = -1;

/* .bss: zero-initialised */
struct stats stats;
__u32 last_len;
static __u64 bss_local;

/* custom sections: each its own map, named after the section */
__u64 counters[4] SEC(".data.counters") = { 1, 2, 3, 4 };
__u32 extra_flag SEC(".data.counters") = 0xabcd;
const volatile __u64 table[8] SEC(".rodata.table") = { 1, 1, 2, 3, 5, 8, 13, 21 };
const volatile char name_prefix[16] SEC(".rodata.table") = "pybpf-";

SEC("xdp")
int read_globals(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	if (cfg.verbose)
		stats.by_proto[len & 3]++;
	stats.packets++;
	stats.bytes += len;
	last_len = len;
	generation += sample_rate;
	bss_local += table[len & 7];
	data_local += greeting[0];
	counters[len & 3] += extra_flag;
	if (use_fast_path || len < cfg.limits[0])
		return XDP_PASS;
	if (bpf_strncmp(tag, sizeof(tag), "v2") == 0)
		return XDP_TX;
	if (tag[0] == 'v' && name_prefix[0] == 'p')
		return len > cfg.port ? XDP_DROP : XDP_PASS;
	return (bss_local + data_local) & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
