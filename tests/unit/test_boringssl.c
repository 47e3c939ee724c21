/*
 * Unit tests of the BoringSSL offset finder: the error-site analysis
 * against the symbol table of Debian's android-libboringssl, files that are
 * not BoringSSL, truncated and corrupted copies, the build-id cache, and
 * the printed description.
 *
 * Tests that need a library that is not installed are skipped, and so is
 * the test with uprobes when perf_event_open() rejects them (it needs
 * CAP_PERFMON or root). Debian 12 packages: android-libboringssl
 * (13.0.0+r24) for the symbol comparison. The Google Cloud SDK's gRPC
 * module and Spanner emulator, if present, carry two more stripped
 * BoringSSL builds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture/boringssl.h"
#include "uprobe.h"

#define ANDROID_LIBSSL "/usr/lib/x86_64-linux-gnu/android/libssl.so.0"
#define OPENSSL_LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"

static char directory[64];
static char reason[512];

/* ---- files ---- */

static char *make_path(const char *name)
{
	char *path = NULL;

	assert_true(asprintf(&path, "%s/%s", directory, name) > 0);
	return path;
}

static uint8_t *read_whole_file(const char *path, size_t *size)
{
	struct stat info;
	uint8_t *bytes;
	FILE *file;

	assert_int_equal(stat(path, &info), 0);
	*size = (size_t)info.st_size;
	bytes = malloc(*size + 1);
	assert_non_null(bytes);

	file = fopen(path, "rb");
	assert_non_null(file);
	assert_int_equal(fread(bytes, 1, *size, file), *size);
	fclose(file);
	return bytes;
}

static void write_whole_file(const char *path, const void *bytes, size_t size)
{
	FILE *file = fopen(path, "wb");

	assert_non_null(file);
	if (size > 0)
		assert_int_equal(fwrite(bytes, 1, size, file), size);
	assert_int_equal(fclose(file), 0);
}

static bool exists(const char *path)
{
	return access(path, R_OK) == 0;
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
	return remove(path);
}

static int create_directory(void **state)
{
	strcpy(directory, "/tmp/test_boringssl.XXXXXX");
	return mkdtemp(directory) ? 0 : -1;
}

static int remove_directory(void **state)
{
	return nftw(directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- expected values from the symbol table ---- */

struct symbol_addresses {
	uint64_t vaddr;
	uint64_t offset; /* st_value - sh_addr + sh_offset, the way libbpf computes it */
};

/* Reads a function symbol with nm, independently of the finder's libelf
 * code, and converts it to a file offset through its section header. */
static struct symbol_addresses read_symbol(const char *path, const char *name)
{
	struct symbol_addresses found = { 0, 0 };
	char command[512], line[512], type, symbol[256];
	unsigned long long value;
	FILE *output;
	GElf_Shdr header;
	Elf_Scn *section = NULL;
	Elf *elf;
	int fd;

	snprintf(command, sizeof(command), "nm -D --defined-only %s", path);
	output = popen(command, "r");
	assert_non_null(output);
	while (fgets(line, sizeof(line), output)) {
		if (sscanf(line, "%llx %c %255s", &value, &type, symbol) == 3 && strcmp(symbol, name) == 0)
			found.vaddr = value;
	}
	assert_int_equal(pclose(output), 0);
	assert_int_not_equal(found.vaddr, 0);

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	while ((section = elf_nextscn(elf, section)) != NULL) {
		assert_non_null(gelf_getshdr(section, &header));
		if ((header.sh_flags & SHF_EXECINSTR) && found.vaddr >= header.sh_addr &&
		    found.vaddr < header.sh_addr + header.sh_size)
			found.offset = found.vaddr - header.sh_addr + header.sh_offset;
	}
	elf_end(elf);
	close(fd);
	assert_int_not_equal(found.offset, 0);
	return found;
}

/* Where the file-backed part of the last PT_LOAD segment ends, and where
 * PT_GNU_EH_FRAME (.eh_frame_hdr) starts, as file offsets. */
struct file_layout {
	size_t loaded_end;
	size_t eh_frame_hdr;
};

static struct file_layout read_layout(const char *path)
{
	struct file_layout layout = { 0, 0 };
	GElf_Phdr header;
	size_t count, i;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &count), 0);
	for (i = 0; i < count; i++) {
		assert_non_null(gelf_getphdr(elf, i, &header));
		if (header.p_type == PT_LOAD && header.p_offset + header.p_filesz > layout.loaded_end)
			layout.loaded_end = header.p_offset + header.p_filesz;
		if (header.p_type == PT_GNU_EH_FRAME)
			layout.eh_frame_hdr = header.p_offset;
	}
	elf_end(elf);
	close(fd);
	return layout;
}

