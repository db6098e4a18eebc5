#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned long long __u64;

struct kconfig_values {
	__u64 kernel_version;
	__u64 hz;
	__u64 has_wrapper;
	__u64 bpf_syscall;
	__u64 bpf_lsm;
	__u64 unknown_int;
	__u64 unknown_bool;
	char hostname[16];
};

enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
