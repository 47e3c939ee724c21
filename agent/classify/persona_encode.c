/*
 * Text transformations for persona forms, each written to give the bytes
 * that a browser-side SDK produces with encodeURIComponent,
 * URLSearchParams, btoa and JSON.stringify, and digests through OpenSSL 3's
 * EVP interface.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "persona_internal.h"

void persona_text_append(struct persona_text *text, const void *bytes, size_t length)
{
	if (text->failed || length == 0)
		return;
	if (text->length + length + 1 > text->capacity) {
		size_t capacity = text->capacity ? text->capacity : 64;
		char *grown;

		while (capacity < text->length + length + 1)
			capacity *= 2;
		grown = realloc(text->bytes, capacity);
		if (!grown) {
			text->failed = true;
			return;
		}
		text->bytes = grown;
		text->capacity = capacity;
	}
	memcpy(text->bytes + text->length, bytes, length);
	text->length += length;
	text->bytes[text->length] = '\0';
}

void persona_text_free(struct persona_text *text)
{
	free(text->bytes);
	memset(text, 0, sizeof(*text));
}

static void append_byte(struct persona_text *text, char byte)
{
	persona_text_append(text, &byte, 1);
}

static void append_escape(struct persona_text *text, uint8_t byte)
{
	static const char upper_digits[] = "0123456789ABCDEF";
	char escape[3] = { '%', upper_digits[byte >> 4], upper_digits[byte & 0x0f] };

	persona_text_append(text, escape, sizeof(escape));
}

static bool is_ascii_alnum(uint8_t byte)
{
	return (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
}

/* encodeURIComponent (ECMAScript) leaves letters, digits and
 * - _ . ! ~ * ' ( ) as they are and writes every other UTF-8 byte as %XX
 * with uppercase digits. */
void persona_encode_url(struct persona_text *out, const char *input, size_t length)
{
	size_t i;

	for (i = 0; i < length; i++) {
		uint8_t byte = (uint8_t)input[i];

		if (is_ascii_alnum(byte) || (byte != 0 && strchr("-_.!~*'()", byte)))
			append_byte(out, (char)byte);
		else
			append_escape(out, byte);
	}
}

/* The application/x-www-form-urlencoded serializer of the WHATWG URL
 * standard, which URLSearchParams and HTML forms use: letters, digits and
 * * - . _ stay, a space becomes +, every other byte %XX. */
void persona_encode_form(struct persona_text *out, const char *input, size_t length)
{
	size_t i;

	for (i = 0; i < length; i++) {
		uint8_t byte = (uint8_t)input[i];

		if (is_ascii_alnum(byte) || (byte != 0 && strchr("*-._", byte)))
			append_byte(out, (char)byte);
		else if (byte == ' ')
			append_byte(out, '+');
		else
			append_escape(out, byte);
	}
}

/* RFC 4648 section 4, or section 5 with url set; always padded. */
void persona_encode_base64(struct persona_text *out, const uint8_t *input, size_t length, bool url)
{
	static const char standard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url_safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *alphabet = url ? url_safe : standard;
	size_t i;

	for (i = 0; i < length; i += 3) {
		uint32_t group = (uint32_t)input[i] << 16;
		char quad[4];

		if (i + 1 < length)
			group |= (uint32_t)input[i + 1] << 8;
		if (i + 2 < length)
			group |= input[i + 2];
		quad[0] = alphabet[group >> 18 & 0x3f];
		quad[1] = alphabet[group >> 12 & 0x3f];
		quad[2] = i + 1 < length ? alphabet[group >> 6 & 0x3f] : '=';
		quad[3] = i + 2 < length ? alphabet[group & 0x3f] : '=';
		persona_text_append(out, quad, sizeof(quad));
	}
}

void persona_encode_hex(struct persona_text *out, const uint8_t *input, size_t length, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i;

	for (i = 0; i < length; i++) {
		char pair[2] = { digits[input[i] >> 4], digits[input[i] & 0x0f] };

		persona_text_append(out, pair, sizeof(pair));
	}
}

/* Returns the letter of JSON's two-character escape for byte, or 0. */
static char json_short_escape(uint8_t byte)
{
	switch (byte) {
	case '\b':
		return 'b';
	case '\t':
		return 't';
	case '\n':
		return 'n';
	case '\f':
		return 'f';
	case '\r':
		return 'r';
	case '"':
		return '"';
	case '\\':
		return '\\';
	default:
		return 0;
	}
}

/* The inside of a JSON string as JSON.stringify writes it (QuoteJSONString
 * in ECMAScript): " and \ and the C0 controls escaped, with short forms
 * where JSON has them and \u00xx in lowercase otherwise.
 * With escape_markup, @ < > & are written as \u0040 \u003c \u003e \u0026
 * as well, as Go's encoding/json does for < > & and some tracking SDKs
 * do for @. */
void persona_encode_json(struct persona_text *out, const char *input, size_t length, bool escape_markup)
{
	static const char lower_digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < length; i++) {
		uint8_t byte = (uint8_t)input[i];
		char short_escape = json_short_escape(byte);

		if (short_escape) {
			char escape[2] = { '\\', short_escape };

			persona_text_append(out, escape, sizeof(escape));
		} else if (byte < 0x20 || (escape_markup && byte != 0 && strchr("@<>&", byte))) {
			char escape[6] = {
				'\\', 'u', '0', '0', lower_digits[byte >> 4], lower_digits[byte & 0x0f]};

			persona_text_append(out, escape, sizeof(escape));
		} else {
			append_byte(out, (char)byte);
		}
	}
}

size_t persona_digest(enum persona_step step, const void *input, size_t length, uint8_t *digest)
{
	const EVP_MD *type;
	unsigned int digest_bytes = 0;

	switch (step) {
	case PERSONA_STEP_MD5:
		type = EVP_md5();
		break;
	case PERSONA_STEP_SHA1:
		type = EVP_sha1();
		break;
	case PERSONA_STEP_SHA256:
		type = EVP_sha256();
		break;
	case PERSONA_STEP_SHA512:
		type = EVP_sha512();
		break;
	default:
		return 0;
	}
	if (!EVP_Digest(input, length, digest, &digest_bytes, type, NULL))
		return 0;
	return digest_bytes;
}
