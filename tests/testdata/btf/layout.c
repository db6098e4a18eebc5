/* Struct layouts that exercise the C formatter's padding, packing and declaration rules. */
struct __attribute__((packed)) pk { char c; int i; short s; };
struct __attribute__((packed)) pk2 { int a; char b; };
struct __attribute__((packed)) pk_bits { char c; unsigned int x : 20; unsigned int y : 12; };
struct __attribute__((aligned(16))) al16 { int x; };
struct __attribute__((aligned(8))) al8 { char c; };

struct empty_inline { struct {} e; int x; };
struct embeds_packed { char c; struct pk p; int z; };
struct packed_then_char { struct pk2 x; char y; };
struct __attribute__((packed)) packed_aligned_member { char a; long b __attribute__((aligned(4))); };
struct zero_width { int a : 4; int : 0; char c; long long l : 3; };
struct aligned_member { char a; short b __attribute__((aligned(8))); char c; };
struct tail_pad { long l; char c; };
struct big_gap { char c; int __attribute__((aligned(64))) far; };
struct bitfield_run { unsigned char a : 1; unsigned char : 6; unsigned char b : 1;
	unsigned short c : 9; unsigned long long d : 50; unsigned long long e : 14; };
union un { char c; struct al16 a; long long l : 40; };
struct holder { struct al16 a; struct al8 b[3]; union un u; char tail; };

struct list { struct list *next, *prev; };
struct b_type;
struct a_type { struct b_type *b; struct list l; };
struct b_type { struct a_type a; int (*cmp)(const struct a_type *, const struct b_type *); };

typedef struct { int x; } anon_typedef_t;
typedef union { int i; float f; } anon_union_t;
typedef enum { ANON_A = 1, ANON_B } anon_enum_t;
enum { TOP_LEVEL_ANON = 42 };
typedef anon_typedef_t *anon_ptr_t;

typedef void (*(*fn_returning_fn)(int))(long);
typedef int (*array_of_fns[4])(char);
typedef const char *const *const strs_t;
typedef int matrix_t[2][3][4];
typedef volatile struct list *vlist_t;

struct fns {
	fn_returning_fn f1;
	array_of_fns f2;
	int (*(*f3)(void))[5];
	strs_t s;
	matrix_t m;
	vlist_t v;
	struct { struct { int deep; } inner; } outer;
	anon_ptr_t ap;
	anon_enum_t ae;
	anon_union_t au;
};

struct embeds_packed g1; struct packed_then_char g2; struct packed_aligned_member g3;
struct zero_width g4; struct aligned_member g5; struct tail_pad g6; struct big_gap g7;
struct bitfield_run g8; struct holder g9; struct b_type g10; struct fns g11;
struct empty_inline g12; struct pk_bits g13; int g14 = TOP_LEVEL_ANON;