static void assert_function(const struct tls_function *function, struct symbol_addresses expected)
{
	assert_int_equal(function->vaddr, expected.vaddr);
	assert_int_equal(function->offset, expected.offset);
	assert_true(function->evidence[0] != '\0');
}

/* ---- Android's libssl.so ---- */

static void test_android_error_sites_match_symbols(void **state)
{
	struct tls_offsets offsets;

	if (!exists(ANDROID_LIBSSL))
		skip();

	assert_int_equal(boringssl_find_offsets(ANDROID_LIBSSL, true, &offsets, reason, sizeof(reason)), 0);
	assert_string_equal(offsets.method, "error sites");
	assert_function(&offsets.ssl_write, read_symbol(ANDROID_LIBSSL, "SSL_write"));
	assert_function(&offsets.ssl_read, read_symbol(ANDROID_LIBSSL, "SSL_read"));
	assert_function(&offsets.ssl_free, read_symbol(ANDROID_LIBSSL, "SSL_free"));
	assert_function(&offsets.ssl_shutdown, read_symbol(ANDROID_LIBSSL, "SSL_shutdown"));
	assert_non_null(strstr(offsets.ssl_write.evidence, "SSL_HANDSHAKE_FAILURE"));
}

static void test_android_symbols_used(void **state)
{
	struct tls_offsets offsets;

	if (!exists(ANDROID_LIBSSL))
		skip();

	assert_int_equal(boringssl_find_offsets(ANDROID_LIBSSL, false, &offsets, reason, sizeof(reason)), 0);
	assert_string_equal(offsets.method, "symbols");
	assert_function(&offsets.ssl_write, read_symbol(ANDROID_LIBSSL, "SSL_write"));
	assert_function(&offsets.ssl_read, read_symbol(ANDROID_LIBSSL, "SSL_read"));
	assert_function(&offsets.ssl_free, read_symbol(ANDROID_LIBSSL, "SSL_free"));
	assert_function(&offsets.ssl_shutdown, read_symbol(ANDROID_LIBSSL, "SSL_shutdown"));
	assert_string_equal(offsets.ssl_write.evidence, "symbol SSL_write in .dynsym");
	assert_int_equal(strlen(offsets.build_id), 40);
}

/* A stripped copy: strip --strip-all drops .symtab and debug links but
 * must keep .dynsym, which a shared library needs, so the symbols are
 * ignored too. The rewritten file must give the same offsets. */
static void test_android_stripped_copy(void **state)
{
	char *copy = make_path("libssl-stripped.so"), command[512];
	struct tls_offsets offsets;

	if (!exists(ANDROID_LIBSSL))
		skip();

	snprintf(command, sizeof(command), "strip --strip-all -o %s %s", copy, ANDROID_LIBSSL);
	assert_int_equal(system(command), 0);

	assert_int_equal(boringssl_find_offsets(copy, true, &offsets, reason, sizeof(reason)), 0);
	assert_function(&offsets.ssl_write, read_symbol(ANDROID_LIBSSL, "SSL_write"));
	assert_function(&offsets.ssl_read, read_symbol(ANDROID_LIBSSL, "SSL_read"));
	assert_function(&offsets.ssl_free, read_symbol(ANDROID_LIBSSL, "SSL_free"));
	free(copy);
}

/* While a uprobe is registered on a file, the kernel writes an int3 at
 * the probed offset into every private mapping of that file that may be
 * executed, including a read-only one made after the probe (Linux 6.18,
 * kernel/events/uprobes.c, valid_vma()). The finder must read the file as
 * it is on disk: an int3 in place of SSL_free's first byte made it miss
 * SSL_free in Chromium 156 while an agent was attached. The probes go on a
 * copy, so that no other process gets them. */
