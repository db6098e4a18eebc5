// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * struct_ops - a minimal TCP congestion control implemented as BPF struct_ops.
 *
 * The map in the ".struct_ops" section is a struct tcp_congestion_ops whose function
 * pointer members point at the struct_ops/ programs (relocations in .rel.struct_ops); the
 * loader finds "bpf_struct_ops_tcp_congestion_ops" in vmlinux BTF, loads each program with
 * attach_btf_id = that struct and expected_attach_type = the member index, and creates a
 * BPF_MAP_TYPE_STRUCT_OPS map whose value is the kernel's layout of the struct. Registering
 * it (map update) happens only at attach time.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	void (*init)(struct sock *sk);
	__u32 (*undo_cwnd)(struct sock *sk);
	char name[16];
} __attribute__((preserve_access_index));

static __always_inline struct tcp_sock *tcp_sk(struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

SEC("struct_ops/pybpf_init")
void BPF_PROG(pybpf_init, struct sock *sk)
{
}

SEC("struct_ops/pybpf_ssthresh")
__u32 BPF_PROG(pybpf_ssthresh, struct sock *sk)
{
	__u32 cwnd = tcp_sk(sk)->snd_cwnd;

	return cwnd > 4 ? cwnd / 2 : 2;
}

SEC("struct_ops/pybpf_cong_avoid")
void BPF_PROG(pybpf_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops/pybpf_undo_cwnd")
__u32 BPF_PROG(pybpf_undo_cwnd, struct sock *sk)
{
	return tcp_sk(sk)->snd_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_cc = {
	.init = (void *)pybpf_init,
	.ssthresh = (void *)pybpf_ssthresh,
	.cong_avoid = (void *)pybpf_cong_avoid,
	.undo_cwnd = (void *)pybpf_undo_cwnd,
	.name = "pybpf_cc",
};

char LICENSE[] SEC("license") = "GPL";
