// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * btf_kinds - an object whose .BTF holds every BTF kind clang emits:
 * INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
 * FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG and ENUM64,
 * plus the shapes that stress a BTF reader and C formatter: bitfields (kind_flag), packed
 * and anonymous members, nested and multi-dimensional arrays, a flexible array, signed
 * and unsigned enums, function pointers, pointer-to-pointer, self reference, and a
 * forward-declared struct and union never defined.
 */
#include "common.h"

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))
#define __percpu __attribute__((btf_type_tag("percpu")))

struct never_defined;
union never_defined_union;

enum color { RED, GREEN = 5, BLUE };
enum signed_values { NEG = -3, ZERO = 0, POS = 3 };
enum wide { WIDE_SMALL = 1, WIDE_BIG = 0x123456789abcULL };
enum wide_signed { WIDE_NEG = -0x100000000LL, WIDE_ONE = 1 };

typedef unsigned long long u64_t;
typedef u64_t counter_t;
typedef int (*callback_t)(void *ctx, int arg);

struct bits {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 7;
	unsigned int : 0;
	unsigned long long d : 33;
	_Bool flag : 1;
};

struct __attribute__((packed)) packed {
	char c;
	int i;
	short s;
};

struct node {
	struct node *next;
	struct node **prev_next;
	const volatile int *cv;
	int matrix[2][3];
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	struct {
		short x, y;
	} point;
	callback_t cb;
	void (*handler)(struct node *n, enum color c);
	struct never_defined *opaque;
	union never_defined_union *opaque_union;
	int __user *user_ptr;
	int __percpu __user *tagged_twice;
	enum color color;
	enum signed_values sv;
	enum wide wide;
	enum wide_signed wide_signed;
	counter_t hits __tag("counter");
	float ratio;
	double mean;
	struct bits bits;
	struct packed packed;
	char name[16];
	unsigned char tail[];
} __tag("node_struct");

union number {
	__s64 i;
	double d;
	char raw[8];
};

struct node root = { .color = GREEN, .sv = NEG, .wide = WIDE_BIG };
union number num;
int *restrict restricted_ptr;
const int const_int = 42;
volatile long volatile_long;
float a_float = 1.5f;
double a_double = 2.25;
long double a_long_double;
signed char schar = -1;
unsigned char uchar = 255;
short sshort = -2;
unsigned short ushort;
long slong;
unsigned long ulong;
__int128 i128;
unsigned __int128 u128;
_Bool boolean = 1;
char string[] = "btf";
struct never_defined *global_fwd;
int tagged_var __tag("var_tag") = 3;

static __noinline int visit(struct node *n __tag("param_tag"), int depth) __tag("func_tag")
{
	return n->matrix[1][2] + n->bits.b * depth + n->point.x + n->bits.c;
}

SEC("xdp")
int use_types(struct xdp_md *ctx)
{
	root.hits++;
	root.as_u32 = ctx->ingress_ifindex;
	num.i = visit(&root, 4) + root.sv + root.packed.i;
	return (num.raw[0] & 1) + XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
