// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3
/*
 * bs_tc - libbpf-bootstrap's "tc" example, rewritten: a classifier on ingress that parses
 * Ethernet and IPv4 with direct packet access and prints the IPv4 total length and TTL.
 */
#include "common.h"
#include <linux/if_ether.h>
#include <linux/ip.h>

#define TC_ACT_OK 0

SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *l2;
	struct iphdr *l3;

	if (ctx->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	l2 = data;
	if ((void *)(l2 + 1) > data_end)
		return TC_ACT_OK;
	l3 = (struct iphdr *)(l2 + 1);
	if ((void *)(l3 + 1) > data_end)
		return TC_ACT_OK;
	bpf_printk("Got IP packet: tot_len: %d, ttl: %d", bpf_ntohs(l3->tot_len), l3->ttl);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
