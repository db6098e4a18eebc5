#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

typedef unsigned char __u8;

typedef int (*callback_t)(void *, int);

enum color {
	RED = 0,
	GREEN = 5,
	BLUE = 6,
};

struct never_defined;

union never_defined_union;

enum signed_values {
	NEG = -3,
	ZERO = 0,
	POS = 3,
};

enum wide {
	WIDE_SMALL = 1ULL,
	WIDE_BIG = 20015998343868ULL,
};

enum wide_signed {
	WIDE_NEG = -4294967296LL,
	WIDE_ONE = 1LL,
};

typedef unsigned long long u64_t;

typedef u64_t counter_t;

struct bits {
	unsigned int a: 3;
	unsigned int b: 5;
	int c: 7;
	long: 49;
	unsigned long long d: 33;
	_Bool flag: 1;
};

struct packed {
	char c;
	int i;
	short s;
} __attribute__((packed));

struct node {
	struct node *next;
	struct node **prev_next;
	volatile const int *cv;
	int matrix[2][3];
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	struct {
		short x;
		short y;
	} point;
	callback_t cb;
	void (*handler)(struct node *, enum color);
	struct never_defined *opaque;
	union never_defined_union *opaque_union;
	int __attribute__((btf_type_tag("user"))) *user_ptr;
	int __attribute__((btf_type_tag("percpu"))) __attribute__((btf_type_tag("user"))) *tagged_twice;
	enum color color;
	enum signed_values sv;
	enum wide wide;
	enum wide_signed wide_signed;
	counter_t hits;
	float ratio;
	double mean;
	struct bits bits;
	struct packed packed;
	char name[16];
	unsigned char tail[0];
};

typedef long long __s64;

union number {
	__s64 i;
	double d;
	char raw[8];
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
