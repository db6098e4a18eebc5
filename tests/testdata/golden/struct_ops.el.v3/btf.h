#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

typedef __u32 u32;

struct tcp_sock {
	u32 snd_cwnd;
	u32 snd_ssthresh;
	u32 prior_cwnd;
};

struct sock;

struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *);
	void (*cong_avoid)(struct sock *, __u32, __u32);
	void (*init)(struct sock *);
	__u32 (*undo_cwnd)(struct sock *);
	char name[16];
};

typedef __u32 __be32;

typedef unsigned short __u16;

typedef __u16 __be16;

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	unsigned char skc_reuse: 4;
	unsigned char skc_reuseport: 1;
};

struct sock {
	struct sock_common __sk_common;
	int sk_rcvbuf;
	int sk_sndbuf;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
