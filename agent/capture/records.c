/*
 * Ring-buffer records to tls_chunks. Each record is checked against its
 * declared size before use; the process table gives every pid one
 * TLS_CHUNK_PROCESS (with its executable) before its first data.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "internal.h"

#define PROCESS_TABLE_MIN 256

uint64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static uint64_t realtime_ns(const struct capture *capture, uint64_t monotonic_ns)
{
	return (uint64_t)((int64_t)monotonic_ns + capture->realtime_offset_ns);
}

static void deliver(struct capture *capture, const struct tls_chunk *chunk)
{
	int error = capture->sink->write(capture->sink, chunk);

	if (error && !capture->sink_error)
		capture->sink_error = error;
}

/* ---- process table: open addressing on pid, grown at half load ---- */

static struct process_info *find_slot(struct process_info *table, size_t capacity, pid_t pid)
{
	size_t index = ((size_t)pid * 2654435761u) & (capacity - 1);

	while (table[index].pid && table[index].pid != pid)
		index = (index + 1) & (capacity - 1);
	return &table[index];
}

static size_t count_processes(const struct capture *capture)
{
	size_t count = 0;

	for (size_t i = 0; i < capture->process_capacity; i++)
		count += capture->processes[i].pid != 0;
	return count;
}

static int grow_processes(struct capture *capture)
{
	size_t capacity = capture->process_capacity ? capture->process_capacity * 2 : PROCESS_TABLE_MIN;
	struct process_info *table = calloc(capacity, sizeof(*table));

	if (!table)
		return -ENOMEM;
	for (size_t i = 0; i < capture->process_capacity; i++) {
		if (capture->processes[i].pid)
			*find_slot(table, capacity, capture->processes[i].pid) = capture->processes[i];
	}
	free(capture->processes);
	capture->processes = table;
	capture->process_capacity = capacity;
	return 0;
}

static struct process_info *lookup_process(struct capture *capture, pid_t pid)
{
	struct process_info *slot;

	if (!capture->process_capacity || count_processes(capture) * 2 >= capture->process_capacity) {
		if (grow_processes(capture))
			return NULL;
	}
	slot = find_slot(capture->processes, capture->process_capacity, pid);
	if (!slot->pid) {
		slot->pid = pid;
		slot->announced = false;
		slot->executable_path[0] = '\0';
	}
	return slot;
}

/* Removes pid, re-inserting the entries after it so probing stays intact. */
static void forget_process(struct capture *capture, pid_t pid)
{
	size_t mask = capture->process_capacity - 1;
	struct process_info *slot;
	size_t index;

	if (!capture->process_capacity)
		return;
	slot = find_slot(capture->processes, capture->process_capacity, pid);
	if (!slot->pid)
		return;
	slot->pid = 0;
	index = ((size_t)(slot - capture->processes) + 1) & mask;
	while (capture->processes[index].pid) {
		struct process_info moved = capture->processes[index];

		capture->processes[index].pid = 0;
		*find_slot(capture->processes, capture->process_capacity, moved.pid) = moved;
		index = (index + 1) & mask;
	}
}

void processes_free(struct capture *capture)
{
	free(capture->processes);
	capture->processes = NULL;
	capture->process_capacity = 0;
}

/* Sends TLS_CHUNK_PROCESS for pid once, with the executable from its exec
 * record or, for processes that ran before the capture, from /proc. */
static void announce_process(struct capture *capture, pid_t pid, uint64_t time_ns)
{
	struct process_info *process = lookup_process(capture, pid);
	struct tls_chunk chunk = { .type = TLS_CHUNK_PROCESS, .time_ns = time_ns, .pid = pid };

	if (!process || process->announced)
		return;

	if (!process->executable_path[0]) {
		char link[64];
		ssize_t length;

		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		length = readlink(link, process->executable_path, sizeof(process->executable_path) - 1);
		process->executable_path[length > 0 ? length : 0] = '\0';
	}

	process->announced = true;
	chunk.executable_path = process->executable_path;
	deliver(capture, &chunk);
}

/* ---- one handler per record type ---- */

