// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture of TLS plaintext at the TLS libraries' APIs, before encryption and
 * after decryption: OpenSSL, NSS/NSPR (Firefox) and GnuTLS.
 *
 * The entry probes save a call's arguments, keyed by thread. The return
 * probes then copy exactly the bytes that the call returns as transferred.
 * Copying at return is what makes non-blocking retries (SSL_ERROR_WANT_WRITE,
 * PR_WOULD_BLOCK_ERROR, GNUTLS_E_AGAIN) and short reads come out right.
 *
 * Syscall tracepoints made on the same thread during a TLS call tell which
 * socket the TLS object uses; sched tracepoints keep the set of captured
 * processes up to date. This kernel build has no kprobes, so nothing here
 * needs them.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "plainsight/records.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

char LICENSE[] SEC("license") = "GPL";

#include "capture_core.h"
#include "socket.h"
#include "process.h"

/* libbpf 1.1 has no BPF_UPROBE macros yet; the kprobe ones read the same
 * argument registers. */

/* ---- OpenSSL 1.1 and 3.x ---- */

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buffer, int length)
{
	return enter_tls_call(ssl, buffer, 0, PS_DIRECTION_EGRESS, PS_TLS_OPENSSL);
}

/* int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buffer, __u64 length, __u64 *written)
{
	return enter_tls_call(ssl, buffer, (__u64)written, PS_DIRECTION_EGRESS, PS_TLS_OPENSSL);
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buffer, int length)
{
	return enter_tls_call(ssl, buffer, 0, PS_DIRECTION_INGRESS, PS_TLS_OPENSSL);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buffer, __u64 length, __u64 *read_bytes)
{
	return enter_tls_call(ssl, buffer, (__u64)read_bytes, PS_DIRECTION_INGRESS, PS_TLS_OPENSSL);
}

/* The return probe of every function that returns an int count: the saved
 * call records which function it was. */
SEC("uretprobe")
int BPF_KRETPROBE(tls_call_exit, long result)
{
	return exit_tls_call((int)result);
}

/* void SSL_free(SSL *ssl): the connection ends with its TLS object. */
SEC("uprobe")
int BPF_KPROBE(ssl_free_enter, void *ssl)
{
	return close_tls_object((__u64)ssl);
}

/* ---- NSS and NSPR (Firefox) ---- */

/*
 * Firefox reads and writes TLS plaintext with NSPR's PR_Write/PR_Read (and
 * PR_Send/PR_Recv) on a PRFileDesc whose layer stack contains NSS's SSL
 * layer. It writes its profile files through the same PR_Write, so only
 * descriptors known to carry TLS are captured:
 *  - SSL_ImportFD(model, fd) in NSS's libssl3 pushes the SSL layer onto fd
 *    and returns it. PR_PushIOLayer keeps the caller's pointer at the top of
 *    the stack, so that pointer is what PR_Write later gets.
 *  - A descriptor opened before the capture started is accepted when its
 *    stack is layered (PRFileDesc.lower is set): files and pipes that NSPR
 *    opens have a single layer. Such a socket could carry plain HTTP behind
 *    a proxy layer, which is network traffic all the same.
 *  - PR_Close removes the descriptor, whose address may be reused.
 * Checked on Debian 12's NSPR 4.35 with NSS 3.87 and with NSS 3.125.1, the
 * copy that Firefox ESR 153 bundles. struct PRFileDesc starts with methods,
 * secret, lower, higher, so lower is at byte 16.
 */
#define PRFILEDESC_LOWER_OFFSET 16

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ps_conn_key);
	__type(value, __u8);
} nspr_tls_descriptors SEC(".maps");

static __always_inline bool nspr_carries_tls(__u32 tgid, const void *descriptor)
{
	struct ps_conn_key key = { .tgid = tgid, .tls_object = (__u64)descriptor };
	__u64 lower = 0;
	__u8 present = 1;

	if (bpf_map_lookup_elem(&nspr_tls_descriptors, &key))
		return true;
	if (bpf_probe_read_user(&lower, sizeof(lower), descriptor + PRFILEDESC_LOWER_OFFSET) || !lower)
		return false;
	bpf_map_update_elem(&nspr_tls_descriptors, &key, &present, BPF_ANY);
	return true;
}

static __always_inline int enter_nspr_call(const void *descriptor, const void *buffer, __u8 direction)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!is_target(tgid) || !nspr_carries_tls(tgid, descriptor))
		return 0;
	return enter_tls_call((void *)descriptor, buffer, 0, direction, PS_TLS_NSS);
}