static void test_android_with_uprobes_attached(void **state)
{
	static const char *const names[] = { "SSL_write", "SSL_read", "SSL_free", "SSL_shutdown" };
	char *copy = make_path("libssl-probed.so");
	struct symbol_addresses expected[4];
	struct tls_offsets offsets;
	uint8_t *bytes;
	size_t size, i;
	int probes[4];

	if (!exists(ANDROID_LIBSSL))
		skip();
	bytes = read_whole_file(ANDROID_LIBSSL, &size);
	write_whole_file(copy, bytes, size);
	free(bytes);

	for (i = 0; i < 4; i++) {
		expected[i] = read_symbol(copy, names[i]);
		probes[i] = open_uprobe(copy, expected[i].offset);
		if (probes[i] < 0) {
			print_message("uprobe on %s: %s\n", names[i], strerror(errno));
			while (i-- > 0)
				close(probes[i]);
			free(copy);
			skip();
		}
	}

	assert_int_equal(boringssl_find_offsets(copy, true, &offsets, reason, sizeof(reason)), 0);
	assert_function(&offsets.ssl_write, expected[0]);
	assert_function(&offsets.ssl_read, expected[1]);
	assert_function(&offsets.ssl_free, expected[2]);
	assert_function(&offsets.ssl_shutdown, expected[3]);

	for (i = 0; i < 4; i++)
		close(probes[i]);
	free(copy);
}

/* ---- files that are not BoringSSL ---- */

static void test_ls_not_found(void **state)
{
	struct tls_offsets offsets;

	assert_int_equal(boringssl_find_offsets("/bin/ls", false, &offsets, reason, sizeof(reason)),
			 -ENOENT);
	assert_non_null(strstr(reason, "ssl/ssl_lib.cc"));
	assert_int_equal(offsets.ssl_write.offset, 0);
	assert_int_equal(offsets.ssl_read.offset, 0);
	assert_non_null(strstr(offsets.ssl_write.evidence, "ssl/ssl_lib.cc"));
}

/* OpenSSL names its file ssl/ssl_lib.c and must not be mistaken for
 * BoringSSL when its symbols are ignored. */
static void test_openssl_not_found_without_symbols(void **state)
{
	struct tls_offsets offsets;

	if (!exists(OPENSSL_LIBSSL))
		skip();

	assert_int_equal(boringssl_find_offsets(OPENSSL_LIBSSL, true, &offsets, reason, sizeof(reason)),
			 -ENOENT);
	assert_int_equal(offsets.ssl_write.offset, 0);
}

static void test_non_elf_rejected(void **state)
{
	char *text = make_path("text"), *empty = make_path("empty");
	struct tls_offsets offsets;
	static const char content[] = "#!/bin/sh\necho this is not an ELF file\n";

	write_whole_file(text, content, sizeof(content) - 1);
	write_whole_file(empty, "", 0);

	assert_int_equal(boringssl_find_offsets(text, false, &offsets, reason, sizeof(reason)), -ENOEXEC);
	assert_string_equal(reason, "not an ELF file");
	assert_int_equal(boringssl_find_offsets(empty, false, &offsets, reason, sizeof(reason)), -ENOEXEC);
	assert_non_null(strstr(reason, "empty"));
	assert_int_equal(boringssl_find_offsets(directory, false, &offsets, reason, sizeof(reason)),
			 -ENOEXEC);
	assert_non_null(strstr(reason, "not a regular file"));
	free(text);
	free(empty);
}

static void test_missing_file(void **state)
{
	char *missing = make_path("does-not-exist");
	struct tls_offsets offsets;

	assert_int_equal(boringssl_find_offsets(missing, false, &offsets, reason, sizeof(reason)), -ENOENT);
	assert_non_null(strstr(reason, "cannot open"));
	free(missing);
}

/* ---- damaged copies ---- */

/* Cuts inside the loaded segments must fail. A cut after them only loses
 * section headers; the analysis may then still succeed, but never with
 * other addresses than the intact file gives. */
