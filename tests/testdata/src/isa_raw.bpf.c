// SPDX-License-Identifier: MIT
// pybpf-variants: el.v4 eb.v4
/*
 * isa_raw - instructions clang-19 cannot emit, written as raw 8-byte words: load-acquire
 * and store-release (BPF_STX|BPF_ATOMIC with imm BPF_LOAD_ACQ 0x100 / BPF_STORE_REL 0x110,
 * Linux 6.15, LLVM 21). llvm-objdump-19 prints them as <unknown>.
 *
 *   load-acquire:   dst = load_acquire((size *)(src + off))
 *   store-release:  store_release((size *)(dst + off), src)
 *
 * The words are assembled with .8byte, whose value the assembler lays out in the target's
 * byte order, so the expression below differs per byte order.
 */
#include "common.h"

#define STR(x) #x
#define XSTR(x) STR(x)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define INSN(code, dst, src, off, imm)                                                   \
	".8byte (" XSTR(code) " | ((" #src " << 4 | " #dst ") << 8)"                       \
	" | ((" #off " & 0xffff) << 16) | (" XSTR(imm) " << 32))\n\t"
#else
#define INSN(code, dst, src, off, imm)                                                   \
	".8byte ((" XSTR(code) " << 56) | ((" #dst " << 4 | " #src ") << 48)"              \
	" | ((" #off " & 0xffff) << 32) | " XSTR(imm) ")\n\t"
#endif

/* STX|ATOMIC opcodes per size */
#define ATOMIC_B 0xd3
#define ATOMIC_H 0xcb
#define ATOMIC_W 0xc3
#define ATOMIC_DW 0xdb
#define LOAD_ACQ 0x100
#define STORE_REL 0x110

struct slots {
	__u64 dw;
	__u32 w;
	__u16 h;
	__u8 b;
	__u8 pad;
};

struct slots shared = { 0x1122334455667788ULL, 0x99aabbcc, 0xddee, 0xff };
__u64 acquired[4];

SEC("xdp")
int acquire_release(struct xdp_md *ctx)
{
	__u64 v0, v1, v2, v3;

	/* r2 = &shared; r0..r5 hold the loaded values; then store them back, released */
	asm volatile("r2 = %[base]\n\t"
		     INSN(ATOMIC_DW, 3, 2, 0, LOAD_ACQ)
		     INSN(ATOMIC_W, 4, 2, 8, LOAD_ACQ)
		     INSN(ATOMIC_H, 5, 2, 12, LOAD_ACQ)
		     INSN(ATOMIC_B, 0, 2, 14, LOAD_ACQ)
		     "%[v0] = r3\n\t"
		     "%[v1] = r4\n\t"
		     "%[v2] = r5\n\t"
		     "%[v3] = r0\n\t"
		     "r3 += 1\n\t"
		     "r4 += 1\n\t"
		     INSN(ATOMIC_DW, 2, 3, 0, STORE_REL)
		     INSN(ATOMIC_W, 2, 4, 8, STORE_REL)
		     INSN(ATOMIC_H, 2, 5, 12, STORE_REL)
		     INSN(ATOMIC_B, 2, 0, 14, STORE_REL)
		     : [v0] "=r"(v0), [v1] "=r"(v1), [v2] "=r"(v2), [v3] "=r"(v3)
		     : [base] "r"(&shared)
		     : "r0", "r2", "r3", "r4", "r5", "memory");
	acquired[0] = v0;
	acquired[1] = v1;
	acquired[2] = v2;
	acquired[3] = v3;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
