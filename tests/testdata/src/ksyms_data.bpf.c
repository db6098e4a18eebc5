// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * ksyms_data - .ksyms externs naming kernel data: typed per-CPU variables and an untyped
 * data symbol.
 *
 * A typed ksym must be a VAR in vmlinux BTF; the loader emits ld_imm64 with
 * BPF_PSEUDO_BTF_ID (src 3) and the kernel looks the address up in kallsyms. An untyped
 * one is resolved by the loader from /proc/kallsyms. Data symbols are only in kallsyms
 * with CONFIG_KALLSYMS_ALL, so on kernels without it this object fails to load (libbpf:
 * "extern 'init_task' (strong): not resolved"; for the typed ones, the verifier: "ldimm64
 * failed to find the address for kernel symbol"). The typed struct member access is also a
 * CO-RE relocation against the kernel's struct rq.
 */
#include "common.h"
#include "kernel.h"

struct rq {
	int cpu;
	unsigned int nr_running;
} __attribute__((preserve_access_index));

extern const int bpf_prog_active __ksym;
extern const struct rq runqueues __ksym;
extern const void init_task __ksym;

__u64 data_out[4];

SEC("syscall")
int read_percpu(void *ctx)
{
	const int *active;
	const struct rq *rq;

	active = bpf_this_cpu_ptr(&bpf_prog_active);
	data_out[0] = *active;
	rq = bpf_per_cpu_ptr(&runqueues, 0);
	if (rq) {
		data_out[1] = rq->cpu;
		data_out[2] = rq->nr_running;
	}
	return 0;
}

SEC("syscall")
int read_init_task(void *ctx)
{
	data_out[3] = (__u64)&init_task;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