static enum tls_library library_of(__u8 library)
{
	switch (library) {
	case PS_TLS_OPENSSL:
		return TLS_LIBRARY_OPENSSL;
	case PS_TLS_NSS:
		return TLS_LIBRARY_NSS;
	case PS_TLS_GNUTLS:
		return TLS_LIBRARY_GNUTLS;
	case PS_TLS_BORINGSSL:
		return TLS_LIBRARY_BORINGSSL;
	}
	return TLS_LIBRARY_UNKNOWN;
}

/* Sends TLS_CHUNK_THREAD when a thread is new or has a new name. */
static void announce_thread(struct capture *capture, const struct ps_data_record *record, uint64_t time_ns)
{
	struct thread_name *slot = &capture->thread_names[record->tid % THREAD_NAME_SLOTS];
	char name[PS_COMM_BYTES + 1];
	struct tls_chunk chunk = {
		.type = TLS_CHUNK_THREAD,
		.time_ns = time_ns,
		.pid = record->pid,
		.tid = record->tid,
		.thread_name = name,
	};

	snprintf(name, sizeof(name), "%.*s", PS_COMM_BYTES, record->comm);
	if (slot->tid == record->tid && strncmp(slot->name, name, sizeof(slot->name)) == 0)
		return;
	slot->tid = record->tid;
	memcpy(slot->name, name, sizeof(slot->name));
	deliver(capture, &chunk);
}

static void handle_data(struct capture *capture, const struct ps_data_record *record)
{
	struct tls_chunk chunk = {
		.type = TLS_CHUNK_DATA,
		.time_ns = realtime_ns(capture, record->header.timestamp_ns),
		.pid = record->pid,
		.tid = record->tid,
		.conn_id = record->conn_id,
		.direction = record->direction == PS_DIRECTION_INGRESS ? TLS_INGRESS : TLS_EGRESS,
		.library = library_of(record->library),
		.stream_offset = record->stream_offset,
		.data = record->data,
		.data_bytes = record->data_bytes,
	};

	executables_check_data(capture, record);
	announce_process(capture, record->pid, chunk.time_ns);
	announce_thread(capture, record, chunk.time_ns);
	capture->stats.data_bytes += record->data_bytes;
	deliver(capture, &chunk);

	/* Bytes of the call that were not copied: an empty chunk at the offset
	 * after them informs the stream stage of the gap now, before the
	 * response arrives, so that pairing stays in order. */
	if (record->lost_after_bytes) {
		chunk.stream_offset += (uint64_t)record->data_bytes + record->lost_after_bytes;
		chunk.data = NULL;
		chunk.data_bytes = 0;
		deliver(capture, &chunk);
	}
}

static void copy_endpoint(struct tls_endpoint *endpoint, uint16_t family, const uint8_t *address,
			  uint16_t port)
{
	endpoint->family = family;
	endpoint->port = port;
	memcpy(endpoint->address, address, sizeof(endpoint->address));
}

static void handle_socket(struct capture *capture, const struct ps_socket_record *record)
{
	struct tls_chunk chunk = {
		.type = record->header.type == PS_RECORD_QUIC ? TLS_CHUNK_QUIC : TLS_CHUNK_CONNECTION,
		.time_ns = realtime_ns(capture, record->header.timestamp_ns),
		.pid = record->pid,
		.tid = record->tid,
		.conn_id = record->conn_id,
		.library = library_of(record->library),
	};

	copy_endpoint(&chunk.local, record->family, record->local_address, record->local_port);
	copy_endpoint(&chunk.peer, record->family, record->peer_address, record->peer_port);
	announce_process(capture, record->pid, chunk.time_ns);
	deliver(capture, &chunk);
}

static void handle_close(struct capture *capture, const struct ps_close_record *record)
{
	struct tls_chunk chunk = {
		.type = TLS_CHUNK_CLOSE,
		.time_ns = realtime_ns(capture, record->header.timestamp_ns),
		.pid = record->pid,
		.conn_id = record->conn_id,
		.egress_bytes = record->egress_bytes,
		.ingress_bytes = record->ingress_bytes,
	};

	capture->connections_freed++;
	deliver(capture, &chunk);
}

/* Deletes the BPF connection entries of an ended process: it freed none of
 * its TLS objects, and the entries would otherwise wait for eviction. */
