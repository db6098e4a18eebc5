#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

typedef unsigned char __u8;

typedef unsigned short __u16;

typedef unsigned long long __u64;

struct config {
	__u32 port;
	__u8 verbose;
	__u8 mode;
	__u16 flags;
	__u64 limits[3];
};

struct stats {
	__u64 packets;
	__u64 bytes;
	__u32 by_proto[4];
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
