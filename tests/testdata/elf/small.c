// A small eBPF object for the ELF reader's golden tests: programs in two sections, a
// subprogram call, BTF-defined maps, .data/.rodata/.bss globals and CO-RE field accesses.
// Rebuild with tests/testdata/elf/build.sh (clang-19, both byte orders).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task {
	int pid;
	int tgid;
	char comm[16];
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} config SEC(".maps");

int hits = 1;
const volatile int limit = 42;
long total;

static __attribute__((noinline)) int bump(__u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	return key < limit;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int on_exec(void *ctx)
{
	struct task *t = (void *)bpf_get_current_task();
	int pid = BPF_CORE_READ(t, pid);
	hits++;
	total += pid;
	return bump(pid);
}

SEC("xdp")
int on_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0, *v = bpf_map_lookup_elem(&config, &zero);
	return v && *v ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
