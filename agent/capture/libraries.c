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
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "../common/log.h"
#include "internal.h"

/* Directories searched besides the loader cache: those of x86-64 Debian and
 * other distributions, and those where browsers install their own copies
 * (Debian's firefox-esr ships libssl3.so in /usr/lib/firefox-esr). */
static const char *const library_directories[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", "/usr/local/lib", "/usr/local/lib64",
	"/usr/lib/firefox*", "/usr/lib64/firefox*", "/opt/firefox*",
};

struct probe_spec {
	const char *function;
	bool return_probe;
	bool required; /* without it the file is not this library */
	struct bpf_program *(*program)(struct tls_capture_bpf *skeleton);
};

#define PROGRAM_GETTER(name)                                                   \
	static struct bpf_program *name(struct tls_capture_bpf *skeleton)       \
	{                                                                      \
		return skeleton->progs.name;                                   \
	}

PROGRAM_GETTER(ssl_write_enter)
PROGRAM_GETTER(ssl_write_ex_enter)
PROGRAM_GETTER(ssl_read_enter)
PROGRAM_GETTER(ssl_read_ex_enter)
PROGRAM_GETTER(tls_call_exit)
PROGRAM_GETTER(tls_call_exit_long)
PROGRAM_GETTER(ssl_free_enter)
PROGRAM_GETTER(nspr_write_enter)
PROGRAM_GETTER(nspr_read_enter)
PROGRAM_GETTER(nspr_recv_enter)
PROGRAM_GETTER(nspr_close_enter)
PROGRAM_GETTER(nss_import_fd_exit)
PROGRAM_GETTER(gnutls_send_enter)
PROGRAM_GETTER(gnutls_recv_enter)
PROGRAM_GETTER(gnutls_deinit_enter)

/* The _ex functions exist from OpenSSL 1.1.1 on; Python's ssl module calls
 * them, curl 7.88 calls SSL_write and SSL_read. NSS's libssl3.so shares the
 * libssl prefix but exports no SSL_write, so it never passes as OpenSSL. */
static const struct probe_spec openssl_probes[] = {
	{ "SSL_write", false, true, ssl_write_enter },
	{ "SSL_write", true, true, tls_call_exit },
	{ "SSL_read", false, true, ssl_read_enter },
	{ "SSL_read", true, true, tls_call_exit },
	{ "SSL_write_ex", false, false, ssl_write_ex_enter },
	{ "SSL_write_ex", true, false, tls_call_exit },
	{ "SSL_read_ex", false, false, ssl_read_ex_enter },
	{ "SSL_read_ex", true, false, tls_call_exit },
	{ "SSL_free", false, false, ssl_free_enter },
	{ NULL },
};

/* NSPR 4.x: Firefox calls PR_Write and PR_Read on its TLS sockets; PR_Send
 * and PR_Recv take the same first three arguments. PR_Recv gets its own entry
 * probe because a PR_Recv with PR_MSG_PEEK in its flags is not captured. */
static const struct probe_spec nspr_probes[] = {
	{ "PR_Write", false, true, nspr_write_enter },
	{ "PR_Write", true, true, tls_call_exit },
	{ "PR_Read", false, true, nspr_read_enter },
	{ "PR_Read", true, true, tls_call_exit },
	{ "PR_Send", false, false, nspr_write_enter },
	{ "PR_Send", true, false, tls_call_exit },
	{ "PR_Recv", false, false, nspr_recv_enter },
	{ "PR_Recv", true, false, tls_call_exit },
	{ "PR_Close", false, false, nspr_close_enter },
	{ NULL },
};

/* NSS's libssl3: only which NSPR descriptors carry TLS. */
static const struct probe_spec nss_probes[] = {
	{ "SSL_ImportFD", true, true, nss_import_fd_exit },
	{ NULL },
};

/* GnuTLS 3.x; gnutls_record_send2 appeared in 3.6.3. */
static const struct probe_spec gnutls_probes[] = {
	{ "gnutls_record_send", false, true, gnutls_send_enter },
	{ "gnutls_record_send", true, true, tls_call_exit_long },
	{ "gnutls_record_recv", false, true, gnutls_recv_enter },
	{ "gnutls_record_recv", true, true, tls_call_exit_long },
	{ "gnutls_record_send2", false, false, gnutls_send_enter },
	{ "gnutls_record_send2", true, false, tls_call_exit_long },
	{ "gnutls_deinit", false, false, gnutls_deinit_enter },
	{ NULL },
};

