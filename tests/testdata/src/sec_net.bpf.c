// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * sec_net - networking program types, one program per libbpf SEC() name.
 *
 * Each SEC() name picks the program type and expected attach type the way libbpf's table
 * does (exact names, or "prefix/anything" for the "+" entries). Several programs share the
 * static subprogram count_packet (bpf-to-bpf calls into .text), so linking each program
 * with its subprograms is exercised too. Every program here loads on Linux >= 6.1.
 */
#include "common.h"

__u64 seen[8];

static __noinline int count_packet(__u32 kind, __u32 len)
{
	seen[kind & 7] += len;
	return len > 64;
}

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
	return count_packet(0, ctx->data_end - ctx->data) ? XDP_PASS : XDP_DROP;
}

SEC("xdp.frags")
int xdp_frags_prog(struct xdp_md *ctx)
{
	return count_packet(0, bpf_xdp_get_buff_len(ctx)) ? XDP_PASS : XDP_DROP;
}

SEC("xdp/devmap")
int xdp_devmap_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/cpumap")
int xdp_cpumap_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_prog(struct __sk_buff *skb)
{
	count_packet(1, skb->len);
	return 0; /* TC_ACT_OK */
}

SEC("classifier")
int classifier_prog(struct __sk_buff *skb)
{
	return count_packet(1, skb->len) ? 0 : 2; /* TC_ACT_OK : TC_ACT_SHOT */
}

SEC("action")
int action_prog(struct __sk_buff *skb)
{
	return 0;
}

SEC("socket")
int socket_prog(struct __sk_buff *skb)
{
	count_packet(2, skb->len);
	return skb->len;
}

SEC("cgroup_skb/ingress")
int cgroup_skb_ingress(struct __sk_buff *skb)
{
	count_packet(3, skb->len);
	return 1;
}

SEC("cgroup_skb/egress")
int cgroup_skb_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/skb")
int cgroup_skb_any(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	return sk->type != 3; /* refuse SOCK_RAW */
}

SEC("cgroup/sock_release")
int sock_release(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/post_bind4")
int post_bind4(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port == bpf_htons(9))
		return 0;
	return 1;
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/recvmsg4")
int recvmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/getpeername4")
int getpeername4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/getsockname4")
int getsockname4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sysctl")
int sysctl_prog(struct bpf_sysctl *ctx)
{
	return ctx->write ? 0 : 1;
}

SEC("cgroup/getsockopt")
int getsockopt_prog(struct bpf_sockopt *ctx)
{
	return 1;
}

SEC("cgroup/setsockopt")
int setsockopt_prog(struct bpf_sockopt *ctx)
{
	return 1;
}

SEC("cgroup/dev")
int dev_prog(struct bpf_cgroup_dev_ctx *ctx)
{
	return ctx->major != 1;
}

SEC("sockops")
int sockops_prog(struct bpf_sock_ops *ops)
{
	if (ops->op == BPF_SOCK_OPS_TCP_CONNECT_CB)
		count_packet(4, 1);
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

SEC("sk_skb/stream_parser")
int stream_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int stream_verdict(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &socks, 0, 0);
}

SEC("sk_skb")
int sk_skb_any(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_msg")
int sk_msg_prog(struct sk_msg_md *msg)
{
	return bpf_msg_redirect_map(msg, &socks, 1, 0);
}

SEC("sk_lookup")
int sk_lookup_prog(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}

SEC("sk_reuseport")
int sk_reuseport_prog(struct sk_reuseport_md *md)
{
	return SK_PASS;
}

SEC("sk_reuseport/migrate")
int sk_reuseport_migrate(struct sk_reuseport_md *md)
{
	return SK_PASS;
}

SEC("flow_dissector")
int flow_dissector_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_in")
int lwt_in_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_out")
int lwt_out_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_xmit")
int lwt_xmit_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_seg6local")
int lwt_seg6local_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";
