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
TLS_SYSCALL_PROBE(sendto)
TLS_SYSCALL_PROBE(sendmsg)
TLS_SYSCALL_PROBE(read)
TLS_SYSCALL_PROBE(readv)
TLS_SYSCALL_PROBE(recvfrom)
TLS_SYSCALL_PROBE(recvmsg)

#endif
