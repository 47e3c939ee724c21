/*
 * Recognises BoringSSL's API functions by the error reports they contain.
 *
 * The rules follow the structure of ssl/ssl_lib.cc, and were checked on the
 * BoringSSL builds in Android 13 (13.0.0+r24), Chromium 156, gRPC's Python
 * module and the Cloud Spanner emulator (docs/BORINGSSL.md):
 *
 *   SSL_write      reports UNINITIALIZED, SSL_HANDSHAKE_FAILURE and
 *                  BAD_LENGTH (Chromium 156), or, in versions without the
 *                  length check (Android 13), UNINITIALIZED,
 *                  SSL_HANDSHAKE_FAILURE and SHOULD_NOT_HAVE_BEEN_CALLED
 *                  (its QUIC check).
 *   ssl_read_impl  reports UNINITIALIZED and SSL_HANDSHAKE_FAILURE but not
 *                  BAD_LENGTH; static, called by SSL_peek, SSL_read (or
 *                  SSL_read's inlined copy of SSL_peek) and SSL_shutdown.
 *   SSL_read       = SSL_peek, then consumes what it copied. Either both
 *                  call ssl_read_impl and SSL_read is the one that also
 *                  calls more (the buffer's DiscardConsumed), or SSL_read
 *                  calls SSL_peek.
 *   SSL_shutdown   reports UNINITIALIZED and APPLICATION_DATA_ON_SHUTDOWN.
 *   SSL_free       has no reports. SSL_new (the only NULL_SSL_CTX report)
 *                  inlines it on its failure paths as a call to ssl_st's
 *                  destructor followed by a call to OPENSSL_free; SSL_free
 *                  is the small function that tests rdi for NULL before
 *                  its first call and makes exactly those two calls, the
 *                  second a call or a tail jmp. In Android 13 and Chromium
 *                  156 it is test rdi, rdi, call ~ssl_st, jmp OPENSSL_free.
 *
 * The rules need the file's bytes as they are on disk. An int3 that an
 * attached uprobe put at a function's first byte would be taken for
 * padding, so that function would start a byte late, and SSL_free would
 * lose its NULL check. boringssl_elf.c maps the file shared for this.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "boringssl_internal.h"

#define MAX_CANDIDATES 8
#define MAX_TRANSFERS 256
/* SSL_free is a NULL check and two calls: 24 bytes in Android 13's
 * libssl.so, 34 in Chromium 156. The bound leaves room for padding and
 * frame pointer code. */
#define SSL_FREE_MAX_BYTES 96

const char *reason_code_name(int reason)
{
	switch (reason) {
	case ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED:
		return "SHOULD_NOT_HAVE_BEEN_CALLED";
	case SSL_R_BAD_LENGTH:
		return "BAD_LENGTH";
	case SSL_R_NULL_SSL_CTX:
		return "NULL_SSL_CTX";
	case SSL_R_SSL_HANDSHAKE_FAILURE:
		return "SSL_HANDSHAKE_FAILURE";
	case SSL_R_UNINITIALIZED:
		return "UNINITIALIZED";
	case SSL_R_APPLICATION_DATA_ON_SHUTDOWN:
		return "APPLICATION_DATA_ON_SHUTDOWN";
	default:
		return NULL;
	}
}

/* ---- grouping sites by function ---- */

static void add_reason(struct site_function *function, const struct error_site *site)
{
	size_t i;

	function->site_count++;
	for (i = 0; i < function->reason_count; i++) {
		if (function->reasons[i] == site->reason)
			return;
	}
	if (function->reason_count == FUNCTION_MAX_REASONS)
		return;
	function->reasons[function->reason_count] = site->reason;
	function->lines[function->reason_count] = site->line;
	function->reason_count++;
}

static int group_sites(struct boringssl_analysis *analysis)
{
	const struct site_scan *scan = &analysis->scan;
	struct site_function *function = NULL;
	uint64_t start, end;
	size_t i;

	analysis->functions = calloc(scan->count, sizeof(*analysis->functions));
	if (!analysis->functions)
		return -ENOMEM;

	/* Sites are sorted by address and functions do not interleave, so the
	 * sites of one function are consecutive. */
	for (i = 0; i < scan->count; i++) {
		if (code_map_function(&analysis->map, scan->sites[i].vaddr, &start, &end)) {
			analysis->unplaced_sites++;
			continue;
		}
		if (!function || function->start != start) {
			function = &analysis->functions[analysis->function_count++];
			function->start = start;
			function->end = end;
		}
		add_reason(function, &scan->sites[i]);
	}
	return 0;
}

