/*
 * HPACK (RFC 7541) for the HTTP/2 parser: one decoder per direction of a
 * connection, on top of libnghttp2's inflater (nghttp2_hd_inflate_*, as in
 * libnghttp2 1.52, the version Debian 12 ships).
 *
 * The decoder walks each header block one field representation at a time
 * (RFC 7541 section 6) and hands the representations to nghttp2 one by one.
 * Before each, it compares the index the representation refers to with the
 * number of entries in the inflater's table
 * (nghttp2_hd_inflate_get_num_table_entries), because nghttp2 fails the
 * whole block on an index beyond its table.
 *
 * When the capture joins a connection late, or loses a header block, the
 * encoder's dynamic table contains entries that the inflater never saw. The
 * inflater then starts empty (H2_HPACK_PARTIAL). Both tables insert at the
 * front in the same order and evict at the back, so the shorter of the two
 * is always the front of the longer, and an index within the inflater's
 * table names the same entry in both. A field whose index points beyond it
 * refers to an entry added before the capture saw the table, and is
 * reported unknown. A literal whose name is such an entry goes to nghttp2
 * with a placeholder name instead: its value still decodes, and with
 * incremental indexing the new entry still takes its place in the table, so
 * every entry added after the attach resolves exactly. The placeholder then
 * marks the name unknown wherever that entry is used.
 *
 * A placeholder name and a guessed table size make the inflater evict at
 * other times than the encoder. That changes only how long the common front
 * is, never what an index within it names. An entry evicted too early
 * decodes as unknown, and the encoder never refers to one kept too long.
 */
#include <errno.h>
#include <string.h>

#include "http2_internal.h"

/*
 * The name given to nghttp2 for a literal whose name is an entry the
 * inflater never saw. A field name cannot contain NUL (RFC 9113 section
 * 8.2.1), so an encoder that follows the RFC never sends this name, and
 * nghttp2's inflater does not check names.
 */
static const uint8_t placeholder_name = 0x00;

/* nghttp2 1.52 rejects a string whose encoded length is larger than this
 * (NGHTTP2_HD_MAX_NV in its lib/nghttp2_hd.h, not in the public header). */
#define NGHTTP2_STRING_MAX_BYTES 65536u

/* Bytes of the largest integer (RFC 7541 section 5.1) written here: the
 * prefix byte and five continuation bytes cover 32 bits. */
#define INTEGER_MAX_BYTES 6

/* Representations (RFC 7541 section 6), by their first bits. */
enum representation_type {
	REPRESENTATION_INDEXED,          /* 1xxxxxxx, section 6.1 */
	REPRESENTATION_INCREMENTAL,      /* 01xxxxxx, section 6.2.1 */
	REPRESENTATION_SIZE_UPDATE,      /* 001xxxxx, section 6.3 */
	REPRESENTATION_NEVER_INDEXED,    /* 0001xxxx, section 6.2.3 */
	REPRESENTATION_WITHOUT_INDEXING, /* 0000xxxx, section 6.2.2 */
};

/* The extent of one representation in its block, as byte offsets. */
struct representation {
	enum representation_type type;
	/* The index of an indexed field or of a literal's name (0 for a
	 * literal name), or the new size of a size update. */
	uint32_t index;
	size_t start;
	/* The value string, from its length prefix. */
	size_t value_start;
	size_t end;
	/* Encoded lengths of the name (0 for an indexed name) and value. */
	uint32_t name_bytes;
	uint32_t value_bytes;
};

/* Decodes an integer with an N-bit prefix (RFC 7541 section 5.1) at
 * data[*at]. Returns 0, or -EINVAL when the block ends inside it or it does
 * not fit in 32 bits. */
static int integer_decode(const uint8_t *data, size_t length, size_t *at, unsigned int prefix_bits,
			  uint32_t *value)
{
	uint32_t prefix_max = (1u << prefix_bits) - 1;
	uint64_t result;
	unsigned int shift = 0;

	if (*at >= length)
		return -EINVAL;
	result = data[*at] & prefix_max;
	(*at)++;
	if (result < prefix_max) {
		*value = (uint32_t)result;
		return 0;
	}

	for (;;) {
		uint8_t byte;

		if (*at >= length || shift > 28)
			return -EINVAL;
		byte = data[(*at)++];
		result += (uint64_t)(byte & 0x7f) << shift;
		if (result > UINT32_MAX)
			return -EINVAL;
		if (!(byte & 0x80))
			break;
		shift += 7;
	}
	*value = (uint32_t)result;
	return 0;
}

