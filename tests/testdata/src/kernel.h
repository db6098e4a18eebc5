/* SPDX-License-Identifier: MIT */
/*
 * kernel.h - the few kernel-internal types the fixtures use, declared by hand.
 *
 * This plays the part of a vmlinux.h (hence __VMLINUX_H__, which tells bpf_tracing.h to use
 * the kernel's pt_regs member names). Every struct carries preserve_access_index, so each
 * access becomes a CO-RE relocation resolved against the running kernel's BTF at load time:
 * the layouts below are *local* guesses, the member names are what matter. Declaring them
 * here instead of generating vmlinux.h from /sys/kernel/btf/vmlinux keeps the committed
 * objects byte-for-byte reproducible on any machine.
 */
#ifndef PYBPF_KERNEL_H
#define PYBPF_KERNEL_H

#define __VMLINUX_H__

#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
typedef int pid_t;
typedef _Bool bool;
#define true 1
#define false 0

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/* x86-64, member names as the kernel spells them (arch/x86/include/asm/ptrace.h). */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

struct mm_struct {
	unsigned long start_code;
	unsigned long end_code;
	unsigned long start_stack;
};

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
	unsigned int in_execve : 1;
	unsigned int in_iowait : 1;
	unsigned int sched_reset_on_fork : 1;
	u64 start_time;
	char comm[16];
};

struct filename {
	const char *name;
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	unsigned char skc_reuse : 4;
	unsigned char skc_reuseport : 1;
};

struct sock {
	struct sock_common __sk_common;
	int sk_rcvbuf;
	int sk_sndbuf;
};

struct tcp_sock {
	u32 snd_cwnd;
	u32 snd_ssthresh;
	u32 prior_cwnd;
};

struct net_device {
	char name[16];
	int ifindex;
	unsigned int mtu;
};

struct sk_buff {
	unsigned int len;
	unsigned int data_len;
	__u16 mac_len;
	__u8 cloned : 1;
	__u8 pkt_type : 3;
	__u8 ip_summed : 2;
	__be16 protocol;
	__u32 mark;
	struct sock *sk;
	struct net_device *dev;
	unsigned char *head;
	unsigned char *data;
};

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	u64 session_id;
	u64 seq_num;
};

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	u32 __data_loc_filename;
	pid_t pid;
	pid_t old_pid;
};

struct trace_event_raw_sched_process_template {
	struct trace_entry ent;
	u32 __data_loc_comm;
	pid_t pid;
	int prio;
};

struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};

#pragma clang attribute pop

#endif /* PYBPF_KERNEL_H */