static bool has_reason(const struct site_function *function, int reason)
{
	size_t i;

	for (i = 0; i < function->reason_count; i++) {
		if (function->reasons[i] == reason)
			return true;
	}
	return false;
}

static const struct site_function *function_at(const struct boringssl_analysis *analysis, uint64_t start)
{
	size_t i;

	for (i = 0; i < analysis->function_count; i++) {
		if (analysis->functions[i].start == start)
			return &analysis->functions[i];
	}
	return NULL;
}

__attribute__((format(printf, 4, 5))) static size_t appendf(char *out, size_t size, size_t used,
								 const char *format, ...)
{
	va_list args;
	int written;

	if (used >= size)
		return used;
	va_start(args, format);
	written = vsnprintf(out + used, size - used, format, args);
	va_end(args);
	if (written < 0)
		return used;
	return (size_t)written < size - used ? used + written : size;
}

/* Writes "66, 226 (lines 962, 967)": the function's reasons and the
 * ssl_lib.cc line of the first report of each. */
static void format_reasons(const struct site_function *function, char *out, size_t size)
{
	bool any_line = false;
	size_t used = 0, i;

	out[0] = '\0';
	for (i = 0; i < function->reason_count; i++)
		used = appendf(out, size, used, "%s%d", i ? ", " : "", function->reasons[i]);
	for (i = 0; i < function->reason_count; i++) {
		if (function->lines[i] < 0)
			continue;
		used = appendf(out, size, used, "%s%d", any_line ? ", " : " (lines ", function->lines[i]);
		any_line = true;
	}
	if (any_line)
		appendf(out, size, used, ")");
}

static void set_function(const struct elf_image *image, struct tls_function *function, uint64_t vaddr,
			 const char *evidence)
{
	uint64_t offset;

	if (elf_image_file_offset(image, vaddr, &offset)) {
		snprintf(function->evidence, sizeof(function->evidence),
			 "candidate at 0x%" PRIx64 " is not in a file-backed segment", vaddr);
		return;
	}
	function->vaddr = vaddr;
	function->offset = offset;
	snprintf(function->evidence, sizeof(function->evidence), "%s", evidence);
}

/* ---- SSL_write and SSL_shutdown: by their reasons alone ---- */

/* Returns how many functions report all the given reasons, and the first. */
static size_t find_with_reasons(const struct boringssl_analysis *analysis, const int *reasons,
				size_t reason_count, const struct site_function **found)
{
	size_t i, j, matches = 0;
	bool all;

	*found = NULL;
	for (i = 0; i < analysis->function_count; i++) {
		all = true;
		for (j = 0; j < reason_count && all; j++)
			all = has_reason(&analysis->functions[i], reasons[j]);
		if (!all)
			continue;
		if (!*found)
			*found = &analysis->functions[i];
		matches++;
	}
	return matches;
}

static void identify_by_reasons(const struct boringssl_analysis *analysis, const struct elf_image *image,
				const char *name, const int *reasons, size_t reason_count,
				struct tls_function *out)
{
	char listed[160], reported[120], evidence[TLS_EVIDENCE_BYTES];
	const struct site_function *found;
	size_t matches, used = 0, i;

	for (i = 0; i < reason_count; i++)
		used = appendf(listed, sizeof(listed), used, "%s%s", i ? ", " : "",
			       reason_code_name(reasons[i]));

	matches = find_with_reasons(analysis, reasons, reason_count, &found);
	if (matches != 1) {
		snprintf(out->evidence, sizeof(out->evidence),
			 "%zu functions report all of %s, expected one", matches, listed);
		log_debug("boringssl: %s: %s", name, out->evidence);
		return;
	}

	format_reasons(found, reported, sizeof(reported));
	used = appendf(evidence, sizeof(evidence), 0, "the only function reporting %s", listed);
	appendf(evidence, sizeof(evidence), used, "; its reasons: %s", reported);
	set_function(image, out, found->start, evidence);
}

