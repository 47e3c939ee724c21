/*
 * BoringSSL inside the executables of captured processes. Chromium, Chrome
 * and Electron link BoringSSL statically and ship stripped, so the offsets
 * of SSL_write, SSL_read and SSL_free come from the finder in boringssl.c,
 * cached by ELF build-id. Uprobes belong to the file, so every process of
 * the same binary (Chromium's network service runs in its own process) is
 * covered by one attach.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "boringssl.h"
#include "internal.h"

/* Connections whose first bytes must fail the HTTP check, with none
 * passing, before the BoringSSL probes are taken for wrong and detached. */
#define WRONG_OFFSET_VERDICT 3

static int attach_at(struct capture *capture, struct attached_library *library, const char *path,
		     struct bpf_program *program, uint64_t offset, bool return_probe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, options, .retprobe = return_probe);
	struct bpf_link *link;

	if (!offset)
		return 0;
	link = bpf_program__attach_uprobe_opts(program, -1, path, offset, &options);
	if (!link)
		return -errno;
	library->links[library->link_count++] = link;
	return 0;
}

static int attach_offsets(struct capture *capture, struct attached_library *library, const char *path,
			  const struct tls_offsets *offsets)
{
	struct tls_capture_bpf *skeleton = capture->skeleton;
	int error;

	error = attach_at(capture, library, path, skeleton->progs.boringssl_write_enter, offsets->ssl_write.offset,
			  false);
	if (!error)
		error = attach_at(capture, library, path, skeleton->progs.tls_call_exit, offsets->ssl_write.offset, true);
	if (!error)
		error = attach_at(capture, library, path, skeleton->progs.boringssl_read_enter,
				  offsets->ssl_read.offset, false);
	if (!error)
		error = attach_at(capture, library, path, skeleton->progs.tls_call_exit, offsets->ssl_read.offset, true);
	if (!error)
		error = attach_at(capture, library, path, skeleton->progs.ssl_free_enter, offsets->ssl_free.offset,
				  false);
	return error;
}

/* Looks for BoringSSL in the file that path opens (display names it in
 * messages) and attaches to it, once per file. The file is held open so
 * that it stays the same file while it is scanned and attached. */
static void attach_file(struct capture *capture, const char *path, const char *display)
{
	char held_path[64];
	char reason[256] = "";
	struct tls_offsets offsets;
	struct attached_library *library;
	struct stat status;
	int error;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &status) || !S_ISREG(status.st_mode) || libraries_find(capture, status.st_dev, status.st_ino)) {
		close(fd);
		return;
	}
	library = libraries_add(capture, status.st_dev, status.st_ino);
	if (!library) {
		close(fd);
		return;
	}
	snprintf(held_path, sizeof(held_path), "/proc/self/fd/%d", fd);

	/* A file without BoringSSL stays in the table, so it is not scanned
	 * again. */
	error = boringssl_find_offsets_cached(held_path, capture->offsets_cache_dir, false, &offsets, reason,
					      sizeof(reason));
	if (error) {
		log_debug("%s: no BoringSSL attached: %s", display, reason);
		close(fd);
		return;
	}

	error = attach_offsets(capture, library, held_path, &offsets);
	close(fd);
	if (error) {
		log_warn("%s: attaching at the BoringSSL offsets failed: %s", display, strerror(-error));
		libraries_destroy_links(library);
		capture->stats.libraries_failed++;
		return;
	}
	library->boringssl = true;
	capture->stats.libraries_attached++;
	log_info("attached to BoringSSL in %s (SSL_write at file offset 0x%llx, SSL_read at 0x%llx, found by %s)",
		 display, (unsigned long long)offsets.ssl_write.offset, (unsigned long long)offsets.ssl_read.offset,
		 offsets.method);
}

void executables_attach(struct capture *capture, pid_t pid)
{
	char link_path[64];
	char executable[PATH_MAX];
	ssize_t length;

	snprintf(link_path, sizeof(link_path), "/proc/%d/exe", pid);
	length = readlink(link_path, executable, sizeof(executable) - 1);
	executable[length > 0 ? length : 0] = '\0';
	attach_file(capture, link_path, executable);
}

/* Where the BoringSSL browsers install their executable. Attaching to them
 * at start means that a browser started later is captured from its first
 * request: scanning it at its exec takes up to a second (on the first run
 * of a build), and its first requests would be missed. */
static const char *const known_browsers[] = {
	"/usr/lib/chromium/chromium",          /* Debian, Ubuntu .deb */
	"/usr/lib64/chromium-browser/chromium-browser", /* Fedora */
	"/opt/google/chrome/chrome",
	"/opt/microsoft/msedge/msedge",
	"/opt/brave.com/brave/brave",
	"/opt/vivaldi/vivaldi-bin",
};

void executables_attach_known(struct capture *capture)
{
	for (size_t i = 0; i < sizeof(known_browsers) / sizeof(known_browsers[0]); i++) {
		if (access(known_browsers[i], R_OK) == 0)
			attach_file(capture, known_browsers[i], known_browsers[i]);
	}
}

/* Scans the executables of the processes that are targets now. */
void executables_attach_targets(struct capture *capture)
{
	int map = bpf_map__fd(capture->skeleton->maps.target_pids);
	__u32 key;
	__u32 next;
	void *previous = NULL;

	while (bpf_map_get_next_key(map, previous, &next) == 0) {
		executables_attach(capture, (pid_t)next);
		key = next;
		previous = &key;
	}
}

/* Returns whether bytes start like an HTTP/1 request line (an upper-case
 * method and a space), the HTTP/2 preface, or an HTTP/2 frame header with a
 * known frame type (RFC 9113, section 4.1): what a client's first TLS write
 * carries. */
static bool looks_like_http_start(const uint8_t *data, uint32_t length)
{
	uint32_t method = 0;

	while (method < length && method < 16 && data[method] >= 'A' && data[method] <= 'Z')
		method++;
	if (method >= 3 && method < length && data[method] == ' ')
		return true;
	if (length >= 9) {
		uint32_t frame_length = (uint32_t)data[0] << 16 | (uint32_t)data[1] << 8 | data[2];

		return frame_length <= (1u << 24) - 1 && data[3] <= 9;
	}
	return false;
}

static void detach_boringssl(struct capture *capture)
{
	for (size_t i = 0; i < capture->library_count; i++) {
		if (capture->libraries[i].boringssl)
			libraries_destroy_links(&capture->libraries[i]);
	}
}

/* Checks the first egress bytes of each BoringSSL connection. Offsets that
 * are wrong would report garbage: after WRONG_OFFSET_VERDICT connections
 * that do not start like HTTP, and none that does, the probes are detached. */
void executables_check_data(struct capture *capture, const struct ps_data_record *record)
{
	if (record->library != PS_TLS_BORINGSSL || record->direction != PS_DIRECTION_EGRESS ||
	    record->stream_offset != 0 || capture->boringssl_http_starts)
		return;

	if (looks_like_http_start(record->data, record->data_bytes)) {
		capture->boringssl_http_starts++;
		return;
	}
	if (++capture->boringssl_other_starts < WRONG_OFFSET_VERDICT)
		return;
	log_error("the first bytes of %llu BoringSSL connections were not HTTP: the offsets found are taken "
		  "for wrong and the BoringSSL probes are detached (plainsight offsets BINARY shows them)",
		  (unsigned long long)capture->boringssl_other_starts);
	detach_boringssl(capture);
}
