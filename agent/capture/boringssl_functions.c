/*
 * Function bounds in code without symbols.
 *
 * An .eh_frame FDE gives exact bounds where one covers the address (every
 * function of Android's libssl.so has one). Chromium 156 has FDEs for
 * only 8,852 functions, none of them in BoringSSL, so for the rest the
 * code around the error sites is swept linearly and a function start is
 * taken to be:
 *   - the first instruction after int3 padding, which Chromium 156 has
 *     between functions, except ud2: Chromium's
 *     IMMEDIATE_CRASH (base/immediate_crash.h) is int3 followed by ud2
 *     inside a function;
 *   - the target of a direct call, from inside the swept code or from
 *     anywhere in the executable segments, which catches functions that
 *     follow another one without padding;
 *   - the start of an FDE.
 * A function then ends where the next one starts.
 *
 * The sweep starts MARGIN_BYTES before the first address so that it is in
 * step with the instruction stream well before it matters: x86 decoding
 * falls back into step within a few instructions after starting at an
 * arbitrary byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "boringssl_internal.h"

#define MARGIN_BYTES (64u << 10)
#define CLUSTER_GAP_BYTES (256u << 10)
/* How far before a call from outside the swept code its check starts. */
#define CALL_CHECK_BYTES 64
#define MAX_FDE_STARTS 65536

struct address_list {
	uint64_t *items;
	size_t count, capacity;
};