static void test_truncated_copies(void **state)
{
	char *copy = make_path("truncated.so");
	struct tls_offsets intact, offsets;
	size_t size, cuts[40], cut_count = 0, i, segments_end;
	uint8_t *bytes;
	int result;

	if (!exists(ANDROID_LIBSSL))
		skip();

	bytes = read_whole_file(ANDROID_LIBSSL, &size);
	segments_end = read_layout(ANDROID_LIBSSL).loaded_end;
	assert_true(segments_end < size);
	assert_int_equal(boringssl_find_offsets(ANDROID_LIBSSL, true, &intact, reason, sizeof(reason)), 0);

	size_t fixed[] = { 1, 4, 16, 63, 64, 65, 120, 64 + 56, 64 + 56 * 3, 1000, 4095, 4096, 4097 };
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		cuts[cut_count++] = fixed[i];
	for (i = 1; i < 20; i++)
		cuts[cut_count++] = size * i / 20;
	cuts[cut_count++] = size - 4096;
	cuts[cut_count++] = size - 64;
	cuts[cut_count++] = size - 1;

	for (i = 0; i < cut_count; i++) {
		write_whole_file(copy, bytes, cuts[i]);
		result = boringssl_find_offsets(copy, true, &offsets, reason, sizeof(reason));
		if (cuts[i] < segments_end) {
			if (result != -ENOEXEC)
				fail_msg("cut at %zu: result %d, reason %s", cuts[i], result, reason);
		} else if (result == 0) {
			assert_int_equal(offsets.ssl_write.vaddr, intact.ssl_write.vaddr);
			assert_int_equal(offsets.ssl_read.vaddr, intact.ssl_read.vaddr);
		}
		boringssl_find_offsets(copy, false, &offsets, reason, sizeof(reason));
	}
	free(bytes);
	free(copy);
}

/* Overwrites each byte of the ELF and program headers and of
 * .eh_frame_hdr in turn. The finder may fail or find something, but it must
 * not crash or read outside the file. */
static void test_corrupted_headers(void **state)
{
	char *copy = make_path("corrupted.so");
	struct tls_offsets offsets;
	static const uint8_t values[] = { 0x00, 0xff, 0x80, 0x7f };
	size_t size, i, eh_frame_hdr;
	uint8_t *bytes, saved;

	if (!exists(ANDROID_LIBSSL))
		skip();

	bytes = read_whole_file(ANDROID_LIBSSL, &size);
	eh_frame_hdr = read_layout(ANDROID_LIBSSL).eh_frame_hdr;
	assert_true(eh_frame_hdr > 0);
	assert_true(size > eh_frame_hdr + 64);
	for (i = 0; i < 64 + 56 * 10 + 64; i++) {
		size_t position = i < 64 + 56 * 10 ? i : eh_frame_hdr + (i - 64 - 56 * 10);

		saved = bytes[position];
		bytes[position] = values[i % 4];
		write_whole_file(copy, bytes, size);
		boringssl_find_offsets(copy, true, &offsets, reason, sizeof(reason));
		bytes[position] = saved;
	}
	free(bytes);
	free(copy);
}

/* ---- the cache ---- */

static char *cache_file(const char *cache_dir, const char *build_id)
{
	char *path = NULL;

	assert_true(asprintf(&path, "%s/%s.offsets", cache_dir, build_id) > 0);
	return path;
}

static void replace_in_file(const char *path, const char *from, const char *to)
{
	size_t size;
	char *text = (char *)read_whole_file(path, &size), *found, *changed = NULL;

	text[size] = '\0';
	found = strstr(text, from);
	assert_non_null(found);
	assert_true(asprintf(&changed, "%.*s%s%s", (int)(found - text), text, to, found + strlen(from)) > 0);
	write_whole_file(path, changed, strlen(changed));
	free(changed);
	free(text);
}