static void forget_connections(struct capture *capture, pid_t pid)
{
	int map = bpf_map__fd(capture->skeleton->maps.connections);
	struct ps_conn_key key;
	struct ps_conn_key next;
	struct ps_conn_key doomed[256];
	size_t doomed_count = 0;
	void *previous = NULL;

	while (bpf_map_get_next_key(map, previous, &next) == 0 && doomed_count < 256) {
		if (next.tgid == (__u32)pid)
			doomed[doomed_count++] = next;
		key = next;
		previous = &key;
	}
	for (size_t i = 0; i < doomed_count; i++) {
		if (bpf_map_delete_elem(map, &doomed[i]) == 0)
			capture->connections_freed++;
	}
}

static void handle_process(struct capture *capture, const struct ps_process_record *record)
{
	struct tls_chunk chunk = {
		.time_ns = realtime_ns(capture, record->header.timestamp_ns),
		.pid = record->pid,
	};
	struct process_info *process;
	char path[PATH_MAX];
	ssize_t length;

	switch (record->header.type) {
	case PS_RECORD_EXEC:
		process = lookup_process(capture, record->pid);
		if (!process)
			return;
		/* /proc/PID/exe gives the path after symbolic links while the
		 * process lives; the path given to execve is the fallback. */
		snprintf(path, sizeof(path), "/proc/%u/exe", record->pid);
		length = readlink(path, process->executable_path, sizeof(process->executable_path) - 1);
		if (length > 0)
			process->executable_path[length] = '\0';
		else
			snprintf(process->executable_path, sizeof(process->executable_path), "%.*s",
				 (int)sizeof(record->path), record->path);
		process->announced = false;
		announce_process(capture, record->pid, chunk.time_ns);
		executables_attach(capture, (pid_t)record->pid);
		return;
	case PS_RECORD_EXIT:
		chunk.type = TLS_CHUNK_EXIT;
		deliver(capture, &chunk);
		forget_connections(capture, record->pid);
		forget_process(capture, record->pid);
		return;
	case PS_RECORD_LIBRARY:
		/* The path is as the process gave it: relative to its root, or to
		 * its working directory when relative. */
		snprintf(path, sizeof(path), "/proc/%u/%s/%.*s", record->pid,
			 record->path[0] == '/' ? "root" : "cwd", (int)sizeof(record->path), record->path);
		libraries_attach_file(capture, path);
		return;
	}
}

static bool size_is_valid(const struct ps_record_header *header, size_t size)
{
	switch (header->type) {
	case PS_RECORD_DATA: {
		const struct ps_data_record *data = (const void *)header;

		return size >= offsetof(struct ps_data_record, data) && data->data_bytes <= PS_DATA_CHUNK_BYTES &&
		       size >= offsetof(struct ps_data_record, data) + data->data_bytes;
	}
	case PS_RECORD_SOCKET:
	case PS_RECORD_QUIC:
		return size >= sizeof(struct ps_socket_record);
	case PS_RECORD_CLOSE:
		return size >= sizeof(struct ps_close_record);
	case PS_RECORD_EXEC:
	case PS_RECORD_EXIT:
	case PS_RECORD_LIBRARY:
		return size >= sizeof(struct ps_process_record);
	}
	return false;
}

/* ring_buffer__new callback: one record. Returns 0 to keep consuming. */
int records_handle(void *context, void *data, size_t size)
{
	struct capture *capture = context;
	const struct ps_record_header *header = data;

	if (size < sizeof(*header) || !size_is_valid(header, size)) {
		log_warn("skipped a malformed ring-buffer record (type %u, %zu bytes)",
			 size >= sizeof(*header) ? header->type : 0, size);
		return 0;
	}
	capture->stats.records++;

	switch (header->type) {
	case PS_RECORD_DATA:
		handle_data(capture, data);
		break;
	case PS_RECORD_SOCKET:
	case PS_RECORD_QUIC:
		handle_socket(capture, data);
		break;
	case PS_RECORD_CLOSE:
		handle_close(capture, data);
		break;
	default:
		handle_process(capture, data);
		break;
	}
	return 0;
}

void records_send_tick(struct capture *capture, uint64_t now_ms)
{
	struct timespec now;
	struct tls_chunk chunk = { .type = TLS_CHUNK_TICK };

	clock_gettime(CLOCK_REALTIME, &now);
	chunk.time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	capture->last_tick_ms = now_ms;
	deliver(capture, &chunk);
}
