/*
 * Finds BoringSSL's error reports from ssl/ssl_lib.cc in machine code.
 *
 * OPENSSL_PUT_ERROR(SSL, reason) expands to
 * ERR_put_error(ERR_LIB_SSL, 0, reason, __FILE__, __LINE__). The file name
 * is therefore a string in the read-only data: "src/ssl/ssl_lib.cc" in
 * Android's build, "../../third_party/boringssl/src/ssl/ssl_lib.cc" in
 * Chromium's. Each report loads its address with a RIP-relative lea into
 * rcx, the fourth argument register, next to immediate loads of 16 into
 * edi and of the reason code into edx. This file finds those strings, every
 * lea that points at one, and the arguments loaded around it.
 *
 * Only position-independent code is handled: a non-PIE executable would
 * load the address with a mov of an absolute immediate instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "boringssl_internal.h"

#define FILE_NAME_SUFFIX "ssl/ssl_lib.cc"
#define MAX_FILE_NAME_STRINGS 8
#define MAX_PATH_BYTES 4096
/* ssl_lib.cc has about 150 OPENSSL_PUT_ERROR calls (BoringSSL 2025);
 * inlining copies some. More than this means the file is not what the
 * finder expects. */
#define MAX_SITES 4096
/* How far the arguments may be from the lea, in instructions and bytes. */
#define FORWARD_INSTRUCTIONS 10
#define BACKWARD_BYTES 32

/* Addresses at which a lea may point to reach a path ending in
 * ssl/ssl_lib.cc: the start of the string, or any later byte up to the
 * suffix, since linkers merge a string into the tail of a longer one. */
struct string_range {
	uint64_t first, last;
};

struct string_ranges {
	struct string_range items[MAX_FILE_NAME_STRINGS];
	size_t count;
};

static void find_in_segment(const struct elf_image *image, const struct elf_segment *segment,
			    struct string_ranges *ranges)
{
	static const char suffix[] = FILE_NAME_SUFFIX;
	const uint8_t *base = image->bytes + segment->offset;
	const uint8_t *found, *start;
	size_t position = 0;

	while (position < segment->size && ranges->count < MAX_FILE_NAME_STRINGS) {
		found = memmem(base + position, segment->size - position, suffix, sizeof(suffix));
		if (!found)
			return;
		position = found - base + 1;

		/* A path component must end right before "ssl/". */
		if (found > base && found[-1] != '/' && found[-1] != '\0')
			continue;

		start = found;
		while (start > base && start[-1] != '\0' && found - start < MAX_PATH_BYTES)
			start--;

		ranges->items[ranges->count++] = (struct string_range){
			.first = segment->vaddr + (start - base),
			.last = segment->vaddr + (found - base),
		};
	}
}

static bool in_ranges(const struct string_ranges *ranges, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < ranges->count; i++) {
		if (vaddr >= ranges->items[i].first && vaddr <= ranges->items[i].last)
			return true;
	}
	return false;
}

/* The arguments of one ERR_put_error call, as far as they were seen. */
struct call_arguments {
	int library;
	int reason;
	int line;
	uint64_t call_target;
};

static void note_argument(struct call_arguments *arguments, const struct x86_insn *insn)
{
	int value;

	if (insn->kind == X86_ZERO_REG)
		value = 0;
	else if (insn->kind == X86_MOV_IMM && insn->operand_bytes == 4)
		value = (int)insn->imm;
	else
		return;

	if (insn->reg == X86_RDI && arguments->library < 0)
		arguments->library = value;
	else if (insn->reg == X86_RDX && arguments->reason < 0)
		arguments->reason = value;
	else if (insn->reg == X86_R8 && arguments->line < 0)
		arguments->line = value;
}

static bool ends_block(enum x86_kind kind)
{
	return kind != X86_OTHER && kind != X86_MOV_IMM && kind != X86_ZERO_REG &&
	       kind != X86_LEA_RIP && kind != X86_TEST_SELF;
}

/* Decodes from the lea to the call, following at most one jump, because
 * the compiler may share one call between reports and jump to it after
 * loading the arguments (Chromium 156, Android 13's BoringSSL). */