/* Writes an integer with an N-bit prefix after the pattern bits in `first`.
 * Returns the bytes written, at most INTEGER_MAX_BYTES. */
static size_t integer_encode(uint8_t *out, uint8_t first, unsigned int prefix_bits, uint32_t value)
{
	uint32_t prefix_max = (1u << prefix_bits) - 1;
	size_t bytes = 1;

	if (value < prefix_max) {
		out[0] = (uint8_t)(first | value);
		return 1;
	}
	out[0] = (uint8_t)(first | prefix_max);
	value -= prefix_max;
	while (value >= 0x80) {
		out[bytes++] = (uint8_t)(0x80 | (value & 0x7f));
		value >>= 7;
	}
	out[bytes++] = (uint8_t)value;
	return bytes;
}

/* Skips a string literal (RFC 7541 section 5.2) and returns its encoded
 * length in *bytes. */
static int string_skip(const uint8_t *data, size_t length, size_t *at, uint32_t *bytes)
{
	if (integer_decode(data, length, at, 7, bytes) < 0)
		return -EINVAL;
	if (*bytes > length - *at)
		return -EINVAL;
	*at += *bytes;
	return 0;
}

/* Finds the extent of the representation that starts at block[at]. */
static int representation_parse(const uint8_t *block, size_t length, size_t at, struct representation *r)
{
	uint8_t first = block[at];
	unsigned int prefix_bits;

	memset(r, 0, sizeof(*r));
	r->start = at;
	if (first & 0x80) {
		r->type = REPRESENTATION_INDEXED;
		prefix_bits = 7;
	} else if (first & 0x40) {
		r->type = REPRESENTATION_INCREMENTAL;
		prefix_bits = 6;
	} else if (first & 0x20) {
		r->type = REPRESENTATION_SIZE_UPDATE;
		prefix_bits = 5;
	} else if (first & 0x10) {
		r->type = REPRESENTATION_NEVER_INDEXED;
		prefix_bits = 4;
	} else {
		r->type = REPRESENTATION_WITHOUT_INDEXING;
		prefix_bits = 4;
	}

	if (integer_decode(block, length, &at, prefix_bits, &r->index) < 0)
		return -EINVAL;
	if (r->type == REPRESENTATION_INDEXED || r->type == REPRESENTATION_SIZE_UPDATE) {
		r->end = at;
		return 0;
	}

	if (r->index == 0 && string_skip(block, length, &at, &r->name_bytes) < 0)
		return -EINVAL;
	r->value_start = at;
	if (string_skip(block, length, &at, &r->value_bytes) < 0)
		return -EINVAL;
	r->end = at;
	return 0;
}

/* ---- the inflater ---- */

static int error_from_nghttp2(long error)
{
	return error == NGHTTP2_ERR_NOMEM ? -ENOMEM : -EINVAL;
}

/*
 * nghttp2 1.60 added nghttp2_hd_inflate_hd3 (returning nghttp2_ssize) and
 * deprecated nghttp2_hd_inflate_hd2, which 1.52 has.
 */
static long inflate_call(nghttp2_hd_inflater *inflater, nghttp2_nv *nv, int *flags, const uint8_t *in,
			 size_t length, int final)
{
#if NGHTTP2_VERSION_NUM >= 0x013c00
	return (long)nghttp2_hd_inflate_hd3(inflater, nv, flags, in, length, final);
#else
	return (long)nghttp2_hd_inflate_hd2(inflater, nv, flags, in, length, final);
#endif
}

/*
 * Feeds bytes that end at a representation's end, or its first part. Returns
 * 1 when a field was emitted into *nv (valid until the next call), 0 when
 * every byte was taken without one, or a negative errno. A field emitted
 * before the last byte means that nghttp2 and representation_parse disagree
 * about where the representation ends, which fails the block.
 */
static int inflate_bytes(struct h2_hpack *hpack, const uint8_t *in, size_t length, nghttp2_nv *nv)
{
	while (length > 0) {
		int flags = 0;
		long used = inflate_call(hpack->inflater, nv, &flags, in, length, 0);

		if (used < 0)
			return error_from_nghttp2(used);
		if ((size_t)used > length)
			return -EINVAL;
		in += used;
		length -= (size_t)used;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			return length == 0 ? 1 : -EINVAL;
		if (used == 0)
			return -EINVAL;
	}
	return 0;
}

