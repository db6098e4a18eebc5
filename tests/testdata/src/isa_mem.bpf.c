// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v2 el.v3 el.v4 eb.v3 eb.v4
/*
 * isa_mem - loads and stores of every size, the legacy packet loads and 64-bit immediates.
 *
 * - LDX/STX of u8/u16/u32/u64 on packet, stack and map-value (global) memory;
 * - ST (store of an immediate): clang-19 emits it for constant stores only at v4 (below, it
 *   materialises the constant in a register), so an inline-assembly block spells all four
 *   sizes out at every level;
 * - sign-extending loads (LDX|MEMSX, v4): a signed narrow value widened to 64 bits;
 * - lddw: a 64-bit constant, the address of a map (R_BPF_64_64 against a .maps symbol,
 *   BPF_PSEUDO_MAP_FD once loaded) and of a global (BPF_PSEUDO_MAP_VALUE);
 * - the legacy BPF_ABS/BPF_IND packet loads, via the llvm.bpf.load.* intrinsics, in a
 *   socket filter (the only kind of program that may use them, with tc).
 */
#include "common.h"

struct record {
	__u8 u8;
	__s8 s8;
	__u16 u16;
	__s16 s16;
	__u16 pad;
	__u32 u32;
	__s32 s32;
	__u64 u64;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct record);
} records SEC(".maps");

struct record last_record;
__s64 widened[6];
__u64 constants[4];

SEC("xdp")
int load_store(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct record *pkt = data, *slot, local;
	__u32 key = 0;

	if (data + sizeof(*pkt) > data_end)
		return XDP_ABORTED;
	/* packet -> stack, field by field */
	local.u8 = pkt->u8;
	local.s8 = pkt->s8;
	local.u16 = pkt->u16;
	local.s16 = pkt->s16;
	local.pad = 0;
	local.u32 = pkt->u32;
	local.s32 = pkt->s32;
	local.u64 = pkt->u64;
	/* stack -> map value (through a lookup) and -> a global (direct map value access) */
	key = local.u8 & 3;
	slot = bpf_map_lookup_elem(&records, &key);
	if (slot) {
		slot->u8 = local.u8 + 1;
		slot->u16 = local.u16 + 1;
		slot->u32 = local.u32 + 1;
		slot->u64 = local.u64 + 1;
	}
	last_record = local;
	/* signed narrow loads widened: ldsx at v4, load + shifts below */
	widened[0] = pkt->s8;
	widened[1] = pkt->s16;
	widened[2] = pkt->s32;
	widened[3] = last_record.s8;
	widened[4] = last_record.s16;
	widened[5] = last_record.s32;
	/* stores of immediates into the packet */
	pkt->u8 = 0x5a;
	pkt->u16 = 0x1234;
	pkt->u32 = 0xdeadbeef;
	pkt->pad = 7;
	return XDP_PASS;
}

SEC("xdp")
int store_imm(struct xdp_md *ctx)
{
	__u64 sum;

	/* ST of every size to the stack, read back with LDX */
	asm volatile("*(u8 *)(r10 - 1) = 0x11\n\t"
		     "*(u16 *)(r10 - 4) = 0x2233\n\t"
		     "*(u32 *)(r10 - 8) = 0x44556677\n\t"
		     "*(u64 *)(r10 - 16) = -2\n\t"
		     "%[sum] = *(u8 *)(r10 - 1)\n\t"
		     "r1 = *(u16 *)(r10 - 4)\n\t"
		     "%[sum] += r1\n\t"
		     "r1 = *(u32 *)(r10 - 8)\n\t"
		     "%[sum] += r1\n\t"
		     "r1 = *(u64 *)(r10 - 16)\n\t"
		     "%[sum] += r1\n\t"
		     : [sum] "=r"(sum)
		     :
		     : "r1", "memory");
	constants[3] = sum;
	return XDP_PASS;
}

SEC("xdp")
int wide_imm(struct xdp_md *ctx)
{
	__u64 seed = ctx->ingress_ifindex;

	constants[0] = 0x0123456789abcdefULL ^ seed;
	constants[1] = 0xfffffffe00000001ULL + seed;
	constants[2] = (__u64)(long)&records;
	return XDP_PASS;
}

/* The legacy loads: r0 = *(size *)skb[imm] and skb[src + imm], network byte order. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int ld_abs_ind(struct __sk_buff *skb)
{
	__u64 proto, ihl, sport, dport, ttl;

	proto = load_half(skb, 12);
	if (proto != 0x0800)
		return 0;
	ttl = load_byte(skb, 14 + 8);
	ihl = (load_byte(skb, 14) & 0xf) * 4;
	sport = load_half(skb, 14 + ihl);
	dport = load_half(skb, 14 + ihl + 2);
	/* BPF_IND of every size: the TCP flags byte and sequence number */
	if (load_byte(skb, 14 + ihl + 13) & 0x02)
		sport ^= load_word(skb, 14 + ihl + 4);
	if (load_word(skb, 14 + 12) == 0x7f000001 && ttl > 1)
		return (sport ^ dport) & 0xffff;
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
