/*
 * Capture lifecycle: environment checks, open, configure, load, attach,
 * poll, stats and teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "internal.h"

#define TICK_INTERVAL_MS 1000

static bool has_capability(const struct __user_cap_data_struct data[2], int capability)
{
	return data[capability / 32].effective & (1u << (capability % 32));
}

/* CAP_BPF and CAP_PERFMON exist from Linux 5.8; CAP_SYS_ADMIN covers both. */
static bool has_bpf_privileges(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &header, data))
		return false;
	if (has_capability(data, CAP_SYS_ADMIN))
		return true;
	return has_capability(data, CAP_BPF) && has_capability(data, CAP_PERFMON);
}

/* Syscall tracepoints are found by their ids under tracefs. Minimal systems
 * and containers often boot without it mounted; mounting it is what perf and
 * bpftrace users do by hand. */
static int ensure_tracefs(char *reason, size_t reason_size)
{
	/* Effective IDs and capabilities decide, as they will for libbpf. */
	if (faccessat(AT_FDCWD, "/sys/kernel/tracing/events/syscalls", R_OK | X_OK, AT_EACCESS) == 0 ||
	    faccessat(AT_FDCWD, "/sys/kernel/debug/tracing/events/syscalls", R_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno == EACCES) {
		snprintf(reason, reason_size,
			 "no permission to read /sys/kernel/tracing (mode 0700 on most systems): run as root, "
			 "or also grant CAP_DAC_READ_SEARCH");
		return -EACCES;
	}
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0) {
		log_info("mounted tracefs on /sys/kernel/tracing for the syscall tracepoints");
		if (access("/sys/kernel/tracing/events/syscalls", F_OK) == 0)
			return 0;
	}
	snprintf(reason, reason_size,
		 "syscall tracepoints not found: mount tracefs (mount -t tracefs nodev "
		 "/sys/kernel/tracing) on a kernel built with CONFIG_FTRACE_SYSCALLS=y");
	return -ENOTSUP;
}

int capture_check_environment(char *reason, size_t reason_size)
{
	if (!has_bpf_privileges()) {
		snprintf(reason, reason_size,
			 "missing privileges: run as root, or grant CAP_BPF, CAP_PERFMON and "
			 "CAP_DAC_READ_SEARCH (setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep on the binary)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(reason, reason_size,
			 "kernel BTF not found at /sys/kernel/btf/vmlinux: use a kernel built "
			 "with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOTSUP;
	}
	if (access("/sys/bus/event_source/devices/uprobe", F_OK)) {
		snprintf(reason, reason_size,
			 "uprobes are not available: use a kernel built with CONFIG_UPROBE_EVENTS=y");
		return -ENOTSUP;
	}
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1) {
		snprintf(reason, reason_size, "BPF ring buffers are not supported: use Linux 5.8 or newer");
		return -ENOTSUP;
	}
	return ensure_tracefs(reason, reason_size);
}

/* libbpf's warnings are ours too; its info and debug output only with -v. */
static int print_libbpf_message(enum libbpf_print_level level, const char *format, va_list args)
{
	char *text = NULL;
	size_t length;

	if (level != LIBBPF_WARN && log_get_level() < LOG_LEVEL_DEBUG)
		return 0;
	/* Verifier logs come as one message of many kilobytes. */
	if (vasprintf(&text, format, args) < 0)
		return 0;
	length = strlen(text);
	while (length && text[length - 1] == '\n')
		text[--length] = '\0';
	log_message(level == LIBBPF_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "libbpf: %s", text);
	free(text);
	return 0;
}

static int64_t compute_realtime_offset(void)
{
	struct timespec realtime;
	struct timespec monotonic;

	clock_gettime(CLOCK_REALTIME, &realtime);
	clock_gettime(CLOCK_MONOTONIC, &monotonic);
	return ((int64_t)realtime.tv_sec - monotonic.tv_sec) * 1000000000 +
	       ((int64_t)realtime.tv_nsec - monotonic.tv_nsec);
}

static int load_programs(struct capture *capture)
{
	int error;

	capture->skeleton = tls_capture_bpf__open();
	if (!capture->skeleton) {
		error = -errno;
		log_error("cannot open the BPF object: %s", strerror(errno));
		return error;
	}

	error = bpf_map__set_max_entries(capture->skeleton->maps.events, capture->options.ring_buffer_bytes);
	if (!error)
		error = targets_configure(capture);
	if (error)
		return error;

	error = tls_capture_bpf__load(capture->skeleton);
	if (error) {
		log_error("cannot load the BPF programs: %s (run with -v for the verifier's log)",
			  strerror(-error));
		return error;
	}
	return 0;
}

