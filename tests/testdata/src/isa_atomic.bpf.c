// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v3 el.v4 eb.v3 eb.v4
/*
 * isa_atomic - the atomic instructions (STX|ATOMIC), 32- and 64-bit, on map values.
 *
 * v1/v2 have only the original XADD (lock add, result unused); clang refuses the others
 * below v3. From v3: add/or/and/xor with and without BPF_FETCH, xchg and cmpxchg, in both
 * widths. __sync_fetch_and_sub is an add of the negated operand.
 */
#include "common.h"

__u64 c64[8];
__u32 c32[8];
__u64 fetched[12];

SEC("xdp")
int atomics(struct xdp_md *ctx)
{
	__u64 v = ctx->data_end - ctx->data;
	__u32 w = (__u32)v;

	/* lock add, result unused: every cpu level */
	__sync_fetch_and_add(&c64[0], v);
	__sync_fetch_and_add(&c32[0], w);
#if __BPF_CPU_VERSION__ >= 3
	/* no fetch */
	__sync_fetch_and_or(&c64[1], v);
	__sync_fetch_and_and(&c64[2], v | 0xff00);
	__sync_fetch_and_xor(&c64[3], v);
	__sync_fetch_and_or(&c32[1], w);
	__sync_fetch_and_and(&c32[2], w | 0xff00);
	__sync_fetch_and_xor(&c32[3], w);
	/* fetch: the old value comes back in the source register */
	fetched[0] = __sync_fetch_and_add(&c64[4], v);
	fetched[1] = __sync_fetch_and_or(&c64[4], 0x100);
	fetched[2] = __sync_fetch_and_and(&c64[4], ~0x1ULL);
	fetched[3] = __sync_fetch_and_xor(&c64[4], v);
	fetched[4] = __sync_fetch_and_sub(&c64[5], 3);
	fetched[5] = __sync_fetch_and_add(&c32[4], w);
	fetched[6] = __sync_fetch_and_or(&c32[4], 0x100);
	fetched[7] = __sync_fetch_and_and(&c32[4], ~0x1U);
	fetched[8] = __sync_fetch_and_xor(&c32[4], w);
	/* exchange and compare-and-exchange (r0 holds the expected value) */
	fetched[9] = __sync_lock_test_and_set(&c64[6], v);
	fetched[10] = __sync_val_compare_and_swap(&c64[7], 0, v);
	fetched[11] = __sync_lock_test_and_set(&c32[6], w) +
		      __sync_val_compare_and_swap(&c32[7], 0, w);
#endif
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
