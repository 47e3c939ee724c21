/*
 * Finding OpenSSL libraries and attaching the uprobes to them.
 *
 * A uprobe belongs to a file (its inode), not to a process, so each distinct
 * libssl file is attached once and then covers every process that maps it,
 * containers included. Files come from the dynamic loader's cache, the
 * standard library directories, the maps of running processes (through
 * /proc/PID/root, which reaches into containers), and the openat hints that
 * the BPF side sends when a captured process opens a libssl file.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/libbpf.h>

#include "../common/log.h"
#include "internal.h"

/* Directories searched besides the loader cache, for x86-64 Debian and the
 * layouts of other distributions. */
static const char *const library_directories[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", "/usr/local/lib", "/usr/local/lib64",
};

struct probe_spec {
	const char *function;
	bool return_probe;
	struct bpf_program *(*program)(struct tls_capture_bpf *skeleton);
};

static struct bpf_program *write_enter(struct tls_capture_bpf *s) { return s->progs.ssl_write_enter; }
static struct bpf_program *write_ex_enter(struct tls_capture_bpf *s) { return s->progs.ssl_write_ex_enter; }
static struct bpf_program *read_enter(struct tls_capture_bpf *s) { return s->progs.ssl_read_enter; }
static struct bpf_program *read_ex_enter(struct tls_capture_bpf *s) { return s->progs.ssl_read_ex_enter; }
static struct bpf_program *call_exit(struct tls_capture_bpf *s) { return s->progs.tls_call_exit; }
static struct bpf_program *free_enter(struct tls_capture_bpf *s) { return s->progs.ssl_free_enter; }

/* The _ex functions exist from OpenSSL 1.1.1 on; Python's ssl module calls
 * them, curl 7.88 calls SSL_write and SSL_read. SSL_write must exist for a
 * file to count as OpenSSL (NSS's libssl3.so does not export it). */
static const struct probe_spec openssl_probes[] = {
	{ "SSL_write", false, write_enter },
	{ "SSL_write", true, call_exit },
	{ "SSL_read", false, read_enter },
	{ "SSL_read", true, call_exit },
	{ "SSL_write_ex", false, write_ex_enter },
	{ "SSL_write_ex", true, call_exit },
	{ "SSL_read_ex", false, read_ex_enter },
	{ "SSL_read_ex", true, call_exit },
	{ "SSL_free", false, free_enter },
};

#define REQUIRED_PROBES 4 /* SSL_write and SSL_read, entry and return */

static struct attached_library *find_library(struct capture *capture, dev_t device, ino_t inode)
{
	for (size_t i = 0; i < capture->library_count; i++) {
		if (capture->libraries[i].device == device && capture->libraries[i].inode == inode)
			return &capture->libraries[i];
	}
	return NULL;
}

static struct attached_library *add_library(struct capture *capture, dev_t device, ino_t inode)
{
	struct attached_library *library;

	if (capture->library_count == capture->library_capacity) {
		size_t capacity = capture->library_capacity ? capture->library_capacity * 2 : 16;
		struct attached_library *grown = realloc(capture->libraries, capacity * sizeof(*grown));

		if (!grown)
			return NULL;
		capture->libraries = grown;
		capture->library_capacity = capacity;
	}
	library = &capture->libraries[capture->library_count++];
	memset(library, 0, sizeof(*library));
	library->device = device;
	library->inode = inode;
	return library;
}

static void destroy_links(struct attached_library *library)
{
	for (int i = 0; i < library->link_count; i++)
		bpf_link__destroy(library->links[i]);
	library->link_count = 0;
}

static int attach_probe(struct capture *capture, struct attached_library *library, const char *path,
			const struct probe_spec *spec)
{
	LIBBPF_OPTS(bpf_uprobe_opts, options, .func_name = spec->function, .retprobe = spec->return_probe);
	struct bpf_link *link;

	link = bpf_program__attach_uprobe_opts(spec->program(capture->skeleton), -1, path, 0, &options);
	if (!link)
		return -errno;
	library->links[library->link_count++] = link;
	return 0;
}

