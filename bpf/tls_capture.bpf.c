// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture of TLS plaintext at the TLS library's API, before encryption and
 * after decryption.
 *
 * Uprobes on OpenSSL's SSL_write/SSL_read (and their _ex variants) save the
 * call's arguments at entry, keyed by thread. The return probes then copy
 * exactly the bytes that the call returns as transferred. Copying at return is what makes
 * non-blocking retries (SSL_ERROR_WANT_WRITE) and short reads come out right.
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

/* Set by the agent between open and load. */
const volatile __u32 agent_tgid = 0;
const volatile bool capture_all_processes = false;
const volatile bool filter_by_cgroup = false;
const volatile __u32 call_limit_bytes = PS_CALL_LIMIT_DEFAULT_BYTES;

__u64 next_conn_id = 1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* resized by the agent before load */
} events SEC(".maps");

/* Processes whose TLS calls are captured: tgid -> PS_TARGET_* bits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} target_pids SEC(".maps");

/* Executable base names that make a process a target, NUL-padded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[PS_EXE_NAME_BYTES]);
	__type(value, __u8);
} target_exes SEC(".maps");

/* Cgroup (v2) whose processes, and those of its descendants, are targets. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid of the calling thread */
	__type(value, struct ps_pending_call);
} pending_calls SEC(".maps");

/* The least recently used connection is evicted when the table is full. The
 * agent counts evictions as connections created (next_conn_id) minus those
 * freed, ended with their process, or still in the table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ps_conn_key);
	__type(value, struct ps_conn_state);
} connections SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_LOSS_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} loss_counters SEC(".maps");

/* Staging area for one data record; only the bytes written are output, so no
 * byte of an earlier record can reach a later one. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_data_record);
} data_scratch SEC(".maps");

static __always_inline void count_loss(__u32 counter, __u64 amount)
{
	__u64 *value = bpf_map_lookup_elem(&loss_counters, &counter);

	if (value)
		*value += amount;
}

/* Wake the agent only when the buffer is filling up; it polls on a short
 * timer otherwise. A wakeup per record costs more than the copy itself. */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	return pending > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline bool is_target(__u32 tgid)
{
	if (tgid == agent_tgid)
		return false;
	if (capture_all_processes)
		return true;
	if (bpf_map_lookup_elem(&target_pids, &tgid))
		return true;
	if (filter_by_cgroup && bpf_current_task_under_cgroup(&target_cgroup, 0) == 1)
		return true;
	return false;
}

static __always_inline void fill_header(struct ps_record_header *header, __u32 type, __u32 size)
{
	header->type = type;
	header->size = size;
	header->timestamp_ns = bpf_ktime_get_ns();
}

/* ---- TLS calls ---- */

static __always_inline int enter_tls_call(void *tls_object, const void *buffer, __u64 length_out,
					  __u8 direction)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_pending_call call = {};
	struct ps_pending_call *outer;

	if (!is_target(pid_tgid >> 32))
		return 0;

	/* A library may implement one API function through another exported
	 * one; only the outermost call on a thread is captured. A saved call
	 * for another TLS object is stale (its return probe never ran, as after
	 * a longjmp), and is replaced so that the thread is not lost for good. */
	outer = bpf_map_lookup_elem(&pending_calls, &pid_tgid);
	if (outer && outer->tls_object == (__u64)tls_object) {
		outer->depth++;
		return 0;
	}

	call.tls_object = (__u64)tls_object;
	call.buffer = (__u64)buffer;
	call.length_out = length_out;
	call.direction = direction;
	call.library = PS_TLS_OPENSSL;
	if (bpf_map_update_elem(&pending_calls, &pid_tgid, &call, BPF_ANY))
		count_loss(PS_LOSS_CALLS_UNTRACKED, 1);
	return 0;
}

