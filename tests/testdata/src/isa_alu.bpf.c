// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v3 el.v4 eb.v3 eb.v4
/*
 * isa_alu - every ALU/ALU64 operation clang emits, register and immediate forms.
 *
 * The operands come from the packet so nothing folds away; each result lands in a .bss
 * array so the VM and BPF_PROG_TEST_RUN can be compared on memory as well as on r0.
 * At -mcpu=v3+ the 32-bit operations use the ALU32 class (w registers); at v1/v2 clang
 * widens them to ALU64 and masks. Signed division and modulo exist only at v4 (clang
 * refuses them below), as do movsx (v1-v3 use shift pairs instead) and bswap (v1-v3 use
 * be/le conversions).
 */
#include "common.h"

struct operands {
	__u64 a;
	__u64 b;
	__s64 sa;
	__s64 sb;
	__u32 c;
	__u32 d;
	__s32 sc;
	__s32 sd;
	__u8 shift;
	__u8 pad[7];
};

__u64 alu64_out[24];
__u32 alu32_out[20];
__u64 ext_out[16];

/* The operands, read in place from the packet (NULL when it is too short). */
static __always_inline struct operands *operands(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(struct operands) > data_end)
		return NULL;
	return data;
}

SEC("xdp")
int alu64(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u64 a, b;

	if (!op)
		return XDP_ABORTED;
	a = op->a;
	b = op->b;
	alu64_out[0] = a + b;
	alu64_out[1] = a - b;
	alu64_out[2] = a * b;
	alu64_out[3] = a / (b | 1);
	alu64_out[4] = a % (b | 1);
	alu64_out[5] = a | b;
	alu64_out[6] = a & b;
	alu64_out[7] = a ^ b;
	alu64_out[8] = a << (op->shift & 63);
	alu64_out[9] = a >> (op->shift & 63);
	alu64_out[10] = (__u64)(op->sa >> (op->shift & 63));
	alu64_out[11] = -a;
	alu64_out[12] = a + 0x7654321;
	alu64_out[13] = a * 1000003;
	alu64_out[14] = a / 10;
	alu64_out[15] = a % 1000;
	alu64_out[16] = a << 13;
	alu64_out[17] = a >> 7;
	alu64_out[18] = (__u64)(op->sa >> 9);
	alu64_out[19] = a ^ 0x0123456789abcdefULL;
	alu64_out[20] = a & 0xffff0000ULL;
	alu64_out[21] = b - 0x80000000ULL;
	alu64_out[22] = ~a;
	alu64_out[23] = a;
	/* forms clang never picks: it writes x - K as x += -K, and x % y next to x / y as
	 * x - (x / y) * y */
	asm volatile("%[x] -= 1000\n\t"
		     "%[x] %%= %[y]\n\t"
		     : [x] "+r"(a)
		     : [y] "r"(b | 1));
	alu64_out[22] ^= a;
	return (a ^ b) & 3;
}

SEC("xdp")
int alu32(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u32 c, d;

	if (!op)
		return XDP_ABORTED;
	c = op->c;
	d = op->d;
	alu32_out[0] = c + d;
	alu32_out[1] = c - d;
	alu32_out[2] = c * d;
	alu32_out[3] = c / (d | 1);
	alu32_out[4] = c % (d | 1);
	alu32_out[5] = c | d;
	alu32_out[6] = c & d;
	alu32_out[7] = c ^ d;
	alu32_out[8] = c << (op->shift & 31);
	alu32_out[9] = c >> (op->shift & 31);
	alu32_out[10] = (__u32)(op->sc >> (op->shift & 31));
	alu32_out[11] = -c;
	alu32_out[12] = c + 77;
	alu32_out[13] = c * 65599;
	alu32_out[14] = c / 7;
	alu32_out[15] = c % 13;
	alu32_out[16] = c << 5;
	alu32_out[17] = c >> 3;
	alu32_out[18] = (__u32)(op->sc >> 4);
	alu32_out[19] = ~c;
	/* a 32-bit result widened to 64 bits: zero extension */
	ext_out[0] = (__u64)(c + d);
#if __BPF_CPU_VERSION__ >= 3
	/* as in alu64: the forms clang never picks, on w registers */
	asm volatile("%[x] -= 1000\n\t"
		     "%[x] %%= %[y]\n\t"
		     : [x] "+w"(c)
		     : [y] "w"(d | 1));
	alu32_out[18] ^= c;
#endif
	return (c + d) & 3;
}

SEC("xdp")
int extend(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);

	if (!op)
		return XDP_ABORTED;
	/* sign extension: movsx at v4, shift pairs below */
	ext_out[1] = (__u64)(__s64)(__s8)op->a;
	ext_out[2] = (__u64)(__s64)(__s16)op->a;
	ext_out[3] = (__u64)(__s64)(__s32)op->a;
	ext_out[4] = (__u32)(__s32)(__s8)op->c;
	ext_out[5] = (__u32)(__s32)(__s16)op->c;
	ext_out[6] = (__u64)(__s64)op->sc;
	/* byte swaps: bswap at v4, be/le conversions below */
	ext_out[7] = __builtin_bswap16((__u16)op->a);
	ext_out[8] = __builtin_bswap32((__u32)op->a);
	ext_out[9] = __builtin_bswap64(op->a);
	ext_out[10] = bpf_htons((__u16)op->b);
	ext_out[11] = bpf_htonl((__u32)op->b);
	ext_out[12] = bpf_be64_to_cpu(op->b);
	return XDP_PASS;
}

#if __BPF_CPU_VERSION__ >= 4
SEC("xdp")
int signed_div(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);

	if (!op)
		return XDP_ABORTED;
	ext_out[13] = (__u64)(op->sa / (op->sb | 1));
	ext_out[14] = (__u64)(op->sa % (op->sb | 1));
	ext_out[15] = (__u32)(op->sc / (op->sd | 1)) | ((__u64)(__u32)(op->sc % (op->sd | 2)) << 32);
	alu64_out[23] = (__u64)(op->sa / -7) ^ (__u64)(op->sa % 5);
	alu32_out[19] = (__u32)(op->sc / 3) ^ (__u32)(op->sc % -9);
	return XDP_PASS;
}
#endif

char LICENSE[] SEC("license") = "GPL";
