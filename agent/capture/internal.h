/* Private to agent/capture/: the state shared by its files. */
#ifndef PLAINSIGHT_CAPTURE_INTERNAL_H
#define PLAINSIGHT_CAPTURE_INTERNAL_H

#include <sys/types.h>

#include "capture.h"
#include "tls_capture.skel.h"

/* One attached library file, identified by device and inode so that the
 * same file reached through several paths is attached once. */
struct attached_library {
	dev_t device;
	ino_t inode;
	bool boringssl; /* attached at offsets found in a stripped executable */
	struct bpf_link *links[12];
	int link_count;
};

struct process_info {
	pid_t pid;
	bool announced; /* a TLS_CHUNK_PROCESS was sent for it */
	char executable_path[PS_PATH_BYTES];
};

#define MAX_TRACEPOINT_LINKS 16

/* The thread names last sent, direct-mapped by tid: a collision only sends
 * a name again. */
#define THREAD_NAME_SLOTS 1024

struct thread_name {
	uint32_t tid;
	char name[PS_COMM_BYTES];
};

struct capture {
	struct tls_capture_bpf *skeleton;
	struct bpf_link *tracepoint_links[MAX_TRACEPOINT_LINKS];
	int tracepoint_link_count;
	struct ring_buffer *ring_buffer;
	struct capture_options options;

	struct attached_library *libraries;
	size_t library_count;
	size_t library_capacity;

	struct process_info *processes; /* small open-addressing table by pid */
	struct thread_name thread_names[THREAD_NAME_SLOTS];
	size_t process_capacity;

	/* CLOCK_REALTIME minus CLOCK_MONOTONIC, in ns, to date BPF records. */
	int64_t realtime_offset_ns;
	uint64_t last_rescan_ms;
	uint64_t last_tick_ms;
	uint64_t connections_freed; /* closes seen, for the eviction count */
	const char *offsets_cache_dir;
	/* First egress bytes of BoringSSL connections that did and did not look
	 * like HTTP: the check that found offsets are right. */
	uint64_t boringssl_http_starts;
	uint64_t boringssl_other_starts;

	struct tls_chunk_sink *sink; /* valid during capture_poll */
	int sink_error;
	struct capture_stats stats;
};

/* libraries.c */
struct attached_library *libraries_find(struct capture *capture, dev_t device, ino_t inode);
struct attached_library *libraries_add(struct capture *capture, dev_t device, ino_t inode);
void libraries_destroy_links(struct attached_library *library);
int libraries_attach_file(struct capture *capture, const char *path);
void libraries_scan_system(struct capture *capture);
void libraries_scan_processes(struct capture *capture);
void libraries_detach_all(struct capture *capture);

/* executables.c */
void executables_attach(struct capture *capture, pid_t pid);
void executables_attach_targets(struct capture *capture);
void executables_attach_known(struct capture *capture);
void executables_check_data(struct capture *capture, const struct ps_data_record *record);

/* targets.c */
int targets_configure(struct capture *capture);
int targets_fill(struct capture *capture);

/* records.c */
int records_handle(void *context, void *data, size_t size);
void records_send_tick(struct capture *capture, uint64_t now_ms);
void processes_free(struct capture *capture);

uint64_t monotonic_ms(void);

#endif
