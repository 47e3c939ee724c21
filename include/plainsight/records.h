/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Records that cross the ring buffer from the BPF programs to the agent, the
 * keys and values of the maps that the agent reads or fills, and the limits
 * both sides agree on.
 *
 * This header is compiled by clang -target bpf against vmlinux.h and by the
 * agent against libc, so it uses only the fixed-width types that both define
 * (__u8 .. __u64) and needs neither libc nor libbpf. Padding is written out,
 * and every layout the two sides share is checked with _Static_assert.
 */
#ifndef PLAINSIGHT_RECORDS_H
#define PLAINSIGHT_RECORDS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Plaintext bytes carried by one data record. A call that moves more bytes is
 * split into several records with consecutive stream offsets. */
#define PS_DATA_CHUNK_BYTES 16384

/* Default and largest number of bytes copied from one TLS call. Bytes past the
 * limit are counted as lost, never cut silently. */
#define PS_CALL_LIMIT_DEFAULT_BYTES (4u << 20)
#define PS_CALL_LIMIT_MAX_BYTES (64u << 20)

#define PS_EXE_NAME_BYTES 64
#define PS_PATH_BYTES 256
#define PS_COMM_BYTES 16

enum ps_record_type {
	PS_RECORD_DATA = 1,    /* plaintext of one TLS call, or a part of it */
	PS_RECORD_SOCKET = 2,  /* the socket behind a connection became known */
	PS_RECORD_CLOSE = 3,   /* the TLS object was freed */
	PS_RECORD_EXEC = 4,    /* a targeted process started a new executable */
	PS_RECORD_EXIT = 5,    /* a targeted process ended */
	PS_RECORD_LIBRARY = 6, /* a targeted process opened a TLS library file */
	PS_RECORD_QUIC = 7,    /* a targeted process sent UDP to port 443 */
};

enum ps_direction {
	PS_DIRECTION_EGRESS = 0,  /* written by the process: requests of a client */
	PS_DIRECTION_INGRESS = 1, /* read by the process: responses of a server */
};

enum ps_tls_library {
	PS_TLS_OPENSSL = 1,
	PS_TLS_NSS = 2,
	PS_TLS_GNUTLS = 3,
	PS_TLS_BORINGSSL = 4,
};

/* Flags of a data record. */
#define PS_DATA_FLAG_CALL_END (1u << 0) /* last record of its call */

/* Reasons why a process is captured, bits of the target_pids map value. */
#define PS_TARGET_BY_EXE (1u << 0)
#define PS_TARGET_BY_PID (1u << 1)

/* Start of every record: its type, its whole size in bytes, and the time of
 * the observation in nanoseconds of CLOCK_MONOTONIC (bpf_ktime_get_ns). */
struct ps_record_header {
	__u32 type;
	__u32 size;
	__u64 timestamp_ns;
};

/* Identity of a connection inside the kernel side: a TLS object's address is
 * unique only within one process. */
struct ps_conn_key {
	__u32 tgid;
	__u32 pad;
	__u64 tls_object;
};

struct ps_data_record {
	struct ps_record_header header;
	__u32 pid;
	__u32 tid;
	__u64 conn_id;
	/* Byte offset of data[0] within its direction's stream. A jump means that
	 * bytes in between were lost, and the agent counts them. */
	__u64 stream_offset;
	__u32 data_bytes;
	__u32 flags;
	__u8 direction;
	__u8 library;
	__u8 pad[2];
	/* Set on the last record of a call: bytes of the call after this
	 * record that were not copied (past the per-call limit, unreadable, or
	 * dropped), so that the agent learns of the gap at once. */
	__u32 lost_after_bytes;
	char comm[PS_COMM_BYTES];
	__u8 data[PS_DATA_CHUNK_BYTES];
};

/* Socket of a connection (PS_RECORD_SOCKET), or the UDP socket and peer of
 * a QUIC send (PS_RECORD_QUIC, conn_id 0). */
struct ps_socket_record {
	struct ps_record_header header;
	__u32 pid;
	__u32 tid;
	__u64 conn_id;
	__s32 fd;
	__u16 family; /* AF_INET, AF_INET6, or 0 when the descriptor is no socket */
	__u16 local_port;
	__u16 peer_port;
	__u8 library;
	__u8 pad[3];
	__u8 local_address[16]; /* network byte order; IPv4 in the first 4 bytes */
	__u8 peer_address[16];
};

struct ps_close_record {
	struct ps_record_header header;
	__u32 pid;
	__u32 pad;
	__u64 conn_id;
	/* Stream length in each direction when the connection closed, so that
	 * bytes lost after the last delivered record are counted too. */
	__u64 egress_bytes;
	__u64 ingress_bytes;
};

struct ps_process_record {
	struct ps_record_header header;
	__u32 pid;
	__u32 pad;
	char path[PS_PATH_BYTES]; /* executable or library path; empty on exit */
};

/* Per-connection state kept by the BPF side. */
struct ps_conn_state {
	__u64 conn_id;
	__u64 egress_bytes;
	__u64 ingress_bytes;
	__s32 fd;
	__u32 pad;
};

/* A TLS call in progress on one thread, saved at entry for the return probe. */
struct ps_pending_call {
	__u64 tls_object;
	__u64 buffer;
	__u64 length_out; /* size_t * of the _ex functions, 0 otherwise */
	__u32 depth;      /* nested calls of the same thread, see the probes */
	__u8 direction;
	__u8 library;
	__u8 pad[2];
};

/* Counters of data that could not be delivered, one set per CPU. */
enum ps_loss_counter {
	PS_LOSS_RECORDS_DROPPED = 0, /* ring buffer full: records not written */
	PS_LOSS_BYTES_DROPPED,       /* plaintext bytes inside those records */
	PS_LOSS_BYTES_OVER_LIMIT,    /* bytes past the per-call limit */
	PS_LOSS_BYTES_UNREADABLE,    /* user memory that could not be read */
	PS_LOSS_CALLS_UNTRACKED,     /* pending-call table full: call not seen */
	PS_LOSS_EVENTS_DROPPED,      /* socket, close, exec and exit records */
	PS_LOSS_COUNTER_COUNT,
};

_Static_assert(sizeof(struct ps_record_header) == 16, "header layout");
_Static_assert(sizeof(struct ps_conn_key) == 16, "conn key layout");
_Static_assert(__builtin_offsetof(struct ps_data_record, data) == 72, "data record layout");
_Static_assert(sizeof(struct ps_socket_record) == 80, "socket record layout");
_Static_assert(sizeof(struct ps_close_record) == 48, "close record layout");
_Static_assert(sizeof(struct ps_process_record) == 280, "process record layout");
_Static_assert(sizeof(struct ps_pending_call) == 32, "pending call layout");

#endif
