/* Private to the BoringSSL offset finder (agent/capture/boringssl*.c). */
#ifndef PLAINSIGHT_BORINGSSL_INTERNAL_H
#define PLAINSIGHT_BORINGSSL_INTERNAL_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boringssl.h"

/* ---- boringssl.c: the functions of struct tls_offsets ---- */

struct tls_role {
	const char *name;   /* C name, as in symbol tables */
	const char *key;    /* name in cache entries */
	size_t offset;      /* of the struct tls_function in struct tls_offsets */
};

#define TLS_ROLE_COUNT 4
extern const struct tls_role tls_roles[TLS_ROLE_COUNT];

struct tls_function *tls_role_function(struct tls_offsets *offsets, size_t role);
const struct tls_function *tls_role_function_const(const struct tls_offsets *offsets, size_t role);

/* ---- boringssl_x86.c: instruction decoder ---- */

enum x86_register {
	X86_RAX = 0, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

enum x86_kind {
	X86_OTHER = 0,     /* only the length is known */
	X86_CALL,          /* call rel32: target */
	X86_JMP,           /* jmp rel8 or rel32: target */
	X86_JCC,           /* conditional jump, loop, jrcxz: target */
	X86_CALL_INDIRECT,
	X86_JMP_INDIRECT,
	X86_RET,
	X86_INT3,
	X86_UD2,           /* ud2, ud1, ud0 */
	X86_LEA_RIP,       /* lea r64, [rip + disp32]: reg, target */
	X86_MOV_IMM,       /* mov r32/r64, imm: reg, imm, operand_bytes */
	X86_ZERO_REG,      /* xor r, r: reg, operand_bytes */
	X86_TEST_SELF,     /* test r, r: reg, operand_bytes */
};

struct x86_insn {
	uint64_t address;
	uint64_t target;
	int64_t imm;
	enum x86_kind kind;
	uint8_t length;
	uint8_t reg;
	uint8_t operand_bytes;
};

/* Decodes the instruction at code, which has available readable bytes and
 * sits at address. Returns 0, or -EINVAL for bytes that are not a complete
 * instruction of the encodings this decoder handles. */
int x86_decode(const uint8_t *code, size_t available, uint64_t address, struct x86_insn *insn);

/* ---- boringssl_elf.c: the file, its segments, symbols and unwind table ---- */

#define ELF_IMAGE_MAX_SEGMENTS 32

/* The file-backed part of one PT_LOAD segment. */
struct elf_segment {
	uint64_t vaddr;
	uint64_t offset;
	uint64_t size;
	bool executable;
};

struct elf_image {
	int fd;
	Elf *elf;
	const uint8_t *bytes; /* the whole file, mapped read-only */
	size_t size;
	struct elf_segment segments[ELF_IMAGE_MAX_SEGMENTS];
	size_t segment_count;
	uint64_t eh_frame_hdr; /* vaddr of PT_GNU_EH_FRAME, 0 if absent */
	uint64_t eh_frame_hdr_size;
	char build_id[TLS_BUILD_ID_BYTES];
};

int elf_image_open(struct elf_image *image, const char *path, char *reason, size_t reason_size);
void elf_image_close(struct elf_image *image);

/* Returns the file bytes at vaddr and, in available, how many follow in the
 * same segment; NULL when vaddr is not file-backed. */
const uint8_t *elf_image_bytes(const struct elf_image *image, uint64_t vaddr, size_t *available);
int elf_image_file_offset(const struct elf_image *image, uint64_t vaddr, uint64_t *offset);

/* Looks name up as a defined function in .symtab, then .dynsym. Returns 0
 * and the table's name, or -ENOENT. */
int elf_image_find_function(const struct elf_image *image, const char *name, uint64_t *vaddr,
			    const char **table);

/* Returns 0 with the bounds of the function whose .eh_frame FDE covers
 * vaddr, or -ENOENT (no .eh_frame_hdr, no covering FDE, or an encoding this
 * reader does not handle). */
int elf_image_fde_bounds(const struct elf_image *image, uint64_t vaddr, uint64_t *start, uint64_t *end);

/* Stores up to capacity FDE start addresses in [low, high) and returns how
 * many there are. */
size_t elf_image_fde_starts(const struct elf_image *image, uint64_t low, uint64_t high,
			    uint64_t *starts, size_t capacity);

/* ---- boringssl_sites.c: OPENSSL_PUT_ERROR call sites in ssl/ssl_lib.cc ---- */

/* From BoringSSL's include/openssl/err.h and crypto/err/ssl.errordata. The
 * builds in Android 13 and Chromium 156 report the same values. */
#define ERR_LIB_SSL 16
#define ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED 66
#define SSL_R_BAD_LENGTH 111
#define SSL_R_NULL_SSL_CTX 185
#define SSL_R_SSL_HANDSHAKE_FAILURE 215
#define SSL_R_UNINITIALIZED 226
#define SSL_R_APPLICATION_DATA_ON_SHUTDOWN 291

/* One ERR_put_error(ERR_LIB_SSL, 0, reason, "…/ssl/ssl_lib.cc", line). */
struct error_site {
	uint64_t vaddr;          /* of the lea that loads the file name */
	uint64_t error_function; /* the call target, 0 if not seen */
	int reason;
	int line;                /* -1 if not seen */
};

struct site_scan {
	struct error_site *sites;
	size_t count;
	size_t capacity;
	size_t file_name_strings;  /* copies of the path string found */
	size_t references;         /* RIP-relative loads of those strings */
	size_t rejected;           /* references that are not an ERR_LIB_SSL report */
	uint64_t error_function;   /* the most common call target */
	size_t error_function_calls;
};

int sites_scan(const struct elf_image *image, struct site_scan *scan, char *reason, size_t reason_size);
void sites_free(struct site_scan *scan);

/* ---- boringssl_functions.c: function bounds without symbols ---- */

struct call_edge {
	uint64_t from; /* address of the call instruction */
	uint64_t to;
};

/* A stretch of code swept linearly, with the function starts found in it. */
struct code_region {
	uint64_t low, high;
	uint64_t *starts;
	size_t start_count;
	struct call_edge *calls; /* direct calls made inside the region, by address */
	size_t call_count;
};

struct code_map {
	const struct elf_image *image;
	struct code_region *regions;
	size_t region_count;
};

/* Sweeps the code around the given addresses (sorted ascending) and finds
 * function starts there. */
int code_map_build(struct code_map *map, const struct elf_image *image, const uint64_t *addresses,
		   size_t count);
void code_map_free(struct code_map *map);

/* Returns 0 with the function that contains vaddr, or -ENOENT. */
int code_map_function(const struct code_map *map, uint64_t vaddr, uint64_t *start, uint64_t *end);

/* Stores up to capacity addresses of calls to target made inside the swept
 * regions, and returns how many there are. */
size_t code_map_callers(const struct code_map *map, uint64_t target, uint64_t *callers, size_t capacity);

/* Decodes [start, end) and stores, in order, the targets of its direct
 * calls and of its jumps that leave the range (tail calls). Returns how
 * many there are, or a negative errno if the range does not decode. */
int code_map_transfers(const struct code_map *map, uint64_t start, uint64_t end, uint64_t *targets,
		       size_t capacity);

/* ---- boringssl_identify.c: choosing the functions ---- */

#define FUNCTION_MAX_REASONS 24

/* A function that contains error sites, with the reasons it reports. */
struct site_function {
	uint64_t start, end;
	int reasons[FUNCTION_MAX_REASONS]; /* distinct, in address order */
	int lines[FUNCTION_MAX_REASONS];   /* the first line reported with each reason */
	size_t reason_count;
	size_t site_count;
};

struct boringssl_analysis {
	struct site_scan scan;
	struct code_map map;
	struct site_function *functions;
	size_t function_count;
	size_t unplaced_sites; /* sites whose function could not be bounded */
	/* Internal functions found on the way, 0 if not found. */
	uint64_t read_impl;  /* ssl_read_impl, or what SSL_read inlined it into */
	uint64_t ssl_new;
	uint64_t ssl_destructor; /* ssl_st::~ssl_st, which SSL_free calls */
};

/* Fills out's functions (not method and build_id) from the error sites.
 * Returns 0 when SSL_write and SSL_read were found, else -ENOENT and a
 * reason; other negative errnos for memory or file errors. */
int analysis_run(struct boringssl_analysis *analysis, const struct elf_image *image,
		 struct tls_offsets *out, char *reason, size_t reason_size);
void analysis_free(struct boringssl_analysis *analysis);

const char *reason_code_name(int reason);

/* ---- boringssl_cache.c ---- */

/* Returns 0 and the stored result in *result on a cache hit, -ENOENT on a
 * miss or a stale or unreadable entry. */
int cache_load(const char *cache_dir, const char *build_id, bool ignore_symbols,
	       struct tls_offsets *out, int *result, char *reason, size_t reason_size);
int cache_store(const char *cache_dir, const char *build_id, bool ignore_symbols,
		const struct tls_offsets *out, int result, const char *reason);

#endif
