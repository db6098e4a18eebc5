// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * sec_new - SEC() names that libbpf learnt after 1.1 (the version Debian 12's bpftool
 * carries): netfilter, tcx/{ingress,egress}, netkit/{primary,peer}, tc/{ingress,egress},
 * uprobe.multi (and its .s and uretprobe forms), cgroup/{connect,sendmsg,recvmsg,
 * getpeername,getsockname}_unix (libbpf 1.3), sk_skb/verdict (1.4), kprobe.session (1.5),
 * uprobe.session (1.6).
 *
 * libbpf 1.1 cannot tell these programs' types ("missing BPF prog type, check ELF section
 * name"), so bpftool 7.1 refuses the object; a current loader takes them all. Kernel
 * support varies: netfilter 6.4, tcx 6.6, netkit 6.7, kprobe.session 6.10,
 * uprobe.session 6.12.
 */
#include "common.h"
#include "kernel.h"
#include <bpf/bpf_tracing.h>

#define NF_ACCEPT 1

struct bpf_nf_ctx;

__u64 count;

SEC("netfilter")
int netfilter_prog(struct bpf_nf_ctx *ctx)
{
	count++;
	return NF_ACCEPT;
}

SEC("tcx/ingress")
int tcx_ingress(struct __sk_buff *skb)
{
	return -1; /* TCX_NEXT */
}

SEC("tcx/egress")
int tcx_egress(struct __sk_buff *skb)
{
	return 0; /* TCX_PASS */
}

SEC("netkit/primary")
int netkit_primary(struct __sk_buff *skb)
{
	return 0; /* NETKIT_PASS */
}

SEC("netkit/peer")
int netkit_peer(struct __sk_buff *skb)
{
	return 0;
}

SEC("tc/ingress")
int tc_ingress(struct __sk_buff *skb)
{
	return -1;
}

SEC("tc/egress")
int tc_egress(struct __sk_buff *skb)
{
	return -1;
}

SEC("uprobe.multi/libc.so.6:mem*")
int uprobe_multi(struct pt_regs *ctx)
{
	count++;
	return 0;
}

SEC("uretprobe.multi/libc.so.6:str*")
int uretprobe_multi(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe.multi.s/libc.so.6:free")
int uprobe_multi_sleepable(struct pt_regs *ctx)
{
	return 0;
}

SEC("cgroup/connect_unix")
int connect_unix(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg_unix")
int sendmsg_unix(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/recvmsg_unix")
int recvmsg_unix(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/getpeername_unix")
int getpeername_unix(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/getsockname_unix")
int getsockname_unix(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("sk_skb/verdict")
int sk_skb_verdict(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("kprobe.session/do_unlinkat")
int kprobe_session(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe.session/libc.so.6:malloc")
int uprobe_session(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