static void identify_ssl_write(const struct boringssl_analysis *analysis, const struct elf_image *image,
			       struct tls_function *out)
{
	static const int with_length_check[] = { SSL_R_UNINITIALIZED, SSL_R_SSL_HANDSHAKE_FAILURE,
						 SSL_R_BAD_LENGTH };
	static const int with_quic_check[] = { SSL_R_UNINITIALIZED, SSL_R_SSL_HANDSHAKE_FAILURE,
					       ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED };
	const struct site_function *found;

	if (find_with_reasons(analysis, with_length_check, 3, &found) > 0) {
		identify_by_reasons(analysis, image, "SSL_write", with_length_check, 3, out);
		return;
	}

	/* Without BAD_LENGTH, an ssl_read_impl inlined into SSL_peek would
	 * match too; then no single function matches and nothing is chosen. */
	identify_by_reasons(analysis, image, "SSL_write", with_quic_check, 3, out);
}

/* ---- SSL_read ---- */

/* Returns the number of distinct call and tail-call targets of a function,
 * not counting the excluded ones. */
static int count_other_targets(const struct code_map *map, uint64_t start, uint64_t end,
			       const uint64_t *excluded, size_t excluded_count)
{
	uint64_t targets[MAX_TRANSFERS];
	int count, distinct = 0, i, j;
	size_t k;
	bool skip;

	count = code_map_transfers(map, start, end, targets, MAX_TRANSFERS);
	if (count < 0)
		return count;
	if (count > MAX_TRANSFERS)
		count = MAX_TRANSFERS;

	for (i = 0; i < count; i++) {
		skip = false;
		for (k = 0; k < excluded_count && !skip; k++)
			skip = targets[i] == excluded[k];
		for (j = 0; j < i && !skip; j++)
			skip = targets[j] == targets[i];
		distinct += !skip;
	}
	return distinct;
}

struct candidate_list {
	uint64_t starts[MAX_CANDIDATES];
	uint64_t ends[MAX_CANDIDATES];
	size_t count; /* may exceed MAX_CANDIDATES; only the first are kept */
};

static void add_candidate(struct candidate_list *list, uint64_t start, uint64_t end)
{
	size_t i;

	for (i = 0; i < list->count && i < MAX_CANDIDATES; i++) {
		if (list->starts[i] == start)
			return;
	}
	if (list->count < MAX_CANDIDATES) {
		list->starts[list->count] = start;
		list->ends[list->count] = end;
	}
	list->count++;
}

/* Adds the functions that call target from inside the swept code, except
 * those listed in excluded. */
static void add_callers(const struct boringssl_analysis *analysis, uint64_t target,
			const uint64_t *excluded, size_t excluded_count, struct candidate_list *list)
{
	uint64_t callers[64], start, end;
	size_t count, i, k;
	bool skip;

	count = code_map_callers(&analysis->map, target, callers, 64);
	for (i = 0; i < count && i < 64; i++) {
		if (code_map_function(&analysis->map, callers[i], &start, &end))
			continue;
		skip = false;
		for (k = 0; k < excluded_count && !skip; k++)
			skip = start == excluded[k];
		if (!skip)
			add_candidate(list, start, end);
	}
}

/* The functions other than SSL_write that contain ssl_read_impl's
 * reports. There are several when the compiler inlined it into SSL_peek
 * and SSL_read. */
static size_t find_read_impls(const struct boringssl_analysis *analysis, uint64_t ssl_write,
			      uint64_t *starts, size_t capacity)
{
	const struct site_function *function;
	size_t i, found = 0;

	for (i = 0; i < analysis->function_count; i++) {
		function = &analysis->functions[i];
		if (function->start == ssl_write || !has_reason(function, SSL_R_UNINITIALIZED) ||
		    !has_reason(function, SSL_R_SSL_HANDSHAKE_FAILURE) ||
		    has_reason(function, SSL_R_BAD_LENGTH) ||
		    has_reason(function, SSL_R_APPLICATION_DATA_ON_SHUTDOWN))
			continue;
		if (found < capacity)
			starts[found] = function->start;
		found++;
	}
	return found;
}

