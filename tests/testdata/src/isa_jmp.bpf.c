// SPDX-License-Identifier: MIT
// pybpf-variants: el.v1 el.v2 el.v3 el.v4 eb.v3 eb.v4
/*
 * isa_jmp - conditional and unconditional jumps, bounded loops, gotol and may_goto.
 *
 * Each comparison sets one bit of a mask, so the jump taken is visible in the result.
 * clang canonicalises most comparisons to a few opcodes (jgt, jsgt, jeq ...), so a second
 * program spells every conditional jump out in inline assembly, register and immediate
 * forms: v1 has only jeq/jne/jgt/jge/jset/jsgt/jsge; v2 adds jlt/jle/jslt/jsle; v3 adds the
 * JMP32 class (comparisons of 32-bit values on w registers). At v4 the fixture also carries a
 * `gotol` (JMP32|JA with a 32-bit offset in imm) and `may_goto` (the can_loop construct
 * of the kernel's bpf_experimental.h), both through inline assembly; a gotol produced by
 * the compiler for a far jump lives in large.bpf.c.
 */
#include "common.h"

struct operands {
	__u64 a;
	__u64 b;
	__u32 c;
	__u32 d;
	__u32 n;
	__u32 pad;
};

__u64 jmp_out[8];

static __always_inline struct operands *operands(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(struct operands) > data_end)
		return NULL;
	return data;
}

/* Keep a comparison from being turned into arithmetic: one bit per outcome. */
#define BIT_IF(mask, cond, bit)                                                          \
	do {                                                                             \
		if (cond)                                                                \
			mask |= 1ULL << (bit);                                           \
		asm volatile("" : "+r"(mask));                                           \
	} while (0)

SEC("xdp")
int cmp64(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u64 m = 0, a, b;
	__s64 sa, sb;

	if (!op)
		return XDP_ABORTED;
	a = op->a;
	b = op->b;
	sa = (__s64)a;
	sb = (__s64)b;
	BIT_IF(m, a == b, 0);
	BIT_IF(m, a != b, 1);
	BIT_IF(m, a > b, 2);
	BIT_IF(m, a >= b, 3);
	BIT_IF(m, a < b, 4);
	BIT_IF(m, a <= b, 5);
	BIT_IF(m, a & b, 6);
	BIT_IF(m, sa > sb, 7);
	BIT_IF(m, sa >= sb, 8);
	BIT_IF(m, sa < sb, 9);
	BIT_IF(m, sa <= sb, 10);
	BIT_IF(m, a == 17, 11);
	BIT_IF(m, a != 23, 12);
	BIT_IF(m, a > 1000, 13);
	BIT_IF(m, a >= 1000, 14);
	BIT_IF(m, a < 99, 15);
	BIT_IF(m, a <= 99, 16);
	BIT_IF(m, a & 0x40, 17);
	BIT_IF(m, sa > -5, 18);
	BIT_IF(m, sa >= -5, 19);
	BIT_IF(m, sa < -5, 20);
	BIT_IF(m, sa <= -5, 21);
	jmp_out[0] = m;
	return m & 3;
}

SEC("xdp")
int cmp32(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u64 m = 0;
	__u32 c, d;
	__s32 sc, sd;

	if (!op)
		return XDP_ABORTED;
	c = op->c;
	d = op->d;
	sc = (__s32)c;
	sd = (__s32)d;
	BIT_IF(m, c == d, 0);
	BIT_IF(m, c != d, 1);
	BIT_IF(m, c > d, 2);
	BIT_IF(m, c >= d, 3);
	BIT_IF(m, c < d, 4);
	BIT_IF(m, c <= d, 5);
	BIT_IF(m, c & d, 6);
	BIT_IF(m, sc > sd, 7);
	BIT_IF(m, sc >= sd, 8);
	BIT_IF(m, sc < sd, 9);
	BIT_IF(m, sc <= sd, 10);
	BIT_IF(m, c == 17, 11);
	BIT_IF(m, c != 23, 12);
	BIT_IF(m, c > 1000, 13);
	BIT_IF(m, c >= 1000, 14);
	BIT_IF(m, c < 99, 15);
	BIT_IF(m, c <= 99, 16);
	BIT_IF(m, c & 0x40, 17);
	BIT_IF(m, sc > -5, 18);
	BIT_IF(m, sc >= -5, 19);
	BIT_IF(m, sc < -5, 20);
	BIT_IF(m, sc <= -5, 21);
	jmp_out[1] = m;
	return m & 3;
}

