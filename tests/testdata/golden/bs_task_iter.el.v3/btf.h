#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

typedef int pid_t;

typedef unsigned long long __u64;

struct task_info {
	pid_t pid;
	pid_t tid;
	__u32 state;
	char comm[16];
	int kstack_len;
	__u64 kstack[127];
};

struct bpf_iter_meta;

struct task_struct;

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct seq_file;

typedef __u64 u64;

struct bpf_iter_meta {
	struct seq_file *seq;
	u64 session_id;
	u64 seq_num;
};

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

struct task_struct___pre514 {
	long state;
};

struct task_struct___post514 {
	unsigned int __state;
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
