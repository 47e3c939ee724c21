/*
 * Finding SSL_write, SSL_read, SSL_free and SSL_shutdown in an x86-64 ELF
 * file that links BoringSSL statically and has no symbols for them, as
 * Chromium, Chrome and Electron ship. Exported symbols are used when the
 * file has them.
 *
 * Without symbols, the finder locates the error reports that BoringSSL's
 * ssl/ssl_lib.cc makes with OPENSSL_PUT_ERROR, groups them by the function
 * that contains them, and recognises each function by the set of reason
 * codes it reports. docs/BORINGSSL.md describes the method, the binaries it
 * was checked on, and its limits.
 *
 * Offsets are file offsets, as libbpf's bpf_program__attach_uprobe_opts()
 * takes them in func_offset. Everything here reads the file through a
 * read-only mapping and needs no privileges beyond reading it.
 */
#ifndef PLAINSIGHT_BORINGSSL_H
#define PLAINSIGHT_BORINGSSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TLS_EVIDENCE_BYTES 256
#define TLS_BUILD_ID_BYTES 129 /* 64 bytes of NT_GNU_BUILD_ID in hex, and NUL */
#define TLS_METHOD_BYTES 32

/* The location of one function, and the evidence for it. */
struct tls_function {
	uint64_t offset; /* file offset for the uprobe; 0 = not found */
	uint64_t vaddr;  /* virtual address in the file's own layout */
	char evidence[TLS_EVIDENCE_BYTES]; /* how it was decided, or why it was not found */
};

struct tls_offsets {
	struct tls_function ssl_write;
	struct tls_function ssl_read;
	struct tls_function ssl_free;     /* ends a connection's state; may be missing */
	struct tls_function ssl_shutdown; /* sends close_notify; may be missing */
	char method[TLS_METHOD_BYTES];    /* "symbols" or "error sites" */
	char build_id[TLS_BUILD_ID_BYTES]; /* hex; empty when the file has none */
};

/*
 * Finds the functions in the ELF file at path. With ignore_symbols, the
 * symbol tables are not consulted, which is how the error-site analysis is
 * tested on libraries that do have symbols.
 *
 * Returns 0 when SSL_write and SSL_read were both found. SSL_free and
 * SSL_shutdown may still be missing, and then their evidence gives the
 * reason. Returns
 * -ENOENT with a reason when either is missing or the candidates are
 * ambiguous, -ENOEXEC when the file is not a complete x86-64 ELF file, and
 * another negative errno when it cannot be read. out is filled as far as
 * the analysis got in every case.
 */
int boringssl_find_offsets(const char *path, bool ignore_symbols, struct tls_offsets *out,
			   char *reason, size_t reason_size);

/*
 * Same as boringssl_find_offsets(), but looks the result up first in
 * cache_dir under the file's build-id and stores it there after a scan, so
 * that a large binary is scanned once per build. Results that are -ENOENT
 * are cached too. A file without a build-id is scanned every time. A cache
 * that cannot be written is logged and does not fail the call. cache_dir is
 * created if missing; NULL means no cache.
 */
int boringssl_find_offsets_cached(const char *path, const char *cache_dir, bool ignore_symbols,
				  struct tls_offsets *out, char *reason, size_t reason_size);

/*
 * Prints for people what the finder reads from a file: the symbols, every
 * function with BoringSSL error reports and their reason codes, and which
 * function was chosen for each role and why, with file offsets and virtual
 * addresses. Returns what boringssl_find_offsets() returns.
 */
int boringssl_describe(FILE *out, const char *path, bool ignore_symbols);

#endif