static void test_cache_stores_and_returns(void **state)
{
	char *cache_dir = make_path("cache/nested"), *entry;
	struct tls_offsets first, second;

	if (!exists(ANDROID_LIBSSL))
		skip();

	assert_int_equal(boringssl_find_offsets_cached(ANDROID_LIBSSL, cache_dir, true, &first, reason,
						       sizeof(reason)),
			 0);
	entry = cache_file(cache_dir, first.build_id);
	assert_true(exists(entry));

	/* An edited evidence text proves that the second result is read from
	 * the cache, not scanned again. */
	replace_in_file(entry, "the only function reporting", "CACHED the only function reporting");
	assert_int_equal(boringssl_find_offsets_cached(ANDROID_LIBSSL, cache_dir, true, &second, reason,
						       sizeof(reason)),
			 0);
	assert_int_equal(second.ssl_write.offset, first.ssl_write.offset);
	assert_int_equal(second.ssl_write.vaddr, first.ssl_write.vaddr);
	assert_int_equal(second.ssl_read.offset, first.ssl_read.offset);
	assert_int_equal(second.ssl_free.offset, first.ssl_free.offset);
	assert_int_equal(second.ssl_shutdown.offset, first.ssl_shutdown.offset);
	assert_string_equal(second.method, "error sites");
	assert_string_equal(second.build_id, first.build_id);
	assert_non_null(strstr(second.ssl_write.evidence, "CACHED"));

	/* The entry for ignore_symbols = true is not used for false. */
	assert_int_equal(boringssl_find_offsets_cached(ANDROID_LIBSSL, cache_dir, false, &second, reason,
						       sizeof(reason)),
			 0);
	assert_string_equal(second.method, "symbols");
	free(entry);
	free(cache_dir);
}

static void test_cache_keeps_not_found(void **state)
{
	char *cache_dir = make_path("cache-negative"), *entry;
	struct tls_offsets offsets;
	char first_reason[512];

	assert_int_equal(boringssl_find_offsets_cached("/bin/ls", cache_dir, false, &offsets, first_reason,
						       sizeof(first_reason)),
			 -ENOENT);
	if (!offsets.build_id[0])
		skip(); /* /bin/ls without a build-id is not cached */
	entry = cache_file(cache_dir, offsets.build_id);
	assert_true(exists(entry));

	assert_int_equal(boringssl_find_offsets_cached("/bin/ls", cache_dir, false, &offsets, reason,
						       sizeof(reason)),
			 -ENOENT);
	assert_string_equal(reason, first_reason);
	free(entry);
	free(cache_dir);
}

static void test_cache_ignores_bad_entries(void **state)
{
	char *cache_dir = make_path("cache-bad"), *entry;
	struct tls_offsets offsets;
	static const char *const replacements[][2] = {
		{ "plainsight-boringssl-offsets 2", "plainsight-boringssl-offsets 999" },
		{ "plainsight-boringssl-offsets 2", "plainsight-boringssl-offsets 1" },
		{ "result 0", "result 7" },
		{ "ssl_write 0x", "ssl_write zz" },
		{ "ignore-symbols 1", "garbage line" },
	};
	size_t i;

	if (!exists(ANDROID_LIBSSL))
		skip();

	for (i = 0; i < sizeof(replacements) / sizeof(replacements[0]); i++) {
		assert_int_equal(boringssl_find_offsets_cached(ANDROID_LIBSSL, cache_dir, true, &offsets,
							       reason, sizeof(reason)),
				 0);
		entry = cache_file(cache_dir, offsets.build_id);
		replace_in_file(entry, "the only function reporting", "EDITED");
		replace_in_file(entry, replacements[i][0], replacements[i][1]);

		/* A rejected entry means a new scan, which rewrites the entry. */
		assert_int_equal(boringssl_find_offsets_cached(ANDROID_LIBSSL, cache_dir, true, &offsets,
							       reason, sizeof(reason)),
				 0);
		assert_null(strstr(offsets.ssl_write.evidence, "EDITED"));
		assert_true(offsets.ssl_write.offset != 0);
		free(entry);
	}
	free(cache_dir);
}

static void test_cache_directory_unwritable(void **state)
{
	char *blocker = make_path("not-a-directory"), *cache_dir = make_path("not-a-directory/cache");
	struct tls_offsets offsets;

	if (!exists(ANDROID_LIBSSL))
		skip();

	/* A cache that cannot be written is logged, and the scan still counts. */
	write_whole_file(blocker, "x", 1);
	assert_int_equal(boringssl_find_offsets_cached(ANDROID_LIBSSL, cache_dir, true, &offsets, reason,
						       sizeof(reason)),
			 0);
	assert_true(offsets.ssl_write.offset != 0);
	free(blocker);
	free(cache_dir);
}

/* ---- the description ---- */

