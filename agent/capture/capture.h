/*
 * Live capture: loads the BPF programs, attaches them to every OpenSSL
 * library on the system and in running processes, keeps the set of captured
 * processes, and turns ring-buffer records into tls_chunks.
 */
#ifndef PLAINSIGHT_CAPTURE_H
#define PLAINSIGHT_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plainsight/records.h"

#include "../common/tls_chunk.h"

/* Executables captured when no --exe, --pid, --cgroup or --all-processes is
 * given: the browsers that Debian and the major vendors ship on Linux. */
extern const char *const capture_default_executables[];

struct capture_options {
	const char *const *executables; /* base names; NULL-terminated */
	const pid_t *pids;              /* each with its descendants */
	size_t pid_count;
	const char *cgroup_path; /* cgroup v2 directory, or NULL */
	bool all_processes;
	uint32_t call_limit_bytes; /* bytes copied per TLS call at most */
	uint32_t ring_buffer_bytes;
	unsigned int rescan_interval_ms; /* how often running processes are rescanned for new libraries */
	const char *offsets_cache_dir;   /* BoringSSL offsets by build-id, or NULL for no cache */
};

struct capture_stats {
	uint64_t loss[PS_LOSS_COUNTER_COUNT]; /* summed over CPUs */
	uint64_t records;
	uint64_t data_bytes;
	uint64_t libraries_attached;
	uint64_t libraries_failed;
	uint64_t connections_evicted;
};

struct capture;

/* Checks that this process and kernel can run the capture: privileges, BTF,
 * uprobes, ring buffers. Returns 0, or a negative errno with one line in
 * `reason` that names what is missing and what to do. */
int capture_check_environment(char *reason, size_t reason_size);

/* Loads and attaches everything. Returns NULL with *error set to a negative
 * errno; the cause is logged. */
struct capture *capture_open(const struct capture_options *options, int *error);

/* Waits up to timeout_ms for records and passes the chunks they make to sink.
 * Also rescans for new libraries when due. Returns the number of records
 * handled, or a negative errno (-EINTR when a signal interrupted the wait). */
int capture_poll(struct capture *capture, struct tls_chunk_sink *sink, int timeout_ms);

void capture_read_stats(struct capture *capture, struct capture_stats *stats);

/* Detaches and frees; NULL is accepted. */
void capture_close(struct capture *capture);

#endif
