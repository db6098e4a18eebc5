// SPDX-License-Identifier: MIT
// pybpf-variants: el.v4 eb.v4
/*
 * isa_arena - a BPF arena (BPF_MAP_TYPE_ARENA, Linux 6.9) and pointers into it: clang turns
 * casts between the arena's address space (address_space(1)) and the kernel's into
 * addr_space_cast (ALU64|MOV|X with off 1, imm = dst_as << 16 | src_as).
 *
 * Loaders older than libbpf 1.4 do not know arenas (bpftool 7.1 refuses the object).
 */
#include "common.h"

#define __arena __attribute__((address_space(1)))
#define PYBPF_MAP_TYPE_ARENA 33

struct {
	__uint(type, PYBPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4); /* pages */
} arena SEC(".maps");

struct counter {
	__u64 hits;
	struct counter __arena *next;
};

/* a kernel-side pointer to arena memory, kept in .bss */
struct counter __arena *head;
struct counter *generic;
__u64 arena_out;

SEC("syscall")
int walk(void *ctx)
{
	struct counter __arena *c = head;
	struct counter *g;
	__u64 total = 0;
	int i;

	for (i = 0; i < 4 && c; i++) {
		c->hits++;
		total += c->hits;
		c = c->next;
	}
	arena_out = total;
	/* both directions: arena -> generic (as 1 to 0) and generic -> arena (0 to 1) */
	g = generic;
	generic = (struct counter *)head;
	head = (struct counter __arena *)g;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
