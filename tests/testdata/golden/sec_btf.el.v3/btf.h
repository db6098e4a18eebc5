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

struct bpf_iter_meta;

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	u64 session_id;
	u64 seq_num;
};

struct bpf_map___iter;

struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map___iter *map;
};

typedef unsigned int __u32;

struct bpf_map___iter {
	__u32 id;
};

struct mm_struct {
	unsigned long start_code;
	unsigned long end_code;
	unsigned long start_stack;
};

struct syscall_args {
	__u64 in;
	__u64 out;
};

typedef int __s32;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