static int list_add(struct address_list *list, uint64_t address)
{
	uint64_t *grown;
	size_t capacity;

	if (list->count == list->capacity) {
		capacity = list->capacity ? list->capacity * 2 : 256;
		grown = realloc(list->items, capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		list->items = grown;
		list->capacity = capacity;
	}
	list->items[list->count++] = address;
	return 0;
}

static int compare_addresses(const void *a, const void *b)
{
	uint64_t left = *(const uint64_t *)a, right = *(const uint64_t *)b;

	return (left > right) - (left < right);
}

static void sort_unique(struct address_list *list)
{
	size_t i, unique = 0;

	qsort(list->items, list->count, sizeof(*list->items), compare_addresses);
	for (i = 0; i < list->count; i++) {
		if (unique == 0 || list->items[unique - 1] != list->items[i])
			list->items[unique++] = list->items[i];
	}
	list->count = unique;
}

/* Sweep state of one region. */
struct sweep {
	struct code_region *region;
	uint8_t *instruction_starts; /* one bit per byte of the region */
	struct address_list starts;
	struct address_list call_from, call_to;
};

static void mark_instruction(struct sweep *sweep, uint64_t vaddr)
{
	uint64_t bit = vaddr - sweep->region->low;

	sweep->instruction_starts[bit / 8] |= 1u << (bit % 8);
}

static bool is_instruction(const struct sweep *sweep, uint64_t vaddr)
{
	uint64_t bit;

	if (vaddr < sweep->region->low || vaddr >= sweep->region->high)
		return false;
	bit = vaddr - sweep->region->low;
	return sweep->instruction_starts[bit / 8] & (1u << (bit % 8));
}

static int sweep_region(const struct elf_image *image, struct sweep *sweep)
{
	struct code_region *region = sweep->region;
	enum x86_kind previous = X86_OTHER;
	const uint8_t *code;
	struct x86_insn insn;
	uint64_t vaddr = region->low;
	size_t available;
	int err = 0;

	while (vaddr < region->high && !err) {
		code = elf_image_bytes(image, vaddr, &available);
		if (!code)
			break;
		if (available > region->high - vaddr)
			available = region->high - vaddr;
		if (x86_decode(code, available, vaddr, &insn)) {
			previous = X86_OTHER;
			vaddr++;
			continue;
		}

		mark_instruction(sweep, vaddr);
		if (previous == X86_INT3 && insn.kind != X86_INT3 && insn.kind != X86_UD2)
			err = list_add(&sweep->starts, vaddr);
		if (!err && insn.kind == X86_CALL) {
			err = list_add(&sweep->call_from, vaddr);
			if (!err)
				err = list_add(&sweep->call_to, insn.target);
		}

		previous = insn.kind;
		vaddr += insn.length;
	}
	return err;
}

/* Returns whether decoding from a little before vaddr ends exactly at it.
 * This separates a real call instruction from an E8 byte inside another
 * instruction. */
static bool lands_on(const struct elf_image *image, const struct elf_segment *segment, uint64_t vaddr)
{
	uint64_t position = vaddr - segment->vaddr >= CALL_CHECK_BYTES ? vaddr - CALL_CHECK_BYTES :
									 segment->vaddr;
	const uint8_t *code;
	struct x86_insn insn;
	size_t available;

	while (position < vaddr) {
		code = elf_image_bytes(image, position, &available);
		if (!code)
			return false;
		if (x86_decode(code, available, position, &insn))
			position++;
		else
			position += insn.length;
	}
	return position == vaddr;
}

static struct sweep *sweep_containing(struct sweep *sweeps, size_t count, uint64_t vaddr)
{
	size_t low = 0, high = count, middle;

	while (low < high) {
		middle = low + (high - low) / 2;
		if (vaddr < sweeps[middle].region->low)
			high = middle;
		else if (vaddr >= sweeps[middle].region->high)
			low = middle + 1;
		else
			return &sweeps[middle];
	}
	return NULL;
}

/* One pass over the executable segments for direct calls from outside the
 * swept regions into them: BoringSSL's API functions are called from the
 * embedding program's own code (Chromium's net/ calls SSL_write). */
static int add_outside_callers(const struct elf_image *image, struct sweep *sweeps, size_t count)
{
	const struct elf_segment *segment;
	const uint8_t *base, *found;
	struct sweep *sweep;
	uint64_t call, target;
	int32_t displacement;
	size_t i, position;
	int err;

	for (i = 0; i < image->segment_count; i++) {
		segment = &image->segments[i];
		if (!segment->executable)
			continue;
		base = image->bytes + segment->offset;

		for (position = 0; position + 5 <= segment->size; position++) {
			found = memchr(base + position, 0xe8, segment->size - position - 4);
			if (!found)
				break;
			position = found - base;

			memcpy(&displacement, found + 1, 4);
			call = segment->vaddr + position;
			target = call + 5 + (int64_t)displacement;
			sweep = sweep_containing(sweeps, count, target);
			if (!sweep || (call >= sweep->region->low && call < sweep->region->high))
				continue;
			if (!is_instruction(sweep, target) || !lands_on(image, segment, call))
				continue;
			err = list_add(&sweep->starts, target);
			if (err)
				return err;
		}
	}
	return 0;
}

static int add_inside_callers_and_fdes(const struct elf_image *image, struct sweep *sweep)
{
	struct code_region *region = sweep->region;
	uint64_t *fde_starts;
	size_t i, fde_count;
	int err = 0;

	for (i = 0; i < sweep->call_to.count && !err; i++) {
		if (is_instruction(sweep, sweep->call_to.items[i]))
			err = list_add(&sweep->starts, sweep->call_to.items[i]);
	}

	fde_starts = calloc(MAX_FDE_STARTS, sizeof(*fde_starts));
	if (!fde_starts)
		return -ENOMEM;
	fde_count = elf_image_fde_starts(image, region->low, region->high, fde_starts, MAX_FDE_STARTS);
	if (fde_count > MAX_FDE_STARTS)
		fde_count = MAX_FDE_STARTS;
	for (i = 0; i < fde_count && !err; i++)
		err = list_add(&sweep->starts, fde_starts[i]);
	free(fde_starts);
	return err;
}

/* Moves the sweep's results into its region and frees the rest. */
static int finish_region(struct sweep *sweep)
{
	struct code_region *region = sweep->region;
	size_t i;

	sort_unique(&sweep->starts);
	region->starts = sweep->starts.items;
	region->start_count = sweep->starts.count;
	sweep->starts.items = NULL;

	region->calls = calloc(sweep->call_from.count ? sweep->call_from.count : 1, sizeof(*region->calls));
	if (!region->calls)
		return -ENOMEM;
	for (i = 0; i < sweep->call_from.count; i++)
		region->calls[i] = (struct call_edge){ sweep->call_from.items[i], sweep->call_to.items[i] };
	region->call_count = sweep->call_from.count;
	return 0;
}

static void free_sweep(struct sweep *sweep)
{
	free(sweep->instruction_starts);
	free(sweep->starts.items);
	free(sweep->call_from.items);
	free(sweep->call_to.items);
}

static const struct elf_segment *code_segment(const struct elf_image *image, uint64_t vaddr)
{
	const struct elf_segment *segment;
	size_t i;

	for (i = 0; i < image->segment_count; i++) {
		segment = &image->segments[i];
		if (segment->executable && vaddr >= segment->vaddr && vaddr - segment->vaddr < segment->size)
			return segment;
	}
	return NULL;
}

/* Groups the sorted addresses into regions: addresses closer than
 * CLUSTER_GAP_BYTES in the same segment share one, widened by MARGIN_BYTES
 * on both sides and clipped to the segment. */
static int plan_regions(struct code_map *map, const uint64_t *addresses, size_t count)
{
	const struct elf_segment *segment, *current = NULL;
	struct code_region *region = NULL;
	uint64_t segment_end;
	size_t i;

	map->regions = calloc(count ? count : 1, sizeof(*map->regions));
	if (!map->regions)
		return -ENOMEM;

	for (i = 0; i < count; i++) {
		segment = code_segment(map->image, addresses[i]);
		if (!segment)
			continue;
		segment_end = segment->vaddr + segment->size;

		if (region && segment == current && addresses[i] < region->high + CLUSTER_GAP_BYTES) {
			region->high = addresses[i] + MARGIN_BYTES < segment_end ? addresses[i] + MARGIN_BYTES :
										 segment_end;
			continue;
		}
		region = &map->regions[map->region_count++];
		current = segment;
		region->low = addresses[i] - segment->vaddr > MARGIN_BYTES ? addresses[i] - MARGIN_BYTES :
									  segment->vaddr;
		region->high = addresses[i] + MARGIN_BYTES < segment_end ? addresses[i] + MARGIN_BYTES :
									segment_end;
		/* Regions never overlap: the previous one may have reached into
		 * this one's margin. */
		if (map->region_count > 1 && region->low < region[-1].high)
			region->low = region[-1].high;
	}
	return 0;
}

int code_map_build(struct code_map *map, const struct elf_image *image, const uint64_t *addresses,
		   size_t count)
{
	struct sweep *sweeps = NULL;
	size_t i, swept = 0;
	int err;

	memset(map, 0, sizeof(*map));
	map->image = image;

	err = plan_regions(map, addresses, count);
	if (err)
		goto cleanup;

	sweeps = calloc(map->region_count ? map->region_count : 1, sizeof(*sweeps));
	if (!sweeps) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < map->region_count; i++, swept++) {
		sweeps[i].region = &map->regions[i];
		sweeps[i].instruction_starts = calloc((map->regions[i].high - map->regions[i].low) / 8 + 1, 1);
		if (!sweeps[i].instruction_starts) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = sweep_region(image, &sweeps[i]);
		if (!err)
			err = add_inside_callers_and_fdes(image, &sweeps[i]);
		if (err)
			goto cleanup;
	}

	err = add_outside_callers(image, sweeps, map->region_count);
	for (i = 0; i < map->region_count && !err; i++)
		err = finish_region(&sweeps[i]);

	for (i = 0; i < map->region_count; i++)
		log_debug("boringssl: swept 0x%llx-0x%llx: %zu function starts, %zu calls",
			  (unsigned long long)map->regions[i].low, (unsigned long long)map->regions[i].high,
			  map->regions[i].start_count, map->regions[i].call_count);

cleanup:
	for (i = 0; i < swept; i++)
		free_sweep(&sweeps[i]);
	free(sweeps);
	if (err)
		code_map_free(map);
	return err;
}

