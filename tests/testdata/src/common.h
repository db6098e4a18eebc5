/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every fixture includes: the uapi definitions (map and program types,
 * context structs) and libbpf's BPF-side headers (SEC, __uint/__type, helpers, CO-RE macros).
 *
 * Each fixture states the objects it is built into on a line of its own:
 *     // pybpf-variants: el.v1 el.v3 eb.v3
 * (byte order: el = -target bpfel, eb = -target bpfeb; cpu: -mcpu=v1..v4). tests/testdata/Makefile
 * and tests/test_fixtures.py both read that line.
 */
#ifndef PYBPF_COMMON_H
#define PYBPF_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* bpf_helpers.h of libbpf 1.1 predates these; same meaning as in later libbpf. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) (!!(sym))
#endif

/* The CPU level clang compiles for (-mcpu=vN); the v4-only code is guarded with it. */
#ifndef __BPF_CPU_VERSION__
#define __BPF_CPU_VERSION__ 0
#endif

#endif /* PYBPF_COMMON_H */
