// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * maps_legacy - map definitions in the legacy "maps" section (struct bpf_map_def).
 *
 * libbpf 1.0 dropped this format ("legacy map definitions in 'maps' section are not
 * supported"), so bpftool/libbpf refuse the object; pybpf keeps reading it, as cilium/ebpf
 * and older loaders do. The struct is declared here because libbpf's headers no longer
 * have it. The ELF symbols (OBJECT, size 20) say where each definition starts.
 */
#include "common.h"

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = 16,
	.max_entries = 4,
};

struct bpf_map_def SEC("maps") legacy_prog_array = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 8,
};

SEC("socket")
int legacy_counter(struct __sk_buff *skb)
{
	__u32 key = skb->protocol;
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&legacy_hash, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&legacy_hash, &key, &one, BPF_NOEXIST);
	bpf_tail_call(skb, &legacy_prog_array, 0);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
/* the old "version" section: the kernel version kprobe programs once had to state */
__u32 _version SEC("version") = 0x060100;