void code_map_free(struct code_map *map)
{
	size_t i;

	for (i = 0; i < map->region_count; i++) {
		free(map->regions[i].starts);
		free(map->regions[i].calls);
	}
	free(map->regions);
	memset(map, 0, sizeof(*map));
}

static const struct code_region *region_containing(const struct code_map *map, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < map->region_count; i++) {
		if (vaddr >= map->regions[i].low && vaddr < map->regions[i].high)
			return &map->regions[i];
	}
	return NULL;
}

int code_map_function(const struct code_map *map, uint64_t vaddr, uint64_t *start, uint64_t *end)
{
	const struct code_region *region;
	size_t low = 0, high, middle;

	if (elf_image_fde_bounds(map->image, vaddr, start, end) == 0)
		return 0;

	region = region_containing(map, vaddr);
	if (!region || region->start_count == 0 || region->starts[0] > vaddr)
		return -ENOENT;

	/* The last start not above vaddr, then the next one. */
	high = region->start_count;
	while (high - low > 1) {
		middle = low + (high - low) / 2;
		if (region->starts[middle] <= vaddr)
			low = middle;
		else
			high = middle;
	}
	*start = region->starts[low];
	*end = low + 1 < region->start_count ? region->starts[low + 1] : region->high;
	return 0;
}

size_t code_map_callers(const struct code_map *map, uint64_t target, uint64_t *callers, size_t capacity)
{
	const struct code_region *region;
	size_t i, j, found = 0;

	for (i = 0; i < map->region_count; i++) {
		region = &map->regions[i];
		for (j = 0; j < region->call_count; j++) {
			if (region->calls[j].to != target)
				continue;
			if (found < capacity)
				callers[found] = region->calls[j].from;
			found++;
		}
	}
	return found;
}

int code_map_transfers(const struct code_map *map, uint64_t start, uint64_t end, uint64_t *targets,
		       size_t capacity)
{
	const uint8_t *code;
	struct x86_insn insn;
	uint64_t vaddr = start;
	size_t available, found = 0;
	bool leaves;

	while (vaddr < end) {
		code = elf_image_bytes(map->image, vaddr, &available);
		if (!code)
			return -ENOENT;
		if (x86_decode(code, available, vaddr, &insn)) {
			vaddr++;
			continue;
		}

		leaves = insn.target < start || insn.target >= end;
		if (insn.kind == X86_CALL || (insn.kind == X86_JMP && leaves)) {
			if (found < capacity)
				targets[found] = insn.target;
			found++;
		}
		vaddr += insn.length;
	}
	return found;
}
