// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v3 el.v4 eb.v3
/*
 * firewall - the project's demo program: an XDP firewall keyed on the IPv4 source.
 *
 * For each frame: parse Ethernet then IPv4, every read bounds-checked against data_end.
 * Non-IPv4 frames (and frames too short to hold the headers) pass. For IPv4, the packet
 * is counted per source address in COUNTERS (dropped or not), then dropped if the source
 * is in BLOCKLIST, passed otherwise.
 *
 * Maps (keys are the source address as it is on the wire: network byte order):
 *   BLOCKLIST  hash  __u32 saddr -> __u32 (any value: presence blocks)
 *   COUNTERS   hash  __u32 saddr -> __u64 packets seen from that source
 */
#include "common.h"
#include <linux/if_ether.h>
#include <linux/ip.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} BLOCKLIST SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} COUNTERS SEC(".maps");

static __always_inline void count_source(__u32 saddr)
{
	__u64 *count = bpf_map_lookup_elem(&COUNTERS, &saddr);
	__u64 one = 1;

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&COUNTERS, &saddr, &one, BPF_NOEXIST);
}

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 saddr;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;

	saddr = ip->saddr;
	count_source(saddr);
	if (bpf_map_lookup_elem(&BLOCKLIST, &saddr))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
