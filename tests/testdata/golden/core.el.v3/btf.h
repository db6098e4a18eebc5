#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef int pid_t;

typedef unsigned long long __u64;

typedef __u64 u64;

struct mm_struct;

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	int prio;
	int static_prio;
	struct mm_struct *mm;
	int exit_code;
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	unsigned int in_execve: 1;
	unsigned int in_iowait: 1;
	unsigned int sched_reset_on_fork: 1;
	u64 start_time;
	char comm[16];
};

struct mm_struct {
	unsigned long start_code;
	unsigned long end_code;
	unsigned long start_stack;
};

struct task_struct___old {
	long state;
};

struct task_struct___new {
	unsigned int __state;
};

struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

typedef unsigned short __u16;

typedef unsigned char __u8;

typedef __u16 __be16;

typedef unsigned int __u32;

struct sock;

struct net_device;

struct sk_buff {
	unsigned int len;
	unsigned int data_len;
	__u16 mac_len;
	__u8 cloned: 1;
	__u8 pkt_type: 3;
	__u8 ip_summed: 2;
	__be16 protocol;
	__u32 mark;
	struct sock *sk;
	struct net_device *dev;
	unsigned char *head;
	unsigned char *data;
};

struct net_device {
	char name[16];
	int ifindex;
	unsigned int mtu;
};

typedef struct task_struct task_t;

struct pybpf_no_such_type {
	int x;
};

typedef __u32 __be32;

struct sock_common___match {
	unsigned short skc_family;
	__be32 skc_daddr;
};

struct sock_common___nomatch {
	void *skc_family;
};

enum pid_type___pybpf {
	PIDTYPE_PID___pybpf = 100,
	PIDTYPE_TGID___pybpf = 101,
	PIDTYPE_SID___pybpf = 103,
	PIDTYPE_PYBPF_MISSING___pybpf = 104,
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