/* A kind of library, recognised by its file name. */
struct library_kind {
	const char *name;        /* for messages */
	const char *file_prefix; /* base name prefix, such as "libssl.so" */
	const struct probe_spec *probes;
};

static const struct library_kind library_kinds[] = {
	{ "OpenSSL", "libssl.so", openssl_probes },
	{ "NSS", "libssl3.so", nss_probes },
	{ "NSPR", "libnspr4.so", nspr_probes },
	{ "GnuTLS", "libgnutls.so", gnutls_probes },
};

#define LIBRARY_KIND_COUNT (sizeof(library_kinds) / sizeof(library_kinds[0]))

struct attached_library *libraries_find(struct capture *capture, dev_t device, ino_t inode)
{
	for (size_t i = 0; i < capture->library_count; i++) {
		if (capture->libraries[i].device == device && capture->libraries[i].inode == inode)
			return &capture->libraries[i];
	}
	return NULL;
}

struct attached_library *libraries_add(struct capture *capture, dev_t device, ino_t inode)
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

void libraries_destroy_links(struct attached_library *library)
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

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Returns the kind of TLS library that the file name indicates, or NULL. */
static const struct library_kind *kind_of(const char *path)
{
	const char *name = base_name(path);

	for (size_t i = 0; i < LIBRARY_KIND_COUNT; i++) {
		if (strncmp(name, library_kinds[i].file_prefix, strlen(library_kinds[i].file_prefix)) == 0)
			return &library_kinds[i];
	}
	return NULL;
}

/* Attaches the probes of the library's kind to the file at path unless the
 * file is attached already. Returns 1 when newly attached, 0 when known or
 * not a TLS library, or a negative errno. */
int libraries_attach_file(struct capture *capture, const char *path)
{
	const struct library_kind *kind = kind_of(path);
	struct attached_library *library;
	struct stat status;
	char held_path[64];
	int error = 0;
	int fd;

	if (!kind)
		return 0;

	/* The file is held open while probes are attached, and reached through
	 * /proc/self/fd, because a path under /proc/PID/root vanishes when that
	 * process exits, which a short-lived client does at any moment. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &status) || !S_ISREG(status.st_mode) ||
	    libraries_find(capture, status.st_dev, status.st_ino)) {
		close(fd);
		return 0;
	}
	snprintf(held_path, sizeof(held_path), "/proc/self/fd/%d", fd);

	library = libraries_add(capture, status.st_dev, status.st_ino);
	if (!library) {
		close(fd);
		return -ENOMEM;
	}

	/* libbpf resolves each function name in the file's symbol table; a
	 * missing optional function only loses that function. */
	for (const struct probe_spec *spec = kind->probes; spec->function; spec++) {
		error = attach_probe(capture, library, held_path, spec);
		if (error && spec->required)
			break;
		if (error)
			log_debug("%s: no %s probe: %s", path, spec->function, strerror(-error));
		error = 0;
	}
	close(fd);

	if (error) {
		log_debug("%s: not attached as %s, a required function is missing: %s", path, kind->name,
			  strerror(-error));
		libraries_destroy_links(library);
		capture->stats.libraries_failed++;
		/* Kept in the table so that the file is not tried again. */
		return 0;
	}

	capture->stats.libraries_attached++;
	log_info("attached to %s library %s (%d probes)", kind->name, path, library->link_count);
	return 1;
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
		for (size_t k = 0; k < LIBRARY_KIND_COUNT; k++) {
			snprintf(pattern, sizeof(pattern), "%s/%s*", library_directories[i],
				 library_kinds[k].file_prefix);
			if (glob(pattern, 0, NULL, &matches) != 0)
				continue;
			for (size_t j = 0; j < matches.gl_pathc; j++)
				libraries_attach_file(capture, matches.gl_pathv[j]);
			globfree(&matches);
		}
	}
}

/* Attaches to every TLS library file that process pid maps, reached through
 * the process's own root so that paths inside containers resolve. */
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
		if (!kind_of(file))
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
		libraries_destroy_links(&capture->libraries[i]);
	free(capture->libraries);
	capture->libraries = NULL;
	capture->library_count = 0;
	capture->library_capacity = 0;
}