static void read_arguments_forward(const struct elf_image *image, uint64_t vaddr,
				   struct call_arguments *arguments)
{
	const uint8_t *code;
	struct x86_insn insn;
	size_t available;
	int jumps = 0, i;

	for (i = 0; i < FORWARD_INSTRUCTIONS; i++) {
		code = elf_image_bytes(image, vaddr, &available);
		if (!code || x86_decode(code, available, vaddr, &insn))
			return;

		note_argument(arguments, &insn);
		if (insn.kind == X86_CALL) {
			arguments->call_target = insn.target;
			return;
		}
		if (insn.kind == X86_JMP && jumps++ == 0) {
			vaddr = insn.target;
			continue;
		}
		if (ends_block(insn.kind))
			return;
		vaddr += insn.length;
	}
}

/* Decodes from start and returns whether the instructions end exactly at
 * lea. If they do, notes the arguments loaded after the last branch, call
 * or return before the lea, because earlier loads belong to other code. */
static bool read_chain(const struct elf_image *image, uint64_t start, uint64_t lea,
		       struct call_arguments *arguments)
{
	struct call_arguments chain = { .library = -1, .reason = -1, .line = -1 };
	const uint8_t *code;
	struct x86_insn insn;
	size_t available;
	uint64_t vaddr = start;

	while (vaddr < lea) {
		code = elf_image_bytes(image, vaddr, &available);
		if (!code || x86_decode(code, available, vaddr, &insn))
			return false;
		if (ends_block(insn.kind))
			chain = (struct call_arguments){ .library = -1, .reason = -1, .line = -1 };

		/* A later load of the same register replaces an earlier one. */
		if (insn.kind == X86_MOV_IMM || insn.kind == X86_ZERO_REG) {
			if (insn.reg == X86_RDI)
				chain.library = -1;
			else if (insn.reg == X86_RDX)
				chain.reason = -1;
			else if (insn.reg == X86_R8)
				chain.line = -1;
			note_argument(&chain, &insn);
		}
		vaddr += insn.length;
	}
	if (vaddr != lea)
		return false;

	if (arguments->library < 0)
		arguments->library = chain.library;
	if (arguments->reason < 0)
		arguments->reason = chain.reason;
	if (arguments->line < 0)
		arguments->line = chain.line;
	return true;
}

/* GCC loads some arguments before the lea (gRPC's bundled BoringSSL).
 * Decoding backwards is ambiguous, so decoding starts BACKWARD_BYTES before
 * the lea and moves closer until it ends exactly at the lea. A start inside
 * an instruction can also end at the lea and then shows loads that are not
 * there. x86 decoding falls back into step within a few instructions, so
 * the farthest start that works reads the real instructions next to the
 * lea. */
static void read_arguments_backward(const struct elf_image *image, uint64_t lea,
				    struct call_arguments *arguments)
{
	uint64_t start = lea > BACKWARD_BYTES ? lea - BACKWARD_BYTES : 0;

	for (; start < lea; start++) {
		if (read_chain(image, start, lea, arguments))
			return;
	}
}

