// SPDX-License-Identifier: MIT
// pybpf-variants: el.v3 eb.v3
/*
 * externs - .kconfig and .ksyms externs, resolved by the loader, never by the compiler.
 *
 * .kconfig: libbpf's virtual LINUX_KERNEL_VERSION and LINUX_HAS_SYSCALL_WRAPPER, a
 * tristate, a bool, an int and a string from the kernel config, and weak options the
 * config lacks (they read as zero). clang gives each a STT_NOTYPE/UND symbol and BTF VARs
 * in a ".kconfig" DATASEC; the loader builds a read-only map holding their values.
 * .ksyms: an untyped symbol (its address from /proc/kallsyms becomes a plain 64-bit
 * constant), weak typed and untyped ones no kernel has (zero), and kfuncs, strong and weak.
 * Typed variables and kernel data symbols are in ksyms_data.bpf.c: they need
 * CONFIG_KALLSYMS_ALL, which some kernels (this project's CI among them) lack.
 */
#include "common.h"
#include "kernel.h"

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int CONFIG_HZ __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_LSM __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;
extern int CONFIG_PYBPF_NOT_AN_OPTION __kconfig __weak;
extern _Bool CONFIG_PYBPF_NOT_A_BOOL __kconfig __weak;

extern const void vfs_read __ksym;
extern const int pybpf_no_such_var __ksym __weak;
extern const void pybpf_no_such_symbol __ksym __weak;

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern void pybpf_no_such_kfunc(int x) __ksym __weak;

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

struct kconfig_values kconfig_out;
__u64 ksym_out[6];

SEC("syscall")
int read_kconfig(void *ctx)
{
	kconfig_out.kernel_version = LINUX_KERNEL_VERSION;
	kconfig_out.hz = CONFIG_HZ;
	kconfig_out.has_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	kconfig_out.bpf_syscall = CONFIG_BPF_SYSCALL;
	kconfig_out.bpf_lsm = CONFIG_BPF_LSM;
	kconfig_out.unknown_int = CONFIG_PYBPF_NOT_AN_OPTION;
	kconfig_out.unknown_bool = CONFIG_PYBPF_NOT_A_BOOL;
	__builtin_memcpy(kconfig_out.hostname, CONFIG_DEFAULT_HOSTNAME, 16);
	return CONFIG_HZ == 0;
}

SEC("syscall")
int read_ksyms(void *ctx)
{
	ksym_out[0] = (__u64)&vfs_read;
	ksym_out[3] = (__u64)&pybpf_no_such_symbol;
	ksym_out[4] = (__u64)&pybpf_no_such_var;
	bpf_rcu_read_lock();
	ksym_out[5] = bpf_ksym_exists(pybpf_no_such_kfunc);
	if (bpf_ksym_exists(pybpf_no_such_kfunc))
		pybpf_no_such_kfunc(1);
	bpf_rcu_read_unlock();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