/* Attaches the tracepoints only: the uprobes are attached per library file. */
static int attach_tracepoints(struct capture *capture)
{
	struct bpf_program *program;

	bpf_object__for_each_program(program, capture->skeleton->obj)
	{
		struct bpf_link *link;
		const char *section = bpf_program__section_name(program);

		if (strncmp(section, "tracepoint/", 11) && strncmp(section, "tp_btf/", 7))
			continue;
		link = bpf_program__attach(program);
		if (!link) {
			int error = -errno;

			log_error("cannot attach %s: %s", section, strerror(errno));
			return error;
		}
		if (capture->tracepoint_link_count == MAX_TRACEPOINT_LINKS) {
			bpf_link__destroy(link);
			log_error("too many tracepoint programs in the BPF object");
			return -E2BIG;
		}
		capture->tracepoint_links[capture->tracepoint_link_count++] = link;
	}
	return 0;
}

struct capture *capture_open(const struct capture_options *options, int *error)
{
	struct capture *capture = calloc(1, sizeof(*capture));

	*error = -ENOMEM;
	if (!capture)
		return NULL;
	capture->options = *options;
	capture->offsets_cache_dir = options->offsets_cache_dir;
	libbpf_set_print(print_libbpf_message);
	capture->realtime_offset_ns = compute_realtime_offset();

	*error = load_programs(capture);
	if (*error)
		goto fail;
	*error = attach_tracepoints(capture);
	if (*error)
		goto fail;
	*error = targets_fill(capture);
	if (*error)
		goto fail;

	capture->ring_buffer = ring_buffer__new(bpf_map__fd(capture->skeleton->maps.events), records_handle,
						capture, NULL);
	if (!capture->ring_buffer) {
		*error = -errno;
		log_error("cannot open the ring buffer: %s", strerror(errno));
		goto fail;
	}

	libraries_scan_system(capture);
	libraries_scan_processes(capture);
	executables_attach_known(capture);
	executables_attach_targets(capture);
	capture->last_rescan_ms = monotonic_ms();
	if (capture->stats.libraries_attached == 0)
		log_warn("no OpenSSL library found yet; libraries that processes open later are attached then");
	return capture;

fail:
	capture_close(capture);
	return NULL;
}

int capture_poll(struct capture *capture, struct tls_chunk_sink *sink, int timeout_ms)
{
	uint64_t now_ms;
	int handled;

	capture->sink = sink;
	capture->sink_error = 0;
	/* The BPF side skips most wakeups (see wakeup_flags), so records can be
	 * waiting although the wait timed out: consume after every wait. */
	handled = ring_buffer__poll(capture->ring_buffer, timeout_ms);
	if (handled >= 0 || handled == -EINTR) {
		int consumed = ring_buffer__consume(capture->ring_buffer);

		if (consumed < 0)
			handled = consumed;
		else if (handled >= 0)
			handled += consumed;
	}
	if (handled < 0 && handled != -EINTR)
		log_error("reading the ring buffer failed: %s", strerror(-handled));

	now_ms = monotonic_ms();
	if (now_ms - capture->last_tick_ms >= TICK_INTERVAL_MS)
		records_send_tick(capture, now_ms);
	if (capture->options.rescan_interval_ms &&
	    now_ms - capture->last_rescan_ms >= capture->options.rescan_interval_ms) {
		libraries_scan_processes(capture);
		capture->last_rescan_ms = now_ms;
	}

	capture->sink = NULL;
	if (capture->sink_error)
		return capture->sink_error;
	return handled;
}

static void read_loss_counters(struct capture *capture, struct capture_stats *stats)
{
	int map = bpf_map__fd(capture->skeleton->maps.loss_counters);
	int cpus = libbpf_num_possible_cpus();
	__u64 *values;

	if (cpus <= 0)
		return;
	values = calloc(cpus, sizeof(*values));
	if (!values)
		return;
	for (__u32 counter = 0; counter < PS_LOSS_COUNTER_COUNT; counter++) {
		if (bpf_map_lookup_elem(map, &counter, values))
			continue;
		for (int cpu = 0; cpu < cpus; cpu++)
			stats->loss[counter] += values[cpu];
	}
	free(values);
}

/* Connections that the BPF table dropped to make room: created, minus those
 * closed or forgotten with their process, minus those still in the table. */
static uint64_t count_evicted_connections(struct capture *capture)
{
	int map = bpf_map__fd(capture->skeleton->maps.connections);
	struct ps_conn_key key;
	struct ps_conn_key next;
	void *previous = NULL;
	uint64_t live = 0;
	uint64_t created = capture->skeleton->data->next_conn_id - 1;

	while (bpf_map_get_next_key(map, previous, &next) == 0) {
		live++;
		key = next;
		previous = &key;
	}
	if (created < capture->connections_freed + live)
		return 0;
	return created - capture->connections_freed - live;
}

void capture_read_stats(struct capture *capture, struct capture_stats *stats)
{
	*stats = capture->stats;
	memset(stats->loss, 0, sizeof(stats->loss));
	read_loss_counters(capture, stats);
	stats->connections_evicted = count_evicted_connections(capture);
}

void capture_close(struct capture *capture)
{
	if (!capture)
		return;
	ring_buffer__free(capture->ring_buffer);
	libraries_detach_all(capture);
	for (int i = 0; i < capture->tracepoint_link_count; i++)
		bpf_link__destroy(capture->tracepoint_links[i]);
	tls_capture_bpf__destroy(capture->skeleton);
	processes_free(capture);
	free(capture);
}