/* SSL_peek and SSL_read: functions that call a read implementation, or
 * contain one together with the QUIC check of SSL_peek. */
static void find_readers(const struct boringssl_analysis *analysis, const uint64_t *impls, size_t impl_count,
			 const uint64_t *excluded, size_t excluded_count, struct candidate_list *readers)
{
	const struct site_function *function;
	uint64_t skip[MAX_CANDIDATES + 4];
	size_t skip_count = 0, i;

	for (i = 0; i < excluded_count && skip_count < MAX_CANDIDATES + 4; i++)
		skip[skip_count++] = excluded[i];
	for (i = 0; i < impl_count && skip_count < MAX_CANDIDATES + 4; i++)
		skip[skip_count++] = impls[i];

	for (i = 0; i < impl_count; i++) {
		function = function_at(analysis, impls[i]);
		if (function && has_reason(function, ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED))
			add_candidate(readers, function->start, function->end);
		add_callers(analysis, impls[i], skip, skip_count, readers);
	}
}

/* SSL_read and SSL_peek both call the read implementation: SSL_read is
 * the one that also consumes what it copied, so it calls more functions
 * (SSLBuffer::DiscardConsumed in Chromium 156 and Android 13). */
static void choose_between_readers(const struct boringssl_analysis *analysis, const struct elf_image *image,
				   const struct candidate_list *readers, const uint64_t *impls,
				   size_t impl_count, struct tls_function *out)
{
	uint64_t excluded[MAX_CANDIDATES + 1];
	char evidence[TLS_EVIDENCE_BYTES];
	int calls[2], chosen;

	memcpy(excluded, impls, impl_count * sizeof(*impls));
	excluded[impl_count] = analysis->scan.error_function;
	for (int i = 0; i < 2; i++)
		calls[i] = count_other_targets(&analysis->map, readers->starts[i], readers->ends[i], excluded,
					       impl_count + 1);

	if (calls[0] == calls[1] || calls[0] < 0 || calls[1] < 0) {
		snprintf(out->evidence, sizeof(out->evidence),
			 "two functions call the read implementation at 0x%" PRIx64 " and make %d and %d other calls; cannot tell SSL_read from SSL_peek",
			 impls[0], calls[0], calls[1]);
		return;
	}

	chosen = calls[1] > calls[0];
	snprintf(evidence, sizeof(evidence),
		 "of the two functions that call the read implementation at 0x%" PRIx64 " (SSL_read, SSL_peek), the one that also consumes the data: %d other calls against %d",
		 impls[0], calls[chosen], calls[!chosen]);
	set_function(image, out, readers->starts[chosen], evidence);
}

/* One function calls the read implementation: it is SSL_peek if another
 * function calls it (SSL_read not inlining SSL_peek, as in the Cloud
 * Spanner emulator's build), else SSL_read with SSL_peek inlined and no
 * separate copy of SSL_peek kept. */
static void choose_single_reader(const struct boringssl_analysis *analysis, const struct elf_image *image,
				 uint64_t reader, uint64_t impl, struct tls_function *out)
{
	struct candidate_list wrappers = { .count = 0 };
	char evidence[TLS_EVIDENCE_BYTES];

	add_callers(analysis, reader, &reader, 1, &wrappers);
	if (wrappers.count == 1) {
		snprintf(evidence, sizeof(evidence),
			 "calls SSL_peek at 0x%" PRIx64 ", the only function that calls the read implementation at 0x%" PRIx64,
			 reader, impl);
		set_function(image, out, wrappers.starts[0], evidence);
	} else if (wrappers.count == 0) {
		/* NOTE: none of the four builds checked takes this branch, so an
		 * SSL_peek whose caller lies outside the swept code would be
		 * taken for SSL_read here. */
		snprintf(evidence, sizeof(evidence),
			 "the only function that calls the read implementation at 0x%" PRIx64 ", and no function near it calls it as SSL_read would call SSL_peek",
			 impl);
		set_function(image, out, reader, evidence);
	} else {
		snprintf(out->evidence, sizeof(out->evidence),
			 "%zu functions call the only reader at 0x%" PRIx64 "; cannot tell which is SSL_read",
			 wrappers.count, reader);
	}
}

