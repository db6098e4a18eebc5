#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct dup {
	int a;
};

struct dup___2 {
	int a;
	weird b;
};

typedef struct dup dup_t;

typedef struct dup___2 dup_t___2;

enum e1 {
	dup_t___3 = 1,
	E1_B = 2,
};

typedef __builtin_va_list __gnuc_va_list;

struct oldbits {
	int x;
	int y;
} __attribute__((packed));

typedef unsigned char __Poly8_t;

struct uses {
	int __attribute__((btf_type_tag("noderef"))) *p;
	__builtin_va_list va;
	__Poly8_t poly;
	dup_t d1;
	dup_t___2 d2;
	enum e1 e;
	struct oldbits bits;
	weird w;
};

enum {
	TOP_ANON = 1,
};

enum e64_small {
	E64_ONE = 1ULL,
};

enum e8 {
	E8_ONE = 1,
};

enum e_empty;

union fwd_union;

struct xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {
	int a;
};

struct xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {
	int a;
	int b;
};

struct node;

typedef struct node node_t;

struct node {
	node_t *next;
};

struct holder {
	union fwd_union *f;
	double a[1];
};

union tail {
	double d;
	enum e_empty e;
};

enum uns {
	BIG = 4294967295,
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