/* Feeds a dynamic table size update (RFC 7541 section 6.3). */
static int inflate_size_update(struct h2_hpack *hpack, uint32_t table_bytes)
{
	uint8_t update[INTEGER_MAX_BYTES];
	size_t bytes = integer_encode(update, 0x20, 5, table_bytes);
	nghttp2_nv nv;

	return inflate_bytes(hpack, update, bytes, &nv) == 0 ? 0 : -EINVAL;
}

static void inflater_delete(struct h2_hpack *hpack)
{
	if (hpack->inflater)
		nghttp2_hd_inflate_del(hpack->inflater);
	hpack->inflater = NULL;
}

/*
 * Replaces the inflater with an empty one that assumes nothing about the
 * encoder's table. Its limit is the decoder's setting when known, else the
 * largest mirrored size. The size update fed right away raises the
 * inflater's table to that limit too, so that entries stay in it as long
 * as they can stay in the encoder's.
 */
static int inflater_restart(struct h2_hpack *hpack)
{
	size_t table_bytes = hpack->settings_known ? hpack->settings_bytes : H2_TABLE_MAX_BYTES;

	inflater_delete(hpack);
	hpack->mode = H2_HPACK_PARTIAL;
	if (nghttp2_hd_inflate_new(&hpack->inflater) != 0) {
		hpack->inflater = NULL;
		return -ENOMEM;
	}

	hpack->settings_bytes = table_bytes;
	if (nghttp2_hd_inflate_change_table_size(hpack->inflater, table_bytes) != 0 ||
	    inflate_size_update(hpack, (uint32_t)table_bytes) < 0) {
		inflater_delete(hpack);
		return -ENOMEM;
	}
	return 0;
}

int h2_hpack_init(struct h2_hpack *hpack)
{
	memset(hpack, 0, sizeof(*hpack));
	hpack->mode = H2_HPACK_FRESH;
	hpack->settings_bytes = H2_DEFAULT_TABLE_BYTES;
	if (nghttp2_hd_inflate_new(&hpack->inflater) != 0) {
		hpack->inflater = NULL;
		return -ENOMEM;
	}
	return 0;
}

void h2_hpack_free(struct h2_hpack *hpack)
{
	inflater_delete(hpack);
}

/* Makes the table unknown: a header block of this direction was lost, so
 * every entry in the inflater's table may have moved to another index. */
void h2_hpack_lose(struct h2_hpack *hpack)
{
	if (hpack->mode == H2_HPACK_FRESH) {
		hpack->lost = true;
		return;
	}
	inflater_restart(hpack);
}

/* Changes the limit the inflater enforces on size updates. nghttp2 accepts
 * the call only between header blocks, which is where every caller is. */
static void settings_apply(struct h2_hpack *hpack, uint32_t table_bytes)
{
	size_t limit = table_bytes < H2_TABLE_MAX_BYTES ? table_bytes : H2_TABLE_MAX_BYTES;
	size_t table_max;

	hpack->settings_bytes = limit;
	hpack->settings_known = true;
	if (!hpack->inflater)
		return;

	/* A limit below the current table size makes nghttp2 shrink the table
	 * and fail the next block unless it starts with a size update. The
	 * encoder must send one (RFC 7541 section 4.2), but it may already
	 * have sent it before its acknowledgement, so one is fed here. */
	table_max = nghttp2_hd_inflate_get_max_dynamic_table_size(hpack->inflater);
	if (nghttp2_hd_inflate_change_table_size(hpack->inflater, limit) != 0) {
		inflater_restart(hpack);
		return;
	}
	if (table_max > limit && inflate_size_update(hpack, (uint32_t)limit) < 0)
		inflater_restart(hpack);
}

/*
 * Notes a SETTINGS_HEADER_TABLE_SIZE that the decoder of this direction
 * announced in its own SETTINGS frame. It takes effect when the encoder
 * acknowledges it, as an nghttp2 session does. A larger limit is applied at
 * once as well, so that a size update the encoder sends before its
 * acknowledgement is not rejected.
 */
void h2_hpack_settings_announced(struct h2_hpack *hpack, uint32_t table_bytes)
{
	if (hpack->pending_count == H2_PENDING_SETTINGS) {
		settings_apply(hpack, hpack->pending[0]);
		memmove(hpack->pending, hpack->pending + 1, sizeof(hpack->pending[0]) * (H2_PENDING_SETTINGS - 1));
		hpack->pending_count--;
	}
	hpack->pending[hpack->pending_count++] = table_bytes;

	if (table_bytes > hpack->settings_bytes && hpack->settings_bytes < H2_TABLE_MAX_BYTES)
		settings_apply(hpack, table_bytes);
}