static int add_site(struct site_scan *scan, const struct error_site *site)
{
	struct error_site *grown;
	size_t capacity;

	if (scan->count == scan->capacity) {
		if (scan->capacity >= MAX_SITES)
			return -E2BIG;
		capacity = scan->capacity ? scan->capacity * 2 : 64;
		grown = realloc(scan->sites, capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		scan->sites = grown;
		scan->capacity = capacity;
	}
	scan->sites[scan->count++] = *site;
	return 0;
}

static int inspect_reference(const struct elf_image *image, uint64_t lea, struct site_scan *scan)
{
	struct call_arguments arguments = { .library = -1, .reason = -1, .line = -1 };
	struct error_site site;

	scan->references++;
	read_arguments_forward(image, lea, &arguments);
	if (arguments.library < 0 || arguments.reason < 0 || arguments.line < 0)
		read_arguments_backward(image, lea, &arguments);

	if (arguments.library != ERR_LIB_SSL || arguments.reason <= 0) {
		scan->rejected++;
		return 0;
	}

	site = (struct error_site){
		.vaddr = lea,
		.error_function = arguments.call_target,
		.reason = arguments.reason,
		.line = arguments.line,
	};
	return add_site(scan, &site);
}

/* Looks at every REX.W 8D byte pair with a RIP-relative ModRM (mod 00,
 * r/m 101), which is lea r64, [rip + disp32]. A match inside another
 * instruction's bytes would also have to point exactly at the string. That
 * is rare, and inspect_reference() then also requires the ERR_LIB_SSL
 * argument. */
static int scan_segment(const struct elf_image *image, const struct elf_segment *segment,
			const struct string_ranges *ranges, struct site_scan *scan)
{
	const uint8_t *base = image->bytes + segment->offset;
	const uint8_t *found;
	size_t position = 1;
	uint64_t lea, target;
	int32_t displacement;
	int err;

	while (position + 6 <= segment->size) {
		found = memchr(base + position, 0x8d, segment->size - position - 5);
		if (!found)
			return 0;
		position = found - base;

		if ((base[position - 1] & 0xf8) == 0x48 && (base[position + 1] & 0xc7) == 0x05) {
			memcpy(&displacement, base + position + 2, 4);
			lea = segment->vaddr + position - 1;
			target = lea + 7 + (int64_t)displacement;
			if (in_ranges(ranges, target)) {
				err = inspect_reference(image, lea, scan);
				if (err)
					return err;
			}
		}
		position++;
	}
	return 0;
}

static int compare_sites(const void *a, const void *b)
{
	const struct error_site *left = a, *right = b;

	return (left->vaddr > right->vaddr) - (left->vaddr < right->vaddr);
}

/* The error function is the call target most sites share: ERR_put_error,
 * or its PLT entry in a shared library. */
static void find_error_function(struct site_scan *scan)
{
	size_t i, j, votes;

	for (i = 0; i < scan->count; i++) {
		if (!scan->sites[i].error_function)
			continue;
		votes = 0;
		for (j = 0; j < scan->count; j++)
			votes += scan->sites[j].error_function == scan->sites[i].error_function;
		if (votes > scan->error_function_calls) {
			scan->error_function = scan->sites[i].error_function;
			scan->error_function_calls = votes;
		}
	}
}

int sites_scan(const struct elf_image *image, struct site_scan *scan, char *reason, size_t reason_size)
{
	struct string_ranges ranges = { .count = 0 };
	size_t i;
	int err;

	memset(scan, 0, sizeof(*scan));

	for (i = 0; i < image->segment_count; i++)
		find_in_segment(image, &image->segments[i], &ranges);
	scan->file_name_strings = ranges.count;
	if (ranges.count == 0) {
		snprintf(reason, reason_size,
			 "no \"%s\" string: not BoringSSL, or BoringSSL built without file names in errors",
			 FILE_NAME_SUFFIX);
		return -ENOENT;
	}

	for (i = 0; i < image->segment_count; i++) {
		if (!image->segments[i].executable)
			continue;
		err = scan_segment(image, &image->segments[i], &ranges, scan);
		if (err == -E2BIG) {
			snprintf(reason, reason_size, "more than %d error sites reference %s", MAX_SITES,
				 FILE_NAME_SUFFIX);
			return -ENOENT;
		}
		if (err) {
			snprintf(reason, reason_size, "scanning code failed: %s", strerror(-err));
			return err;
		}
	}

	log_debug("boringssl: %zu references to %s, %zu error sites, %zu rejected",
		  scan->references, FILE_NAME_SUFFIX, scan->count, scan->rejected);
	if (scan->count == 0) {
		snprintf(reason, reason_size,
			 "%zu references to \"%s\" but none is an ERR_put_error(ERR_LIB_SSL, ...) call",
			 scan->references, FILE_NAME_SUFFIX);
		return -ENOENT;
	}

	qsort(scan->sites, scan->count, sizeof(*scan->sites), compare_sites);
	find_error_function(scan);
	return 0;
}

void sites_free(struct site_scan *scan)
{
	free(scan->sites);
	memset(scan, 0, sizeof(*scan));
}