/* PRInt32 PR_Write(PRFileDesc *fd, const void *buf, PRInt32 amount), and
 * PR_Send(fd, buf, amount, flags, timeout) with the same first three. */
SEC("uprobe")
int BPF_KPROBE(nspr_write_enter, const void *descriptor, const void *buffer)
{
	return enter_nspr_call(descriptor, buffer, PS_DIRECTION_EGRESS);
}

/* PRInt32 PR_Read(PRFileDesc *fd, void *buf, PRInt32 amount) */
SEC("uprobe")
int BPF_KPROBE(nspr_read_enter, const void *descriptor, void *buffer)
{
	return enter_nspr_call(descriptor, buffer, PS_DIRECTION_INGRESS);
}

/* PR_MSG_PEEK in NSPR 4.35's prio.h. */
#define NSPR_MSG_PEEK 0x2

/* PRInt32 PR_Recv(PRFileDesc *fd, void *buf, PRInt32 amount, PRIntn flags,
 * PRIntervalTime timeout)
 * Firefox ESR 153 peeks at 1 byte with PR_Recv and PR_MSG_PEEK to check that
 * a TLS connection is still alive (seen up to 11 times on one HTTP/2
 * connection of a page that talks to 4 host names). The peeked byte stays in
 * NSS's buffer and the next PR_Read returns it again, so a captured peek
 * would put the byte twice into the stream. */
SEC("uprobe")
int BPF_KPROBE(nspr_recv_enter, const void *descriptor, void *buffer, int amount, int flags)
{
	if (flags & NSPR_MSG_PEEK)
		return skip_nested_call();
	return enter_nspr_call(descriptor, buffer, PS_DIRECTION_INGRESS);
}

/* PRFileDesc *SSL_ImportFD(PRFileDesc *model, PRFileDesc *fd) */
SEC("uretprobe")
int BPF_KRETPROBE(nss_import_fd_exit, void *descriptor)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ps_conn_key key = { .tgid = tgid, .tls_object = (__u64)descriptor };
	__u8 present = 1;

	if (!descriptor || !is_target(tgid))
		return 0;
	bpf_map_update_elem(&nspr_tls_descriptors, &key, &present, BPF_ANY);
	return 0;
}

/* PRStatus PR_Close(PRFileDesc *fd) */
SEC("uprobe")
int BPF_KPROBE(nspr_close_enter, void *descriptor)
{
	struct ps_conn_key key = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.tls_object = (__u64)descriptor,
	};

	if (bpf_map_delete_elem(&nspr_tls_descriptors, &key))
		return 0;
	return close_tls_object((__u64)descriptor);
}

/* ---- GnuTLS ---- */

/* ssize_t gnutls_record_send(gnutls_session_t session, const void *data,
 * size_t data_size), and gnutls_record_send2 with the same first three. */
SEC("uprobe")
int BPF_KPROBE(gnutls_send_enter, void *session, const void *buffer)
{
	return enter_tls_call(session, buffer, 0, PS_DIRECTION_EGRESS, PS_TLS_GNUTLS);
}

/* ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t data_size) */
SEC("uprobe")
int BPF_KPROBE(gnutls_recv_enter, void *session, void *buffer)
{
	return enter_tls_call(session, buffer, 0, PS_DIRECTION_INGRESS, PS_TLS_GNUTLS);
}

/* The GnuTLS functions return ssize_t: the whole register is the count. */
SEC("uretprobe")
int BPF_KRETPROBE(tls_call_exit_long, long result)
{
	return exit_tls_call(result);
}

/* void gnutls_deinit(gnutls_session_t session) */
SEC("uprobe")
int BPF_KPROBE(gnutls_deinit_enter, void *session)
{
	return close_tls_object((__u64)session);
}

/* ---- BoringSSL linked into Chromium, Chrome and Electron ---- */

/* BoringSSL keeps OpenSSL's signatures for these two:
 * int SSL_write(SSL *ssl, const void *buf, int num) and
 * int SSL_read(SSL *ssl, void *buf, int num). The agent attaches them at
 * file offsets that it finds in the stripped binary; SSL_free reuses
 * ssl_free_enter and the returns reuse tls_call_exit. */
SEC("uprobe")
int BPF_KPROBE(boringssl_write_enter, void *ssl, const void *buffer, int length)
{
	return enter_tls_call(ssl, buffer, 0, PS_DIRECTION_EGRESS, PS_TLS_BORINGSSL);
}

SEC("uprobe")
int BPF_KPROBE(boringssl_read_enter, void *ssl, void *buffer, int length)
{
	return enter_tls_call(ssl, buffer, 0, PS_DIRECTION_INGRESS, PS_TLS_BORINGSSL);
}