/* Attaches the OpenSSL probes to the library at path unless its file is
 * attached already. Returns 1 when newly attached, 0 when known or not
 * OpenSSL, or a negative errno. */
int libraries_attach_file(struct capture *capture, const char *path)
{
	struct attached_library *library;
	struct stat status;
	int error = 0;

	if (stat(path, &status) || !S_ISREG(status.st_mode))
		return 0;
	if (find_library(capture, status.st_dev, status.st_ino))
		return 0;

	library = add_library(capture, status.st_dev, status.st_ino);
	if (!library)
		return -ENOMEM;

	/* libbpf resolves each function name in the file's symbol table; a
	 * missing optional function only loses that function. */
	for (size_t i = 0; i < sizeof(openssl_probes) / sizeof(openssl_probes[0]); i++) {
		error = attach_probe(capture, library, path, &openssl_probes[i]);
		if (error && i < REQUIRED_PROBES)
			break;
		if (error)
			log_debug("%s: no %s probe: %s", path, openssl_probes[i].function, strerror(-error));
		error = 0;
	}

	if (error) {
		log_debug("%s: not attached, SSL_write or SSL_read missing: %s", path, strerror(-error));
		destroy_links(library);
		capture->stats.libraries_failed++;
		/* Kept in the table so that the file is not tried again. */
		return 0;
	}

	capture->stats.libraries_attached++;
	log_info("attached to OpenSSL library %s (%d probes)", path, library->link_count);
	return 1;
}

static bool is_libssl_name(const char *path)
{
	const char *name = strrchr(path, '/');

	name = name ? name + 1 : path;
	return strncmp(name, "libssl.so", strlen("libssl.so")) == 0;
}

/* Reads the loader cache through `ldconfig -p`, whose lines end in
 * "=> /path/to/libssl.so.3". */
static void scan_loader_cache(struct capture *capture)
{
	char line[1024];
	FILE *pipe = popen("/sbin/ldconfig -p 2>/dev/null", "r");

	if (!pipe) {
		log_warn("cannot read the loader cache with ldconfig: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), pipe)) {
		char *arrow = strstr(line, "=> ");
		char *path;

		if (!arrow)
			continue;
		path = arrow + 3;
		path[strcspn(path, "\n")] = '\0';
		if (is_libssl_name(path))
			libraries_attach_file(capture, path);
	}
	pclose(pipe);
}

void libraries_scan_system(struct capture *capture)
{
	char pattern[256];
	glob_t matches;

	scan_loader_cache(capture);

	for (size_t i = 0; i < sizeof(library_directories) / sizeof(library_directories[0]); i++) {
		snprintf(pattern, sizeof(pattern), "%s/libssl.so*", library_directories[i]);
		if (glob(pattern, 0, NULL, &matches) != 0)
			continue;
		for (size_t j = 0; j < matches.gl_pathc; j++)
			libraries_attach_file(capture, matches.gl_pathv[j]);
		globfree(&matches);
	}
}

/* Attaches to every libssl file that process pid maps, reached through the
 * process's own root so that paths inside containers resolve. */
static void scan_process_maps(struct capture *capture, const char *pid)
{
	char path[PATH_MAX];
	char line[PATH_MAX + 128];
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	maps = fopen(path, "re");
	if (!maps)
		return;

	while (fgets(line, sizeof(line), maps)) {
		char *file = strchr(line, '/');

		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (!is_libssl_name(file))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/root%s", pid, file);
		libraries_attach_file(capture, path);
	}
	fclose(maps);
}

void libraries_scan_processes(struct capture *capture)
{
	DIR *proc = opendir("/proc");
	struct dirent *entry;

	if (!proc) {
		log_warn("cannot list /proc: %s", strerror(errno));
		return;
	}
	while ((entry = readdir(proc))) {
		if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9')
			scan_process_maps(capture, entry->d_name);
	}
	closedir(proc);
}

void libraries_detach_all(struct capture *capture)
{
	for (size_t i = 0; i < capture->library_count; i++)
		destroy_links(&capture->libraries[i]);
	free(capture->libraries);
	capture->libraries = NULL;
	capture->library_count = 0;
	capture->library_capacity = 0;
}