static void identify_ssl_read(struct boringssl_analysis *analysis, const struct elf_image *image,
			      const struct tls_offsets *found, struct tls_function *out)
{
	struct candidate_list readers = { .count = 0 };
	uint64_t impls[MAX_CANDIDATES], excluded[2];
	size_t impl_count, excluded_count = 0;

	impl_count = find_read_impls(analysis, found->ssl_write.vaddr, impls, MAX_CANDIDATES);
	if (impl_count == 0 || impl_count > MAX_CANDIDATES) {
		snprintf(out->evidence, sizeof(out->evidence),
			 "%zu functions other than SSL_write report UNINITIALIZED and SSL_HANDSHAKE_FAILURE without BAD_LENGTH (ssl_read_impl)",
			 impl_count);
		return;
	}
	analysis->read_impl = impls[0];

	/* SSL_write and SSL_shutdown are not readers, although SSL_shutdown
	 * calls ssl_read_impl. */
	if (found->ssl_write.vaddr)
		excluded[excluded_count++] = found->ssl_write.vaddr;
	if (found->ssl_shutdown.vaddr)
		excluded[excluded_count++] = found->ssl_shutdown.vaddr;
	find_readers(analysis, impls, impl_count, excluded, excluded_count, &readers);

	if (readers.count == 2)
		choose_between_readers(analysis, image, &readers, impls, impl_count, out);
	else if (readers.count == 1)
		choose_single_reader(analysis, image, readers.starts[0], impls[0], out);
	else
		snprintf(out->evidence, sizeof(out->evidence),
			 "%zu functions call the read implementation at 0x%" PRIx64 ", expected SSL_read and SSL_peek",
			 readers.count, impls[0]);
}

/* ---- SSL_free ---- */

/* Returns whether [start, end) checks its first argument for NULL and then
 * makes exactly a call to destructor and a call or tail jump to
 * free_function. */
static bool looks_like_delete(const struct code_map *map, uint64_t start, uint64_t end,
			      uint64_t destructor, uint64_t free_function)
{
	uint64_t targets[4], vaddr = start;
	const uint8_t *code;
	struct x86_insn insn;
	size_t available;
	bool null_check = false;
	int count;

	if (end - start > SSL_FREE_MAX_BYTES)
		return false;
	count = code_map_transfers(map, start, end, targets, 4);
	if (count != 2 || targets[0] != destructor || targets[1] != free_function)
		return false;

	/* The test of rdi must come before the destructor call. */
	while (vaddr < end) {
		code = elf_image_bytes(map->image, vaddr, &available);
		if (!code || x86_decode(code, available, vaddr, &insn))
			return false;
		if (insn.kind == X86_CALL)
			break;
		if (insn.kind == X86_TEST_SELF && insn.reg == X86_RDI && insn.operand_bytes == 8)
			null_check = true;
		vaddr += insn.length;
	}
	return null_check;
}

static void identify_ssl_free(struct boringssl_analysis *analysis, const struct elf_image *image,
			      struct tls_function *out)
{
	static const int new_reasons[] = { SSL_R_NULL_SSL_CTX };
	struct candidate_list deletes = { .count = 0 };
	uint64_t transfers[MAX_TRANSFERS], callers[64], start, end;
	const struct site_function *ssl_new;
	uint64_t pair_destructor = 0;
	char evidence[TLS_EVIDENCE_BYTES];
	size_t caller_count, i, j;
	int count;

	if (find_with_reasons(analysis, new_reasons, 1, &ssl_new) != 1) {
		snprintf(out->evidence, sizeof(out->evidence),
			 "SSL_new (the only NULL_SSL_CTX report) not found, so neither is SSL_free");
		return;
	}
	analysis->ssl_new = ssl_new->start;

