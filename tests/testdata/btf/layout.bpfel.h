#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct pk {
	char c;
	int i;
	short s;
} __attribute__((packed));

struct embeds_packed {
	char c;
	struct pk p;
	int z;
};

struct pk2 {
	int a;
	char b;
} __attribute__((packed));

struct packed_then_char {
	struct pk2 x;
	char y;
};

struct packed_aligned_member {
	char a;
	int: 0;
	long b;
} __attribute__((packed));

struct zero_width {
	int a: 4;
	int: 0;
	char c;
	long long l: 3;
};

struct aligned_member {
	char a;
	long: 0;
	short b;
	char c;
	long: 0;
};

struct tail_pad {
	long l;
	char c;
};

struct big_gap {
	char c;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	int far;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
};

struct bitfield_run {
	unsigned char a: 1;
	char: 6;
	unsigned char b: 1;
	short: 8;
	unsigned short c: 9;
	long: 39;
	unsigned long long d: 50;
	unsigned long long e: 14;
};

struct al16 {
	int x;
	long: 64;
};

struct al8 {
	char c;
	long: 0;
};

union un {
	char c;
	struct al16 a;
	long long l: 40;
};

struct holder {
	struct al16 a;
	struct al8 b[3];
	long: 64;
	union un u;
	char tail;
	long: 64;
};

struct list {
	struct list *next;
	struct list *prev;
};

struct b_type;

struct a_type {
	struct b_type *b;
	struct list l;
};

struct b_type {
	struct a_type a;
	int (*cmp)(const struct a_type *, const struct b_type *);
};

typedef void (* (*fn_returning_fn)(int))(long);

typedef int (*array_of_fns[4])(char);

typedef const char * const * const strs_t;

typedef int matrix_t[2][3][4];

typedef volatile struct list *vlist_t;

typedef struct {
	int x;
} anon_typedef_t;

typedef anon_typedef_t *anon_ptr_t;

typedef enum {
	ANON_A = 1,
	ANON_B = 2,
} anon_enum_t;

typedef union {
	int i;
	float f;
} anon_union_t;

struct fns {
	fn_returning_fn f1;
	array_of_fns f2;
	int (* (*f3)(void))[5];
	strs_t s;
	matrix_t m;
	vlist_t v;
	struct {
		struct {
			int deep;
		} inner;
	} outer;
	anon_ptr_t ap;
	anon_enum_t ae;
	anon_union_t au;
};

struct empty_inline {
	struct {} e;
	int x;
};

struct pk_bits {
	char c;
	unsigned int x: 20;
	unsigned int y: 12;
} __attribute__((packed));

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