static __always_inline struct ps_conn_state *lookup_connection(__u32 tgid, __u64 tls_object)
{
	struct ps_conn_key key = { .tgid = tgid, .tls_object = tls_object };
	struct ps_conn_state *state = bpf_map_lookup_elem(&connections, &key);
	struct ps_conn_state fresh = { .fd = -1 };

	if (state)
		return state;

	fresh.conn_id = __sync_fetch_and_add(&next_conn_id, 1);
	bpf_map_update_elem(&connections, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&connections, &key);
}

struct emit_context {
	struct ps_pending_call *call;
	struct ps_conn_state *conn;
	__u64 base_offset;
	__u32 pid;
	__u32 tid;
	__u32 copy_bytes;
};

/* Emits the index-th record of a call's buffer; a bpf_loop callback. */
static long emit_data_record(__u32 index, struct emit_context *ctx)
{
	__u32 zero = 0;
	__u64 offset = (__u64)index * PS_DATA_CHUNK_BYTES;
	__u64 length;
	struct ps_data_record *record;

	if (offset >= ctx->copy_bytes)
		return 1;
	length = ctx->copy_bytes - offset;
	/* The empty asm keeps clang from folding the clamp into arithmetic
	 * that the verifier cannot bound (clang 14, Linux 6.18). */
	asm volatile("" : "+r"(length));
	if (length > PS_DATA_CHUNK_BYTES)
		length = PS_DATA_CHUNK_BYTES;
	asm volatile("" : "+r"(length));
	if (length > PS_DATA_CHUNK_BYTES || length == 0)
		return 1;

	record = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!record)
		return 1;

	if (bpf_probe_read_user(record->data, length, (const void *)(ctx->call->buffer + offset))) {
		count_loss(PS_LOSS_BYTES_UNREADABLE, length);
		return 0;
	}

	fill_header(&record->header, PS_RECORD_DATA, offsetof(struct ps_data_record, data) + length);
	record->pid = ctx->pid;
	record->tid = ctx->tid;
	record->conn_id = ctx->conn->conn_id;
	record->stream_offset = ctx->base_offset + offset;
	record->data_bytes = length;
	record->flags = offset + length >= ctx->copy_bytes ? PS_DATA_FLAG_CALL_END : 0;
	record->direction = ctx->call->direction;
	record->library = ctx->call->library;
	__builtin_memset(record->pad, 0, sizeof(record->pad));
	bpf_get_current_comm(record->comm, sizeof(record->comm));

	if (bpf_ringbuf_output(&events, record, offsetof(struct ps_data_record, data) + length,
			       wakeup_flags())) {
		count_loss(PS_LOSS_RECORDS_DROPPED, 1);
		count_loss(PS_LOSS_BYTES_DROPPED, length);
	}
	return 0;
}

/* Reads the transferred length from the size_t * out-argument of an _ex call;
 * returns 0 when the call failed or the argument cannot be read. */
static __always_inline __u64 ex_call_length(const struct ps_pending_call *call, long result)
{
	__u64 length = 0;

	if (result != 1 || !call->length_out)
		return 0;
	if (bpf_probe_read_user(&length, sizeof(length), (const void *)call->length_out))
		return 0;
	return length;
}

static __always_inline int exit_tls_call(long result)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_pending_call *call;
	struct ps_conn_state *conn;
	struct emit_context ctx = {};
	__u64 length;
	__u64 *stream_bytes;

	call = bpf_map_lookup_elem(&pending_calls, &pid_tgid);
	if (!call)
		return 0;
	if (call->depth > 0) {
		call->depth--;
		return 0;
	}

	if (call->length_out)
		length = ex_call_length(call, result);
	else
		length = result > 0 ? (__u64)result : 0;
	if (length == 0)
		goto done;

	conn = lookup_connection(pid_tgid >> 32, call->tls_object);
	if (!conn)
		goto done;

	stream_bytes = call->direction == PS_DIRECTION_EGRESS ? &conn->egress_bytes : &conn->ingress_bytes;
	ctx.call = call;
	ctx.conn = conn;
	ctx.base_offset = *stream_bytes;
	ctx.pid = pid_tgid >> 32;
	ctx.tid = (__u32)pid_tgid;
	ctx.copy_bytes = length > call_limit_bytes ? call_limit_bytes : (__u32)length;
	if (length > ctx.copy_bytes)
		count_loss(PS_LOSS_BYTES_OVER_LIMIT, length - ctx.copy_bytes);

	bpf_loop((ctx.copy_bytes + PS_DATA_CHUNK_BYTES - 1) / PS_DATA_CHUNK_BYTES, emit_data_record, &ctx, 0);

	/* The stream offset advances by the whole call, also over bytes that
	 * were not delivered, so that the agent can count the gap. */
	*stream_bytes += length;