	/* Each call in SSL_new followed by another is a possible (destructor,
	 * OPENSSL_free) pair; a small function that makes exactly that pair of
	 * calls after a NULL check is a Delete<T>, and for T = SSL it is
	 * SSL_free. */
	count = code_map_transfers(&analysis->map, ssl_new->start, ssl_new->end, transfers, MAX_TRANSFERS);
	if (count > MAX_TRANSFERS)
		count = MAX_TRANSFERS;
	for (i = 0; count > 1 && i + 1 < (size_t)count; i++) {
		if (transfers[i] == transfers[i + 1])
			continue;
		caller_count = code_map_callers(&analysis->map, transfers[i], callers, 64);
		for (j = 0; j < caller_count && j < 64; j++) {
			if (code_map_function(&analysis->map, callers[j], &start, &end) ||
			    start == ssl_new->start)
				continue;
			if (looks_like_delete(&analysis->map, start, end, transfers[i], transfers[i + 1])) {
				add_candidate(&deletes, start, end);
				pair_destructor = transfers[i];
			}
		}
	}

	if (deletes.count != 1) {
		snprintf(out->evidence, sizeof(out->evidence),
			 "%zu functions free an object the way SSL_new at 0x%" PRIx64 " frees its SSL on failure, expected one",
			 deletes.count, ssl_new->start);
		return;
	}
	analysis->ssl_destructor = pair_destructor;
	snprintf(evidence, sizeof(evidence),
		 "checks for NULL, then makes the same two calls (destructor 0x%" PRIx64 ", then free) that SSL_new at 0x%" PRIx64 " makes to free its SSL on failure",
		 pair_destructor, ssl_new->start);
	set_function(image, out, deletes.starts[0], evidence);
}

/* ---- all together ---- */

static void describe_missing(const struct tls_offsets *out, char *reason, size_t reason_size)
{
	if (!out->ssl_write.vaddr && !out->ssl_read.vaddr)
		snprintf(reason, reason_size, "SSL_write: %s; SSL_read: %s", out->ssl_write.evidence,
			 out->ssl_read.evidence);
	else if (!out->ssl_write.vaddr)
		snprintf(reason, reason_size, "SSL_write: %s", out->ssl_write.evidence);
	else
		snprintf(reason, reason_size, "SSL_read: %s", out->ssl_read.evidence);
}

static void set_all_evidence(struct tls_offsets *out, const char *reason)
{
	struct tls_function *function;
	size_t i;

	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		function = tls_role_function(out, i);
		snprintf(function->evidence, sizeof(function->evidence), "%s", reason);
	}
}

int analysis_run(struct boringssl_analysis *analysis, const struct elf_image *image,
		 struct tls_offsets *out, char *reason, size_t reason_size)
{
	static const int shutdown_reasons[] = { SSL_R_UNINITIALIZED, SSL_R_APPLICATION_DATA_ON_SHUTDOWN };
	uint64_t *addresses = NULL;
	size_t i;
	int err;

	memset(analysis, 0, sizeof(*analysis));

	err = sites_scan(image, &analysis->scan, reason, reason_size);
	if (err) {
		set_all_evidence(out, reason);
		return err;
	}

	/* An allocation failure goes through the error path below, which sets
	 * the reason and the evidence that the caller reports with -ENOMEM. */
	addresses = calloc(analysis->scan.count, sizeof(*addresses));
	if (!addresses) {
		err = -ENOMEM;
	} else {
		for (i = 0; i < analysis->scan.count; i++)
			addresses[i] = analysis->scan.sites[i].vaddr;
		err = code_map_build(&analysis->map, image, addresses, analysis->scan.count);
		free(addresses);
	}
	if (!err)
		err = group_sites(analysis);
	if (err) {
		snprintf(reason, reason_size, "analysing the code failed: %s", strerror(-err));
		set_all_evidence(out, reason);
		return err;
	}

	identify_ssl_write(analysis, image, &out->ssl_write);
	identify_by_reasons(analysis, image, "SSL_shutdown", shutdown_reasons, 2, &out->ssl_shutdown);
	identify_ssl_read(analysis, image, out, &out->ssl_read);
	identify_ssl_free(analysis, image, &out->ssl_free);

	if (!out->ssl_write.vaddr || !out->ssl_read.vaddr) {
		describe_missing(out, reason, reason_size);
		return -ENOENT;
	}
	return 0;
}

void analysis_free(struct boringssl_analysis *analysis)
{
	sites_free(&analysis->scan);
	code_map_free(&analysis->map);
	free(analysis->functions);
	memset(analysis, 0, sizeof(*analysis));
}
