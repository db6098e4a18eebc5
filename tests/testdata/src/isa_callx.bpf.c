// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v4 eb.v4
/*
 * isa_callx - an indirect call through a function pointer: clang emits `callx rN`
 * (JMP|CALL|X, opcode 0x8d, the target register in dst), at every cpu level.
 *
 * No Linux kernel accepts callx (the verifier has no indirect calls); uBPF implements it
 * and bpf_conformance tests it, so this object is for the VM and the disassembler only.
 * The targets are static subprograms in .text whose addresses clang loads with lddw and
 * a relocation against .text, as for a callback.
 */
#include "common.h"

typedef __u64 (*op_fn)(__u64 a, __u64 b);

static __noinline __u64 op_add(__u64 a, __u64 b)
{
	return a + b;
}

static __noinline __u64 op_xor(__u64 a, __u64 b)
{
	return a ^ b;
}

static __noinline __u64 op_mul(__u64 a, __u64 b)
{
	return a * b;
}

__u64 callx_out;

SEC("xdp")
int indirect(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	op_fn fn;

	switch (len & 3) {
	case 0:
		fn = op_add;
		break;
	case 1:
		fn = op_xor;
		break;
	default:
		fn = op_mul;
		break;
	}
	callx_out = fn(len, 7);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