done:
	bpf_map_delete_elem(&pending_calls, &pid_tgid);
	return 0;
}

/* int SSL_write(SSL *ssl, const void *buf, int num), OpenSSL 1.1 and 3.x */
SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buffer, int length)
{
	return enter_tls_call(ssl, buffer, 0, PS_DIRECTION_EGRESS);
}

/* int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buffer, __u64 length, __u64 *written)
{
	return enter_tls_call(ssl, buffer, (__u64)written, PS_DIRECTION_EGRESS);
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buffer, int length)
{
	return enter_tls_call(ssl, buffer, 0, PS_DIRECTION_INGRESS);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buffer, __u64 length, __u64 *read_bytes)
{
	return enter_tls_call(ssl, buffer, (__u64)read_bytes, PS_DIRECTION_INGRESS);
}

/* One return probe serves all four functions, because the saved call records
 * which one it was. libbpf 1.1 has no BPF_UPROBE macros yet, and the kprobe
 * ones read the same registers. */
SEC("uretprobe")
int BPF_KRETPROBE(tls_call_exit, long result)
{
	return exit_tls_call((int)result);
}

/* void SSL_free(SSL *ssl): the connection ends with its TLS object. */
SEC("uprobe")
int BPF_KPROBE(ssl_free_enter, void *ssl)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_conn_key key = { .tgid = pid_tgid >> 32, .tls_object = (__u64)ssl };
	struct ps_conn_state *conn;
	struct ps_close_record *record;

	conn = bpf_map_lookup_elem(&connections, &key);
	if (!conn)
		return 0;

	record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
	if (record) {
		fill_header(&record->header, PS_RECORD_CLOSE, sizeof(*record));
		record->pid = key.tgid;
		record->pad = 0;
		record->conn_id = conn->conn_id;
		record->egress_bytes = conn->egress_bytes;
		record->ingress_bytes = conn->ingress_bytes;
		bpf_ringbuf_submit(record, wakeup_flags());
	} else {
		count_loss(PS_LOSS_EVENTS_DROPPED, 1);
	}

	bpf_map_delete_elem(&connections, &key);
	return 0;
}

/* ---- the socket behind a connection ---- */

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

/* ---- which processes are captured ---- */

static __always_inline void send_process_record(__u32 type, __u32 tgid, const char *path, bool user_path)
{
	struct ps_process_record *record;

	record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
	if (!record) {
		count_loss(PS_LOSS_EVENTS_DROPPED, 1);
		return;
	}
	__builtin_memset(record, 0, sizeof(*record));
	fill_header(&record->header, type, sizeof(*record));
	record->pid = tgid;
	if (path && user_path)
		bpf_probe_read_user_str(record->path, sizeof(record->path), path);
	else if (path)
		bpf_probe_read_kernel_str(record->path, sizeof(record->path), path);
	/* Woken at once: the agent reads /proc/PID/exe and attaches new
	 * libraries while the process still runs. These records are rare. */
	bpf_ringbuf_submit(record, BPF_RB_FORCE_WAKEUP);
}

