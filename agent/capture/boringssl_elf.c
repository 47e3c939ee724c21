/*
 * The ELF side of the BoringSSL offset finder. It maps the file read-only
 * and shared, which shows the bytes on disk without the int3 of any
 * uprobe. It checks that the file is a complete x86-64 ELF64 file, and
 * reads its PT_LOAD segments, build-id note, symbol tables and
 * .eh_frame_hdr search table.
 *
 * The file may be truncated or corrupt. Every read is checked against the
 * mapped size, so a bad file yields an error, never a fault beyond the end
 * of the mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "boringssl_internal.h"

#define NT_GNU_BUILD_ID_TYPE 3
#define BUILD_ID_MAX_BYTES 64

/* DWARF pointer encodings (DW_EH_PE_*) used by .eh_frame_hdr and FDEs. */
#define PE_OMIT 0xff
#define PE_FORMAT_MASK 0x0f
#define PE_ABSPTR 0x00
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_DATAREL 0x30

static bool range_in_file(const struct elf_image *image, uint64_t offset, uint64_t length)
{
	return offset <= image->size && length <= image->size - offset;
}

static int check_identity(const struct elf_image *image, char *reason, size_t reason_size)
{
	const unsigned char *ident = image->bytes;

	if (image->size < sizeof(Elf64_Ehdr) || memcmp(ident, ELFMAG, SELFMAG) != 0) {
		snprintf(reason, reason_size, "not an ELF file");
		return -ENOEXEC;
	}
	if (ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(reason, reason_size, "not a 64-bit little-endian ELF file");
		return -ENOEXEC;
	}
	return 0;
}

static int read_segments(struct elf_image *image, char *reason, size_t reason_size)
{
	GElf_Ehdr header;
	GElf_Phdr phdr;
	size_t count, i;

	if (!gelf_getehdr(image->elf, &header) || elf_getphdrnum(image->elf, &count) != 0) {
		snprintf(reason, reason_size, "invalid ELF header or program headers: %s",
			 elf_errmsg(-1));
		return -ENOEXEC;
	}
	if (header.e_machine != EM_X86_64) {
		snprintf(reason, reason_size, "machine %u is not x86-64", header.e_machine);
		return -ENOEXEC;
	}

	for (i = 0; i < count; i++) {
		if (!gelf_getphdr(image->elf, i, &phdr)) {
			snprintf(reason, reason_size, "program header %zu unreadable: %s", i,
				 elf_errmsg(-1));
			return -ENOEXEC;
		}
		if (phdr.p_type == PT_GNU_EH_FRAME) {
			image->eh_frame_hdr = phdr.p_vaddr;
			image->eh_frame_hdr_size = phdr.p_filesz;
		}
		if (phdr.p_type != PT_LOAD || phdr.p_filesz == 0)
			continue;

		if (!range_in_file(image, phdr.p_offset, phdr.p_filesz)) {
			snprintf(reason, reason_size,
				 "segment at file offset 0x%llx (0x%llx bytes) extends past the end of the file (0x%zx bytes): truncated?",
				 (unsigned long long)phdr.p_offset, (unsigned long long)phdr.p_filesz,
				 image->size);
			return -ENOEXEC;
		}
		if (image->segment_count == ELF_IMAGE_MAX_SEGMENTS) {
			snprintf(reason, reason_size, "more than %d PT_LOAD segments",
				 ELF_IMAGE_MAX_SEGMENTS);
			return -ENOEXEC;
		}
		image->segments[image->segment_count++] = (struct elf_segment){
			.vaddr = phdr.p_vaddr,
			.offset = phdr.p_offset,
			.size = phdr.p_filesz,
			.executable = phdr.p_flags & PF_X,
		};
	}

	if (image->segment_count == 0) {
		snprintf(reason, reason_size, "no loadable segments");
		return -ENOEXEC;
	}
	return 0;
}

static void format_hex(const uint8_t *bytes, size_t count, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < count; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * count] = '\0';
}

/* Walks the notes of one PT_NOTE segment; notes are 4-byte aligned in
 * ELF64 files as written by GNU ld, gold and lld. */
