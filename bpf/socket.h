/* SPDX-License-Identifier: GPL-2.0-only */
/* The socket behind a TLS connection, learned from the syscalls a TLS call
 * makes. Included once, by tls_capture.bpf.c. */
#ifndef PLAINSIGHT_SOCKET_H
#define PLAINSIGHT_SOCKET_H

/* Returns the socket of descriptor fd in the current task, or NULL when fd is
 * not open or not a socket. Walks files->fdt->fd as laid out in kernels 5.x
 * to 6.18 (CO-RE relocates the field offsets). */
static __always_inline struct sock *socket_of_fd(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *table = BPF_CORE_READ(task, files, fdt);
	struct file **files;
	struct file *file = NULL;
	struct socket *socket;
	umode_t mode;

	if (fd < 0 || !table || (unsigned int)fd >= BPF_CORE_READ(table, max_fds))
		return NULL;
	files = BPF_CORE_READ(table, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &files[fd]) || !file)
		return NULL;

	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	socket = BPF_CORE_READ(file, private_data);
	return socket ? BPF_CORE_READ(socket, sk) : NULL;
}

static __always_inline void read_socket_addresses(struct ps_socket_record *record, struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	record->family = family;
	record->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	record->peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* BPF_CORE_READ_INTO would copy sizeof(element) == 1 byte into an array,
	 * so the sizes are given. */
	if (family == AF_INET) {
		bpf_core_read(record->local_address, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(record->peer_address, 4, &sk->__sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		bpf_core_read(record->local_address, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(record->peer_address, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* A read or write syscall made inside a TLS call names the TLS object's
 * descriptor. The first one, and any later change of descriptor, is sent to
 * the agent with the socket's addresses. */
static __always_inline int note_tls_syscall(int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_pending_call *call;
	struct ps_conn_state *conn;
	struct ps_socket_record *record;
	struct sock *sk;

	call = bpf_map_lookup_elem(&pending_calls, &pid_tgid);
	if (!call)
		return 0;
	conn = lookup_connection(pid_tgid >> 32, call->tls_object);
	if (!conn || conn->fd == fd)
		return 0;
	conn->fd = fd;

	record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
	if (!record) {
		count_loss(PS_LOSS_EVENTS_DROPPED, 1);
		return 0;
	}
	__builtin_memset(record, 0, sizeof(*record));
	fill_header(&record->header, PS_RECORD_SOCKET, sizeof(*record));
	record->pid = pid_tgid >> 32;
	record->tid = (__u32)pid_tgid;
	record->conn_id = conn->conn_id;
	record->fd = fd;
	record->library = call->library;

	sk = socket_of_fd(fd);
	if (sk)
		read_socket_addresses(record, sk);
	bpf_ringbuf_submit(record, wakeup_flags());
	return 0;
}

/* All syscalls below take the descriptor as their first argument. */
#define TLS_SYSCALL_PROBE(name)                                             \
	SEC("tracepoint/syscalls/sys_enter_" #name)                         \
	int name##_enter(struct trace_event_raw_sys_enter *ctx)             \
	{                                                                   \
		return note_tls_syscall((int)ctx->args[0]);                 \
	}

TLS_SYSCALL_PROBE(write)
TLS_SYSCALL_PROBE(writev)
TLS_SYSCALL_PROBE(read)
TLS_SYSCALL_PROBE(readv)
TLS_SYSCALL_PROBE(recvfrom)
TLS_SYSCALL_PROBE(recvmsg)

/* ---- QUIC, which no TLS hook reads ---- */

/*
 * HTTP/3 runs over QUIC, whose TLS handshake and encryption happen outside
 * the TLS libraries' record functions. A captured process that sends UDP to
 * port 443 is reported, at most once per QUIC_REPORT_INTERVAL_NS for each
 * process and peer, so that the capture is not taken for complete.
 */
#define IPPROTO_UDP 17
#define HTTPS_PORT 443
#define QUIC_REPORT_INTERVAL_NS (10ull * 1000000000ull)

struct quic_key {
	__u32 tgid;
	__u16 family;
	__u16 port;
	__u8 address[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct quic_key);
	__type(value, __u64); /* when the last report was sent, ns */
} quic_reports SEC(".maps");

/* Reads the destination of an unconnected send from the user's sockaddr
 * into the record. Returns false when there is none or it is unreadable. */
static __always_inline bool read_destination(struct ps_socket_record *record, const void *address)
{
	struct sockaddr_in6 destination = {};

	if (!address || bpf_probe_read_user(&destination, sizeof(destination), address))
		return false;
	record->family = destination.sin6_family;
	record->peer_port = bpf_ntohs(destination.sin6_port);
	if (record->family == AF_INET)
		__builtin_memcpy(record->peer_address, &((struct sockaddr_in *)&destination)->sin_addr, 4);
	else if (record->family == AF_INET6)
		__builtin_memcpy(record->peer_address, &destination.sin6_addr, 16);
	else
		return false;
	return true;
}

static __always_inline bool quic_report_due(const struct ps_socket_record *record)
{
	struct quic_key key = { .tgid = record->pid, .family = record->family, .port = record->peer_port };
	__u64 now = bpf_ktime_get_ns();
	__u64 *last;

	__builtin_memcpy(key.address, record->peer_address, sizeof(key.address));
	last = bpf_map_lookup_elem(&quic_reports, &key);
	if (last && now - *last < QUIC_REPORT_INTERVAL_NS)
		return false;
	bpf_map_update_elem(&quic_reports, &key, &now, BPF_ANY);
	return true;
}

/* Reports a UDP send to port 443 by a captured process. destination is the
 * user's sockaddr of an unconnected send, or NULL to use the socket's peer. */
static __always_inline void note_udp_send(int fd, const void *destination)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_socket_record candidate = {};
	struct ps_socket_record *record;
	struct sock *sk;

	if (!is_target(pid_tgid >> 32))
		return;
	sk = socket_of_fd(fd);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return;

	read_socket_addresses(&candidate, sk);
	if (!read_destination(&candidate, destination) && !candidate.peer_port)
		return;
	if (candidate.peer_port != HTTPS_PORT)
		return;
	candidate.pid = pid_tgid >> 32;
	candidate.tid = (__u32)pid_tgid;
	candidate.fd = fd;
	if (!quic_report_due(&candidate))
		return;

	record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
	if (!record) {
		count_loss(PS_LOSS_EVENTS_DROPPED, 1);
		return;
	}
	*record = candidate;
	fill_header(&record->header, PS_RECORD_QUIC, sizeof(*record));
	bpf_ringbuf_submit(record, wakeup_flags());
}

/* ssize_t sendto(int fd, const void *buf, size_t len, int flags,
 *                const struct sockaddr *dest_addr, socklen_t addrlen) */
SEC("tracepoint/syscalls/sys_enter_sendto")
int sendto_enter(struct trace_event_raw_sys_enter *ctx)
{
	note_tls_syscall((int)ctx->args[0]);
	note_udp_send((int)ctx->args[0], (const void *)ctx->args[4]);
	return 0;
}

/* ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) */
SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sendmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	const struct user_msghdr *message = (const void *)ctx->args[1];
	void *destination = NULL;

	note_tls_syscall((int)ctx->args[0]);
	bpf_probe_read_user(&destination, sizeof(destination), &message->msg_name);
	note_udp_send((int)ctx->args[0], destination);
	return 0;
}

/* int sendmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags):
 * Chromium sends QUIC this way. The first message's destination stands for
 * all of them. */
SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int sendmmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	const struct mmsghdr *messages = (const void *)ctx->args[1];
	void *destination = NULL;

	bpf_probe_read_user(&destination, sizeof(destination), &messages->msg_hdr.msg_name);
	note_udp_send((int)ctx->args[0], destination);
	return 0;
}

#endif