static void test_describe_lists_functions(void **state)
{
	struct tls_offsets offsets;
	char *text = NULL, expected[128];
	size_t size = 0;
	FILE *out;

	if (!exists(ANDROID_LIBSSL))
		skip();

	assert_int_equal(boringssl_find_offsets(ANDROID_LIBSSL, true, &offsets, reason, sizeof(reason)), 0);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	assert_int_equal(boringssl_describe(out, ANDROID_LIBSSL, false), 0);
	fclose(out);

	snprintf(expected, sizeof(expected), "SSL_write    offset 0x%" PRIx64 " vaddr 0x%" PRIx64,
		 offsets.ssl_write.offset, offsets.ssl_write.vaddr);
	assert_non_null(strstr(text, expected));
	assert_non_null(strstr(text, "SSL_write    agrees"));
	assert_non_null(strstr(text, "SSL_read     agrees"));
	assert_non_null(strstr(text, "SSL_free     agrees"));
	assert_non_null(strstr(text, "SSL_shutdown agrees"));
	assert_non_null(strstr(text, "226 UNINITIALIZED"));
	assert_null(strstr(text, "DIFFERS"));
	free(text);
}

static void test_describe_not_found(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_non_null(out);
	assert_int_equal(boringssl_describe(out, "/bin/ls", false), -ENOENT);
	fclose(out);
	assert_non_null(strstr(text, "SSL_write    not found"));
	assert_non_null(strstr(text, "ssl/ssl_lib.cc"));
	free(text);
}

/* ---- other stripped BoringSSL builds, where installed ---- */

struct known_build {
	const char *path;
	const char *build_id;
	uint64_t ssl_write, ssl_read, ssl_free; /* vaddrs, checked against .eh_frame FDEs and by disassembly */
};

/* gRPC 1.71.0's Python module (GCC 10.2.1, ssl_read_impl with
 * ssl_do_post_handshake inlined) and the Cloud Spanner emulator (SSL_read
 * calling SSL_peek), both from Google Cloud SDK 528.0.0. */
static const struct known_build known_builds[] = {
	{ "/usr/lib/google-cloud-sdk/platform/bundledpythonunix/lib/python3.12/site-packages/grpc/_cython/cygrpc.cpython-312-x86_64-linux-gnu.so",
	  "ca058cdaa114b6c865e886f8d8cc927970d055b0", 0x94ce60, 0x94eb60, 0x94c4f0 },
	{ "/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator/emulator_main",
	  "702b647c3bf499ccb70f60ca4a3617bc860857cd", 0x1e2eaa0, 0x1e2f3d0, 0x1e2e840 },
};

static void test_known_stripped_builds(void **state)
{
	const struct known_build *build;
	struct tls_offsets offsets;
	size_t i, checked = 0;

	for (i = 0; i < sizeof(known_builds) / sizeof(known_builds[0]); i++) {
		build = &known_builds[i];
		if (!exists(build->path))
			continue;
		if (boringssl_find_offsets(build->path, false, &offsets, reason, sizeof(reason)) != 0)
			fail_msg("%s: %s", build->path, reason);
		if (strcmp(offsets.build_id, build->build_id) != 0)
			continue; /* another version: only "found" can be checked */
		assert_int_equal(offsets.ssl_write.vaddr, build->ssl_write);
		assert_int_equal(offsets.ssl_read.vaddr, build->ssl_read);
		assert_int_equal(offsets.ssl_free.vaddr, build->ssl_free);
		checked++;
	}
	if (checked == 0)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_android_error_sites_match_symbols),
		cmocka_unit_test(test_android_symbols_used),
		cmocka_unit_test(test_android_stripped_copy),
		cmocka_unit_test(test_android_with_uprobes_attached),
		cmocka_unit_test(test_ls_not_found),
		cmocka_unit_test(test_openssl_not_found_without_symbols),
		cmocka_unit_test(test_non_elf_rejected),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_truncated_copies),
		cmocka_unit_test(test_corrupted_headers),
		cmocka_unit_test(test_cache_stores_and_returns),
		cmocka_unit_test(test_cache_keeps_not_found),
		cmocka_unit_test(test_cache_ignores_bad_entries),
		cmocka_unit_test(test_cache_directory_unwritable),
		cmocka_unit_test(test_describe_lists_functions),
		cmocka_unit_test(test_describe_not_found),
		cmocka_unit_test(test_known_stripped_builds),
	};

	return cmocka_run_group_tests(tests, create_directory, remove_directory);
}