static void find_build_id_in_notes(struct elf_image *image, uint64_t offset, uint64_t size)
{
	uint64_t position = 0;
	uint32_t name_size, descriptor_size, type;
	const uint8_t *note;

	while (position + 12 <= size) {
		note = image->bytes + offset + position;
		memcpy(&name_size, note, 4);
		memcpy(&descriptor_size, note + 4, 4);
		memcpy(&type, note + 8, 4);

		uint64_t name_end = 12 + (((uint64_t)name_size + 3) & ~3ull);
		uint64_t note_end = name_end + (((uint64_t)descriptor_size + 3) & ~3ull);
		if (note_end > size - position)
			return;

		if (type == NT_GNU_BUILD_ID_TYPE && name_size == 4 && memcmp(note + 12, "GNU", 4) == 0 &&
		    descriptor_size > 0 && descriptor_size <= BUILD_ID_MAX_BYTES) {
			format_hex(note + name_end, descriptor_size, image->build_id);
			return;
		}
		position += note_end;
	}
}

static void read_build_id(struct elf_image *image)
{
	GElf_Phdr phdr;
	size_t count, i;

	if (elf_getphdrnum(image->elf, &count) != 0)
		return;
	for (i = 0; i < count && !image->build_id[0]; i++) {
		if (!gelf_getphdr(image->elf, i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		if (range_in_file(image, phdr.p_offset, phdr.p_filesz))
			find_build_id_in_notes(image, phdr.p_offset, phdr.p_filesz);
	}
}

int elf_image_open(struct elf_image *image, const char *path, char *reason, size_t reason_size)
{
	struct stat info;
	void *mapping;
	int err;

	memset(image, 0, sizeof(*image));
	image->fd = -1;

	image->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (image->fd < 0) {
		err = -errno;
		snprintf(reason, reason_size, "cannot open %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(image->fd, &info) != 0) {
		err = -errno;
		snprintf(reason, reason_size, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(info.st_mode)) {
		snprintf(reason, reason_size, "%s is not a regular file", path);
		err = -ENOEXEC;
		goto fail;
	}
	if (info.st_size == 0) {
		snprintf(reason, reason_size, "%s is empty", path);
		err = -ENOEXEC;
		goto fail;
	}

	/* MAP_SHARED, because the kernel writes the int3 of every uprobe
	 * registered on the file into each private mapping of it that may
	 * execute, read-only ones included (valid_vma() in
	 * kernel/events/uprobes.c, Linux 6.18). A shared mapping shows the
	 * page cache, which uprobes never change, so an agent already attached
	 * to the file does not hide the first byte of each probed function.
	 * NOTE: a 2025 kernel patch proposal ("uprobes: relax valid_vma check
	 * for VM_MAYSHARE") would put the int3 into shared mappings too. If a
	 * kernel does that, test_android_with_uprobes_attached fails. */
	mapping = mmap(NULL, info.st_size, PROT_READ, MAP_SHARED, image->fd, 0);
	if (mapping == MAP_FAILED && errno == ENODEV) {
		/* FUSE rejects shared mappings of a file opened with direct I/O
		 * unless the server sets FUSE_DIRECT_IO_ALLOW_MMAP. */
		log_warn("%s cannot be mapped shared, so it is read through a private mapping, where an "
			 "attached uprobe replaces the first byte of its function with int3",
			 path);
		mapping = mmap(NULL, info.st_size, PROT_READ, MAP_PRIVATE, image->fd, 0);
	}
	if (mapping == MAP_FAILED) {
		err = -errno;
		snprintf(reason, reason_size, "cannot map %s: %s", path, strerror(errno));
		goto fail;
	}
	image->bytes = mapping;
	image->size = info.st_size;

	err = check_identity(image, reason, reason_size);
	if (err)
		goto fail;

	/* ELF_C_READ_MMAP on a native-endian image makes libelf point into the
	 * mapping instead of copying, and libelf never writes to it. */
	elf_version(EV_CURRENT);
	image->elf = elf_memory((char *)image->bytes, image->size);
	if (!image->elf || elf_kind(image->elf) != ELF_K_ELF) {
		snprintf(reason, reason_size, "libelf rejects the file: %s", elf_errmsg(-1));
		err = -ENOEXEC;
		goto fail;
	}

	err = read_segments(image, reason, reason_size);
	if (err)
		goto fail;
	read_build_id(image);
	return 0;

fail:
	elf_image_close(image);
	return err;
}

void elf_image_close(struct elf_image *image)
{
	if (image->elf)
		elf_end(image->elf);
	if (image->bytes)
		munmap((void *)image->bytes, image->size);
	if (image->fd >= 0)
		close(image->fd);
	memset(image, 0, sizeof(*image));
	image->fd = -1;
}

const uint8_t *elf_image_bytes(const struct elf_image *image, uint64_t vaddr, size_t *available)
{
	const struct elf_segment *segment;
	size_t i;

	for (i = 0; i < image->segment_count; i++) {
		segment = &image->segments[i];
		if (vaddr >= segment->vaddr && vaddr - segment->vaddr < segment->size) {
			*available = segment->size - (vaddr - segment->vaddr);
			return image->bytes + segment->offset + (vaddr - segment->vaddr);
		}
	}
	*available = 0;
	return NULL;
}

int elf_image_file_offset(const struct elf_image *image, uint64_t vaddr, uint64_t *offset)
{
	const struct elf_segment *segment;
	size_t i;

	for (i = 0; i < image->segment_count; i++) {
		segment = &image->segments[i];
		if (vaddr >= segment->vaddr && vaddr - segment->vaddr < segment->size) {
			*offset = segment->offset + (vaddr - segment->vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

static int find_in_table(const struct elf_image *image, Elf_Scn *section, const GElf_Shdr *header,
			 const char *name, uint64_t *vaddr)
{
	Elf_Data *data = elf_getdata(section, NULL);
	const char *symbol_name;
	GElf_Sym symbol;
	size_t count, i;

	if (!data || header->sh_entsize == 0)
		return -ENOENT;
	count = data->d_size / header->sh_entsize;

	for (i = 0; i < count; i++) {
		if (!gelf_getsym(data, i, &symbol))
			return -ENOENT;
		if (GELF_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_shndx == SHN_UNDEF ||
		    symbol.st_value == 0)
			continue;
		symbol_name = elf_strptr(image->elf, header->sh_link, symbol.st_name);
		if (symbol_name && strcmp(symbol_name, name) == 0) {
			*vaddr = symbol.st_value;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_image_find_function(const struct elf_image *image, const char *name, uint64_t *vaddr,
			    const char **table)
{
	static const struct {
		Elf64_Word type;
		const char *name;
	} tables[] = { { SHT_SYMTAB, ".symtab" }, { SHT_DYNSYM, ".dynsym" } };
	Elf_Scn *section;
	GElf_Shdr header;
	size_t t;

	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		section = NULL;
		while ((section = elf_nextscn(image->elf, section)) != NULL) {
			if (!gelf_getshdr(section, &header) || header.sh_type != tables[t].type)
				continue;
			if (find_in_table(image, section, &header, name, vaddr) == 0) {
				*table = tables[t].name;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* ---- .eh_frame_hdr ---- */

static int encoded_size(uint8_t encoding)
{
	switch (encoding & PE_FORMAT_MASK) {
	case PE_UDATA2:
	case PE_SDATA2:
		return 2;
	case PE_UDATA4:
	case PE_SDATA4:
		return 4;
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		return 8;
	default:
		return -1;
	}
}

static uint64_t read_unsigned(const uint8_t *bytes, int size)
{
	uint64_t value = 0;

	memcpy(&value, bytes, size); /* little-endian host and file */
	return value;
}

/* The binary search table of .eh_frame_hdr as GNU ld, gold and lld write
 * it: initial locations and FDE addresses as 4-byte offsets from the start
 * of the section (DW_EH_PE_datarel | DW_EH_PE_sdata4), sorted. */
struct fde_table {
	const uint8_t *entries;
	size_t count;
	uint64_t base; /* vaddr of .eh_frame_hdr */
};

static int open_fde_table(const struct elf_image *image, struct fde_table *table)
{
	const uint8_t *header;
	size_t available, position = 4;
	int pointer_size;

	if (!image->eh_frame_hdr)
		return -ENOENT;
	header = elf_image_bytes(image, image->eh_frame_hdr, &available);
	if (!header || available < 4 || header[0] != 1)
		return -ENOENT;

	/* header[1] encodes the .eh_frame pointer, which is skipped. */
	if (header[1] != PE_OMIT) {
		pointer_size = encoded_size(header[1]);
		if (pointer_size < 0)
			return -ENOENT;
		position += pointer_size;
	}
	if (header[2] != PE_UDATA4 || header[3] != (PE_DATAREL | PE_SDATA4))
		return -ENOENT;
	if (available < position + 4)
		return -ENOENT;

	table->count = read_unsigned(header + position, 4);
	table->entries = header + position + 4;
	table->base = image->eh_frame_hdr;
	if (table->count > (available - position - 4) / 8)
		return -ENOENT;
	return 0;
}

static uint64_t table_start(const struct fde_table *table, size_t index)
{
	return table->base + (int64_t)(int32_t)read_unsigned(table->entries + 8 * index, 4);
}

static uint64_t table_fde(const struct fde_table *table, size_t index)
{
	return table->base + (int64_t)(int32_t)read_unsigned(table->entries + 8 * index + 4, 4);
}

static int read_uleb128(const uint8_t *bytes, size_t available, size_t *position, uint64_t *value)
{
	unsigned int shift = 0;
	uint8_t byte;

	*value = 0;
	do {
		if (*position >= available || shift > 63)
			return -EINVAL;
		byte = bytes[(*position)++];
		*value |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	return 0;
}

/* Returns the FDE pointer encoding from the 'R' entry of a CIE's
 * augmentation, or -1. */
static int cie_fde_encoding(const uint8_t *cie, size_t available)
{
	size_t position = 9; /* length, CIE id, version */
	const char *augmentation;
	uint64_t ignored;
	uint8_t version;
	int size;

	if (available < position)
		return -1;
	version = cie[8];
	augmentation = (const char *)cie + position;
	if (!memchr(augmentation, '\0', available - position))
		return -1;
	position += strlen(augmentation) + 1;
	if (augmentation[0] != 'z')
		return PE_ABSPTR;

	/* code alignment, data alignment, return address register */
	if (read_uleb128(cie, available, &position, &ignored) ||
	    read_uleb128(cie, available, &position, &ignored))
		return -1;
	if (version == 1)
		position++;
	else if (read_uleb128(cie, available, &position, &ignored))
		return -1;
	if (read_uleb128(cie, available, &position, &ignored)) /* augmentation length */
		return -1;

	for (const char *entry = augmentation + 1; *entry; entry++) {
		if (position >= available)
			return -1;
		switch (*entry) {
		case 'R':
			return cie[position];
		case 'L':
			position++;
			break;
		case 'P':
			size = encoded_size(cie[position]);
			if (size < 0)
				return -1;
			position += 1 + size;
			break;
		case 'S':
		case 'B':
		case 'G':
			break;
		default:
			return -1;
		}
	}
	return PE_ABSPTR;
}

/* Reads the address range of the FDE at vaddr. */
static int fde_range(const struct elf_image *image, uint64_t fde_vaddr, uint64_t *range)
{
	const uint8_t *fde, *cie;
	size_t available, cie_available;
	uint32_t length, cie_pointer;
	uint64_t cie_vaddr;
	int encoding, size;

	fde = elf_image_bytes(image, fde_vaddr, &available);
	if (!fde || available < 8)
		return -ENOENT;
	length = read_unsigned(fde, 4);
	cie_pointer = read_unsigned(fde + 4, 4);
	if (length == 0xffffffff || length < 4 || length > available - 4 || cie_pointer == 0)
		return -ENOENT; /* 64-bit DWARF, or a CIE where an FDE belongs */

	cie_vaddr = fde_vaddr + 4 - cie_pointer;
	cie = elf_image_bytes(image, cie_vaddr, &cie_available);
	if (!cie || cie_available < 8 || read_unsigned(cie + 4, 4) != 0)
		return -ENOENT;
	if (read_unsigned(cie, 4) < cie_available - 4)
		cie_available = read_unsigned(cie, 4) + 4;

	encoding = cie_fde_encoding(cie, cie_available);
	size = encoding < 0 ? -1 : encoded_size(encoding);
	if (size < 0 || 8 + 2 * (uint64_t)size > (uint64_t)length + 4)
		return -ENOENT;

	/* The range has the format of the start address, never its base. */
	*range = read_unsigned(fde + 8 + size, size);
	return 0;
}

int elf_image_fde_bounds(const struct elf_image *image, uint64_t vaddr, uint64_t *start, uint64_t *end)
{
	struct fde_table table;
	size_t low = 0, high, middle;
	uint64_t range;

	if (open_fde_table(image, &table) || table.count == 0)
		return -ENOENT;

	/* The last entry whose start is not above vaddr. */
	high = table.count;
	while (high - low > 1) {
		middle = low + (high - low) / 2;
		if (table_start(&table, middle) <= vaddr)
			low = middle;
		else
			high = middle;
	}
	if (table_start(&table, low) > vaddr)
		return -ENOENT;

	if (fde_range(image, table_fde(&table, low), &range) || range == 0)
		return -ENOENT;
	if (vaddr - table_start(&table, low) >= range)
		return -ENOENT;

	*start = table_start(&table, low);
	*end = *start + range;
	return 0;
}

size_t elf_image_fde_starts(const struct elf_image *image, uint64_t low, uint64_t high,
			    uint64_t *starts, size_t capacity)
{
	struct fde_table table;
	size_t i, found = 0;
	uint64_t start;

	if (open_fde_table(image, &table))
		return 0;
	for (i = 0; i < table.count; i++) {
		start = table_start(&table, i);
		if (start < low || start >= high)
			continue;
		if (found < capacity)
			starts[found] = start;
		found++;
	}
	return found;
}