/* Applies the oldest announced setting: the encoder acknowledged a SETTINGS
 * frame (RFC 9113 section 6.5.3). */
void h2_hpack_settings_acknowledged(struct h2_hpack *hpack)
{
	uint32_t table_bytes;

	if (hpack->pending_count == 0)
		return;
	table_bytes = hpack->pending[0];
	memmove(hpack->pending, hpack->pending + 1, sizeof(hpack->pending[0]) * (hpack->pending_count - 1));
	hpack->pending_count--;
	settings_apply(hpack, table_bytes);
}

/* ---- header blocks ---- */

struct block_decode {
	struct h2_hpack *hpack;
	const uint8_t *block;
	h2_field_fn on_field;
	void *user;
	/* A field was fed, so size updates are no longer allowed. */
	bool field_seen;
};

static void field_emit(struct block_decode *decode, const nghttp2_nv *nv)
{
	const uint8_t *name = nv->name;

	if (nv->namelen == 1 && nv->name[0] == placeholder_name)
		name = NULL;
	if (decode->on_field)
		decode->on_field(decode->user, name, name ? nv->namelen : 0, nv->value, nv->valuelen);
}

static void field_emit_unknown(struct block_decode *decode)
{
	if (decode->on_field)
		decode->on_field(decode->user, NULL, 0, NULL, 0);
}

static size_t table_entries(struct block_decode *decode)
{
	return nghttp2_hd_inflate_get_num_table_entries(decode->hpack->inflater);
}

/*
 * A size update larger than H2_TABLE_MAX_BYTES is applied as that size, and
 * the table is no longer complete. One larger than the inflater's limit is
 * accepted by raising the limit, because the limit may be out of date (a
 * SETTINGS frame lost, or the encoder ahead of its acknowledgement). A size
 * update after the first field is invalid (RFC 7541 section 4.2).
 */
static int size_update_decode(struct block_decode *decode, const struct representation *r)
{
	struct h2_hpack *hpack = decode->hpack;
	uint32_t table_bytes = r->index;

	if (decode->field_seen)
		return -EINVAL;
	if (table_bytes > H2_TABLE_MAX_BYTES) {
		table_bytes = H2_TABLE_MAX_BYTES;
		if (hpack->mode == H2_HPACK_COMPLETE)
			hpack->mode = H2_HPACK_PARTIAL;
	}
	if (table_bytes > hpack->settings_bytes) {
		if (nghttp2_hd_inflate_change_table_size(hpack->inflater, table_bytes) != 0)
			return -EINVAL;
		hpack->settings_bytes = table_bytes;
	}

	if (inflate_size_update(hpack, table_bytes) < 0)
		return -EINVAL;

	/* An empty table leaves no entry the inflater has not seen. */
	if (table_bytes == 0)
		hpack->mode = H2_HPACK_COMPLETE;
	return 0;
}

static int indexed_decode(struct block_decode *decode, const struct representation *r)
{
	nghttp2_nv nv;
	int rv;

	if (r->index == 0)
		return -EINVAL;
	if (r->index > table_entries(decode)) {
		/* With a complete table this is not an older entry: the
		 * block or the table is wrong, so neither can be trusted. */
		if (decode->hpack->mode == H2_HPACK_COMPLETE)
			return -EINVAL;
		field_emit_unknown(decode);
		return 0;
	}

	rv = inflate_bytes(decode->hpack, decode->block + r->start, r->end - r->start, &nv);
	if (rv <= 0)
		return rv < 0 ? rv : -EINVAL;
	field_emit(decode, &nv);
	return 0;
}

/* Feeds a literal whose name index points beyond the inflater's table,
 * with the placeholder as a literal name and the value as sent. */
static int literal_decode_placeholder(struct block_decode *decode, const struct representation *r)
{
	uint8_t head[3];
	nghttp2_nv nv;
	int rv;

	switch (r->type) {
	case REPRESENTATION_INCREMENTAL:
		head[0] = 0x40;
		break;
	case REPRESENTATION_NEVER_INDEXED:
		head[0] = 0x10;
		break;
	default:
		head[0] = 0x00;
		break;
	}
	head[1] = 1; /* not Huffman-coded, one byte */
	head[2] = placeholder_name;

	rv = inflate_bytes(decode->hpack, head, sizeof(head), &nv);
	if (rv != 0)
		return rv < 0 ? rv : -EINVAL;
	rv = inflate_bytes(decode->hpack, decode->block + r->value_start, r->end - r->value_start, &nv);
	if (rv <= 0)
		return rv < 0 ? rv : -EINVAL;
	field_emit(decode, &nv);
	return 0;
}