/* "if a OP b goto +1; m |= bit": the bit is set when the condition is false. */
#define JR(op, bit) "if %[a] " op " %[b] goto +1\n\t%[m] |= " #bit "\n\t"
#define JI(op, imm, bit) "if %[a] " op " " #imm " goto +1\n\t%[m] |= " #bit "\n\t"
#define WR(op, bit) "if %[c] " op " %[d] goto +1\n\t%[m] |= " #bit "\n\t"
#define WI(op, imm, bit) "if %[c] " op " " #imm " goto +1\n\t%[m] |= " #bit "\n\t"

SEC("xdp")
int jump_table(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u64 m = 0, a, b;

	if (!op)
		return XDP_ABORTED;
	a = op->a;
	b = op->b;
	asm volatile(JR("==", 0x1) JR("!=", 0x2) JR(">", 0x4) JR(">=", 0x8) JR("&", 0x10)
		     JR("s>", 0x20) JR("s>=", 0x40)
		     JI("==", 17, 0x80) JI("!=", 23, 0x100) JI(">", 1000, 0x200)
		     JI(">=", 1000, 0x400) JI("&", 0x40, 0x800) JI("s>", -5, 0x1000)
		     JI("s>=", -5, 0x2000)
#if __BPF_CPU_VERSION__ >= 2
		     JR("<", 0x4000) JR("<=", 0x8000) JR("s<", 0x10000) JR("s<=", 0x20000)
		     JI("<", 99, 0x40000) JI("<=", 99, 0x80000) JI("s<", -5, 0x100000)
		     JI("s<=", -5, 0x200000)
#endif
		     /* ja, in a diamond so that both arms are reachable */
		     "if %[a] > %[b] goto +2\n\t"
		     "%[m] |= 0x400000\n\t"
		     "goto +1\n\t"
		     "%[m] |= 0x800000\n\t"
		     : [m] "+r"(m)
		     : [a] "r"(a), [b] "r"(b));
	jmp_out[6] = m;
#if __BPF_CPU_VERSION__ >= 3
	{
		__u32 c = op->c, d = op->d;

		m = 0;
		asm volatile(WR("==", 0x1) WR("!=", 0x2) WR(">", 0x4) WR(">=", 0x8)
			     WR("&", 0x10) WR("s>", 0x20) WR("s>=", 0x40) WR("<", 0x80)
			     WR("<=", 0x100) WR("s<", 0x200) WR("s<=", 0x400)
			     WI("==", 17, 0x800) WI("!=", 23, 0x1000) WI(">", 1000, 0x2000)
			     WI(">=", 1000, 0x4000) WI("&", 0x40, 0x8000) WI("s>", -5, 0x10000)
			     WI("s>=", -5, 0x20000) WI("<", 99, 0x40000) WI("<=", 99, 0x80000)
			     WI("s<", -5, 0x100000) WI("s<=", -5, 0x200000)
			     : [m] "+r"(m)
			     : [c] "w"(c), [d] "w"(d));
		jmp_out[7] = m;
	}
#endif
	return XDP_PASS;
}

/* A bounded loop: backward jumps, accepted by the verifier since Linux 5.3. */
SEC("xdp")
int loop(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u64 acc = 0;
	__u32 i, n;

	if (!op)
		return XDP_ABORTED;
	n = op->n;
	for (i = 0; i < 64 && i < n; i++) {
		acc = acc * 31 + (op->a >> (i & 63));
		if (acc == op->b)
			break;
	}
	jmp_out[2] = acc;
	jmp_out[3] = i;
	return XDP_PASS;
}

#if __BPF_CPU_VERSION__ >= 4
/* The kernel's can_loop: may_goto jumps out once the verifier's loop budget is spent. */
#define can_loop                                                                         \
	({                                                                               \
		__label__ l_break, l_continue;                                           \
		_Bool ret = 1;                                                           \
		asm volatile goto("may_goto %l[l_break]" :::: l_break);                  \
		goto l_continue;                                                         \
	l_break:                                                                         \
		ret = 0;                                                                 \
	l_continue:;                                                                     \
		ret;                                                                     \
	})

SEC("xdp")
int long_jumps(struct xdp_md *ctx)
{
	struct operands *op = operands(ctx);
	__u64 acc;
	__u32 i = 0;

	if (!op)
		return XDP_ABORTED;
	/* gotol: JA with the 32-bit offset in imm (in a diamond: both arms reachable) */
	asm volatile("if %[a] > %[b] goto +2\n\t"
		     "%[acc] = 0xdead\n\t"
		     "gotol +1\n\t"
		     "%[acc] = 0xbeef\n\t"
		     : [acc] "=r"(acc)
		     : [a] "r"(op->a), [b] "r"(op->b));
	while (i < op->n && can_loop) {
		acc += op->a ^ i;
		i++;
	}
	jmp_out[4] = acc;
	jmp_out[5] = i;
	return XDP_PASS;
}
#endif

char LICENSE[] SEC("license") = "GPL";
