/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by every probe: configuration, maps, loss counters, the process
 * filter, and the copy of a TLS call's buffer into ring-buffer records.
 * Included once, by tls_capture.bpf.c.
 */
#ifndef PLAINSIGHT_CAPTURE_CORE_H
#define PLAINSIGHT_CAPTURE_CORE_H

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
					  __u8 direction, __u8 library)
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
	call.library = library;
	if (bpf_map_update_elem(&pending_calls, &pid_tgid, &call, BPF_ANY))
		count_loss(PS_LOSS_CALLS_UNTRACKED, 1);
	return 0;
}

/* Counts a call that is not captured as nested in the captured call that
 * encloses it on the same thread, so that the shared return probe only
 * decrements the depth and does not end the enclosing call. Without an
 * enclosing call, nothing is saved. */
static __always_inline int skip_nested_call(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_pending_call *outer = bpf_map_lookup_elem(&pending_calls, &pid_tgid);

	if (outer)
		outer->depth++;
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
	__u64 call_bytes; /* what the call transferred, copy_bytes or more */
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
	record->lost_after_bytes = 0;
	if (record->flags & PS_DATA_FLAG_CALL_END)
		record->lost_after_bytes = (__u32)(ctx->call_bytes - ctx->copy_bytes);
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
	ctx.call_bytes = length;
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

/* Ends the connection of a TLS object that its library frees or closes:
 * sends its final stream lengths and deletes its state. */
static __always_inline int close_tls_object(__u64 tls_object)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct ps_conn_key key = { .tgid = pid_tgid >> 32, .tls_object = tls_object };
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

#endif