/*
 * A literal longer than nghttp2 accepts is reported unknown without being
 * fed. If it was added to the encoder's table, every entry after it moved
 * by one, so the inflater starts again empty.
 */
static int literal_skip_oversized(struct block_decode *decode, const struct representation *r)
{
	field_emit_unknown(decode);
	if (r->type != REPRESENTATION_INCREMENTAL)
		return 0;
	return inflater_restart(decode->hpack);
}

static int literal_decode(struct block_decode *decode, const struct representation *r)
{
	bool name_seen = r->index <= table_entries(decode);
	nghttp2_nv nv;
	int rv;

	if (!name_seen && decode->hpack->mode == H2_HPACK_COMPLETE)
		return -EINVAL;
	if (r->name_bytes > NGHTTP2_STRING_MAX_BYTES || r->value_bytes > NGHTTP2_STRING_MAX_BYTES)
		return literal_skip_oversized(decode, r);
	if (!name_seen)
		return literal_decode_placeholder(decode, r);

	rv = inflate_bytes(decode->hpack, decode->block + r->start, r->end - r->start, &nv);
	if (rv <= 0)
		return rv < 0 ? rv : -EINVAL;
	field_emit(decode, &nv);
	return 0;
}

static int representation_decode(struct block_decode *decode, const struct representation *r)
{
	int rv;

	if (!decode->hpack->inflater)
		return -ENOMEM;

	switch (r->type) {
	case REPRESENTATION_SIZE_UPDATE:
		return size_update_decode(decode, r);
	case REPRESENTATION_INDEXED:
		rv = indexed_decode(decode, r);
		break;
	default:
		rv = literal_decode(decode, r);
		break;
	}
	decode->field_seen = true;
	return rv;
}

/* Ends the block in nghttp2, which checks that it did not end inside a
 * representation. */
static int block_end(struct h2_hpack *hpack)
{
	int flags = 0;
	nghttp2_nv nv;
	long used;

	if (!hpack->inflater)
		return -ENOMEM;
	used = inflate_call(hpack->inflater, &nv, &flags, NULL, 0, 1);
	if (used < 0)
		return error_from_nghttp2(used);
	if (!(flags & NGHTTP2_HD_INFLATE_FINAL))
		return -EINVAL;
	nghttp2_hd_inflate_end_headers(hpack->inflater);
	return 0;
}

/* At the first block, the table is complete when the capture saw the
 * connection from its start and lost nothing since. */
static int decoder_start(struct h2_hpack *hpack, bool table_known)
{
	if (hpack->mode != H2_HPACK_FRESH)
		return 0;
	if (table_known && !hpack->lost && hpack->inflater) {
		hpack->mode = H2_HPACK_COMPLETE;
		hpack->settings_known = true;
		return 0;
	}
	return inflater_restart(hpack);
}

/*
 * Decodes one complete header block, calling on_field (unless NULL) for each
 * field in order. table_known is true when the connection was seen from its
 * start, which only matters for the first block. Returns 0, -ENOMEM, or
 * -EINVAL when the block did not decode. On -EINVAL the fields before the
 * failure were passed on, and the inflater starts again with an unknown
 * table.
 */
int h2_hpack_decode_block(struct h2_hpack *hpack, bool table_known, const uint8_t *block, size_t length,
			  h2_field_fn on_field, void *user)
{
	struct block_decode decode = {
		.hpack = hpack,
		.block = block,
		.on_field = on_field,
		.user = user,
	};
	size_t at = 0;
	int rv;

	rv = decoder_start(hpack, table_known);
	if (rv < 0)
		goto fail;

	while (at < length) {
		struct representation r;

		rv = representation_parse(block, length, at, &r);
		if (rv < 0)
			goto fail;
		rv = representation_decode(&decode, &r);
		if (rv < 0)
			goto fail;
		at = r.end;
	}

	rv = block_end(hpack);
	if (rv < 0)
		goto fail;
	return 0;

fail:
	inflater_restart(hpack);
	return rv;
}