/* Returns whether the executable's file name is in target_exes. The name is
 * that of the file after symbolic links (as in /proc/PID/exe), so that
 * /usr/bin/firefox-esr and the file it links to match the same entry. */
static __always_inline bool exe_is_target(struct linux_binprm *binprm)
{
	char name[PS_EXE_NAME_BYTES] = {};
	const unsigned char *file_name = BPF_CORE_READ(binprm, file, f_path.dentry, d_name.name);

	if (bpf_probe_read_kernel_str(name, sizeof(name), file_name) <= 0)
		return false;
	return bpf_map_lookup_elem(&target_exes, name) != NULL;
}

/* A new executable: a process running a target executable becomes a target;
 * one that was a target only because of its executable stops being one. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *binprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	const char *filename = BPF_CORE_READ(binprm, filename);
	__u32 *reasons = bpf_map_lookup_elem(&target_pids, &tgid);
	__u32 updated = reasons ? *reasons & ~PS_TARGET_BY_EXE : 0;

	if (exe_is_target(binprm))
		updated |= PS_TARGET_BY_EXE;

	if (updated)
		bpf_map_update_elem(&target_pids, &tgid, &updated, BPF_ANY);
	else if (reasons)
		bpf_map_delete_elem(&target_pids, &tgid);

	if (is_target(tgid))
		send_process_record(PS_RECORD_EXEC, tgid, filename, false);
	return 0;
}

/* A new process (not a thread) inherits its parent's target status:
 * browsers fork their network and renderer processes without exec. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u32 *reasons;
	__u32 inherited;

	if (child_tgid == parent_tgid)
		return 0;
	reasons = bpf_map_lookup_elem(&target_pids, &parent_tgid);
	if (!reasons)
		return 0;
	inherited = *reasons;
	bpf_map_update_elem(&target_pids, &child_tgid, &inherited, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	/* Only the end of the whole process matters, not of each thread. */
	if (BPF_CORE_READ(task, pid) != tgid)
		return 0;
	if (!is_target(tgid))
		return 0;
	send_process_record(PS_RECORD_EXIT, tgid, NULL, false);
	bpf_map_delete_elem(&target_pids, &tgid);
	return 0;
}

struct path_scan {
	char path[PS_PATH_BYTES + 16]; /* room for a match that starts near the end */
	__u32 length;
	__u32 name_start;
};

/* bpf_loop callback: remembers where the text after the last '/' starts. */
static long find_name_start(__u32 index, struct path_scan *scan)
{
	if (index >= scan->length)
		return 1;
	if (scan->path[index & (PS_PATH_BYTES - 1)] == '/')
		scan->name_start = index + 1;
	return 0;
}

/* Returns whether the path's base name starts with "libssl.so". The scan
 * runs in bpf_loop because an open-coded loop that tracks the position makes
 * the verifier walk every path length (over its 1M instruction limit). */
static __always_inline bool names_tls_library(struct path_scan *scan)
{
	static const char pattern[] = "libssl.so";
	__u32 start;

	scan->name_start = 0;
	bpf_loop(PS_PATH_BYTES, find_name_start, scan, 0);
	start = scan->name_start & (PS_PATH_BYTES - 1);
	for (int i = 0; i < (int)sizeof(pattern) - 1; i++) {
		if (scan->path[start + i] != pattern[i])
			return false;
	}
	return true;
}

/* A target opening a TLS library file: the agent attaches to it if it is new
 * (a container image or an application bundle with its own copy). */
SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const char *user_path = (const char *)ctx->args[1];
	struct path_scan scan = {};
	int length;

	if (!is_target(tgid))
		return 0;
	length = bpf_probe_read_user_str(scan.path, PS_PATH_BYTES, user_path);
	if (length <= 0)
		return 0;
	scan.length = (__u32)length;
	if (!names_tls_library(&scan))
		return 0;
	send_process_record(PS_RECORD_LIBRARY, tgid, user_path, true);
	return 0;
}
