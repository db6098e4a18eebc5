// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * maps - BTF-defined maps (.maps section) of every common type, with their attributes.
 *
 * Covers: key/value given as types (__type) and as sizes (key_size/value_size); no key
 * (queue, stack, bloom filter, ring buffers); map_flags; pinning by name; numa_node;
 * map_extra (bloom filter hash count); a prog array and array/hash of maps initialised
 * in the object (.values), the maps-in-map with an inner map template (__array of a named
 * struct type, or of an anonymous one). The programs touch most
 * maps so the loader also exercises lddw map relocations against them.
 */
#include "common.h"

/* not in the 6.1 uapi header this is built against */
#define PYBPF_MAP_TYPE_CGRP_STORAGE 32

struct value {
	__u64 packets;
	__u64 bytes;
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
} array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct value);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u64);
	__type(value, __u32);
} lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
} lru_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} lpm SEC(".maps");

/* created on a given NUMA node, pinned as /sys/fs/bpf/pybpf_pin_counts */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pybpf_pin_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} user_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 32);
	__type(value, __u64);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 32);
	__type(value, __u32);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 1000);
	__type(value, __u32);
	__uint(map_extra, 3);
} bloom SEC(".maps");

struct sock_info {
	__u64 first_seen;
	__u32 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_info);
} sk_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} task_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} inode_storage SEC(".maps");

struct {
	__uint(type, PYBPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} cgrp_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} devmap_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xskmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} reuseport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} cgroups SEC(".maps");

/* map-in-map: the inner template is the __array's element type */
struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
};

struct inner inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer_array SEC(".maps") = {
	.values = { &inner_a, [3] = &inner_b },
};

struct inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner_hash inner_h SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_hash);
} outer_hash SEC(".maps") = {
	.values = { [5] = &inner_h },
};

/* an anonymous inner template and no initial values */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
		__uint(max_entries, 8);
		__type(key, __u32);
		__type(value, __u64);
	});
} outer_anon SEC(".maps");

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* a prog array whose slot 1 the loader fills with tail_target's fd */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(struct xdp_md *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

SEC("xdp")
int use_maps(struct xdp_md *ctx)
{
	__u32 key = 0, len = ctx->data_end - ctx->data;
	struct lpm_v4_key lkey = { .prefixlen = 32, .addr = { 10, 0, 0, 1 } };
	struct value *v, init = { 1, len };
	__u64 qv = len, *count;
	__u32 *inner_val;
	void *inner;

	v = bpf_map_lookup_elem(&hash, &key);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
	} else {
		bpf_map_update_elem(&hash, &key, &init, BPF_NOEXIST);
	}
	count = bpf_map_lookup_elem(&array, &key);
	if (count)
		*count += len;
	count = bpf_map_lookup_elem(&pybpf_pin_counts, &key);
	if (count)
		(*count)++;
	if (bpf_map_lookup_elem(&lpm, &lkey))
		return XDP_DROP;
	bpf_map_push_elem(&queue, &qv, BPF_EXIST);
	bpf_map_push_elem(&stack, &len, 0);
	if (bpf_map_peek_elem(&bloom, &len) == 0)
		return XDP_DROP;
	inner = bpf_map_lookup_elem(&outer_array, &key);
	if (inner) {
		inner_val = bpf_map_lookup_elem(inner, &key);
		if (inner_val)
			*inner_val = len;
	}
	bpf_ringbuf_output(&ringbuf, &init, sizeof(init), 0);
	if (len < 20)
		bpf_tail_call(ctx, &jumps, 1);
	if (len > 1500)
		return bpf_redirect_map(&cpumap, 0, XDP_PASS);
	if (len > 1000)
		return bpf_redirect_map(&xskmap, ctx->rx_queue_index, XDP_PASS);
	return bpf_redirect_map(&devmap, 0, XDP_PASS);
}

SEC("tc")
int use_perf(struct __sk_buff *skb)
{
	struct value v = { 1, skb->len };

	bpf_perf_event_output(skb, &perf_events, BPF_F_CURRENT_CPU, &v, sizeof(v));
	return 0;
}

SEC("cgroup_skb/ingress")
int use_sk_storage(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct sock_info *info;

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	info = bpf_sk_storage_get(&sk_storage, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (info)
		info->packets++;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
