#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct task_struct {
	int pid;
	struct task_struct *next;
};

typedef int pid_t;

struct mod_ctx {
	struct task_struct *task;
	pid_t pid;
	int flags: 3;
	struct mod_ctx *next;
};

enum mod_kind {
	MOD_A = 0,
	MOD_B = -1,
};

typedef struct task_struct task_struct;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
