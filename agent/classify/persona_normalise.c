/*
 * Normalised forms of a persona value: the texts that SDKs hash or send
 * before any encoding. Each kind has its own list (docs/PERSONA.md), first
 * the most normalised form, whose name a chain then carries when two forms
 * give the same text ("lowercase" for an e-mail address already in
 * lowercase, not "trim").
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "persona_internal.h"

static void add_normal(struct persona_normal_forms *forms, struct persona_text *text, enum persona_step first,
		       int second)
{
	struct persona_normal_form *form;
	size_t i;

	if (text->failed) {
		forms->failed = true;
		persona_text_free(text);
		return;
	}
	for (i = 0; i < forms->count; i++) {
		if (forms->items[i].text.length == text->length &&
		    memcmp(forms->items[i].text.bytes, text->bytes, text->length) == 0) {
			persona_text_free(text);
			return;
		}
	}
	if (text->length == 0 || forms->count == PERSONA_MAX_NORMAL_FORMS) {
		persona_text_free(text);
		return;
	}

	form = &forms->items[forms->count++];
	form->text = *text;
	form->steps[0] = (uint8_t)first;
	form->step_count = 1;
	if (second >= 0)
		form->steps[form->step_count++] = (uint8_t)second;
	memset(text, 0, sizeof(*text));
}

static void copy_text(struct persona_text *out, const char *text)
{
	persona_text_append(out, text, strlen(text));
}

static void lowercase_text(struct persona_text *out, const char *text)
{
	size_t i;

	copy_text(out, text);
	for (i = 0; i < out->length && !out->failed; i++)
		out->bytes[i] = (char)tolower((unsigned char)out->bytes[i]);
}

static void uppercase_text(struct persona_text *out, const char *text)
{
	size_t i;

	copy_text(out, text);
	for (i = 0; i < out->length && !out->failed; i++)
		out->bytes[i] = (char)toupper((unsigned char)out->bytes[i]);
}

/* Drops ASCII characters other than letters and digits and keeps the rest,
 * so "Hauptstr. 5" becomes "Hauptstr5" and "São Paulo" "SãoPaulo". */
static void compact_text(struct persona_text *out, const char *text)
{
	size_t i;

	for (i = 0; text[i]; i++) {
		unsigned char byte = (unsigned char)text[i];

		if (byte >= 0x80 || isalnum(byte))
			persona_text_append(out, &text[i], 1);
	}
}

/* Copies the digits of text. In a phone number, "(0)" is the trunk prefix
 * written inside an international number ("+44 (0)20 ..."), which no
 * dialled or stored form contains, so it is skipped. */
static void digits_text(struct persona_text *out, const char *text, bool phone)
{
	size_t i;

	for (i = 0; text[i]; i++) {
		if (phone && strncmp(&text[i], "(0)", 3) == 0) {
			i += 2;
			continue;
		}
		if (isdigit((unsigned char)text[i]))
			persona_text_append(out, &text[i], 1);
	}
}

static bool is_iso_date(const char *text)
{
	static const char shape[] = "dddd-dd-dd";
	size_t i;

	if (strlen(text) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)text[i]) : text[i] != shape[i])
			return false;
	}
	return true;
}

/* Returns the digits of the country calling code of an international number
 * written with the code apart ("+49 151...", "+1-555..."), or 0. */
static size_t country_code_digits(const char *text)
{
	size_t digits = 0;

	if (text[0] != '+')
		return 0;
	while (digits < 4 && isdigit((unsigned char)text[1 + digits]))
		digits++;
	if (digits == 0 || digits > 3 || !strchr(" -.(/", text[1 + digits]) || text[1 + digits] == '\0')
		return 0;
	return digits;
}

/* E.164 with and without "+", and the national form when the country code
 * is written apart: the trunk prefix 0 and the national number, as most
 * countries outside North America dial it, or for +1 the national number
 * alone. */
static void add_phone_forms(struct persona_normal_forms *forms, const char *text)
{
	struct persona_text digits = { 0 };
	struct persona_text form = { 0 };
	size_t code_digits = country_code_digits(text);

	digits_text(&digits, text, true);
	if (digits.failed) {
		forms->failed = true;
		persona_text_free(&digits);
		return;
	}
	if (text[0] == '+') {
		persona_text_append(&form, "+", 1);
		persona_text_append(&form, digits.bytes, digits.length);
		add_normal(forms, &form, PERSONA_STEP_E164, -1);
	}
	if (code_digits > 0 && digits.length > code_digits) {
		if (!(code_digits == 1 && digits.bytes[0] == '1'))
			persona_text_append(&form, "0", 1);
		persona_text_append(&form, digits.bytes + code_digits, digits.length - code_digits);
		add_normal(forms, &form, PERSONA_STEP_NATIONAL, -1);
	}
	add_normal(forms, &digits, PERSONA_STEP_DIGITS, -1);

	copy_text(&form, text);
	add_normal(forms, &form, PERSONA_STEP_TRIM, -1);
}

/* Lowercase, its letters and digits only, and the text as given: names,
 * places and codes, which Meta's advanced matching sends lowercased and
 * compacted ("newyork"). */
static void add_text_forms(struct persona_normal_forms *forms, const char *text)
{
	struct persona_text form = { 0 };
	struct persona_text lower = { 0 };

	lowercase_text(&lower, text);
	if (lower.failed) {
		forms->failed = true;
		return;
	}
	compact_text(&form, lower.bytes);
	add_normal(forms, &lower, PERSONA_STEP_LOWERCASE, -1);
	add_normal(forms, &form, PERSONA_STEP_LOWERCASE, PERSONA_STEP_COMPACT);
	copy_text(&form, text);
	add_normal(forms, &form, PERSONA_STEP_TRIM, -1);
}

static void add_kind_forms(struct persona_normal_forms *forms, enum persona_kind kind, const char *text)
{
	struct persona_text form = { 0 };

	switch (kind) {
	case PERSONA_KIND_PHONE:
		add_phone_forms(forms, text);
		return;
	case PERSONA_KIND_PAYMENT_CARD:
		digits_text(&form, text, false);
		add_normal(forms, &form, PERSONA_STEP_DIGITS, -1);
		break;
	case PERSONA_KIND_DATE_OF_BIRTH:
		if (is_iso_date(text)) {
			persona_text_append(&form, text, 4);
			persona_text_append(&form, text + 5, 2);
			persona_text_append(&form, text + 8, 2);
			add_normal(forms, &form, PERSONA_STEP_YYYYMMDD, -1);
		}
		break;
	case PERSONA_KIND_IBAN:
		compact_text(&form, text);
		add_normal(forms, &form, PERSONA_STEP_TRIM, PERSONA_STEP_COMPACT);
		lowercase_text(&form, text);
		if (!form.failed) {
			struct persona_text lower_compact = { 0 };

			compact_text(&lower_compact, form.bytes);
			add_normal(forms, &lower_compact, PERSONA_STEP_LOWERCASE, PERSONA_STEP_COMPACT);
		}
		persona_text_free(&form);
		break;
	case PERSONA_KIND_USER_ID:
	case PERSONA_KIND_OTHER:
		/* Identifiers are sent as they are; lowercase comes second. */
		copy_text(&form, text);
		add_normal(forms, &form, PERSONA_STEP_TRIM, -1);
		lowercase_text(&form, text);
		add_normal(forms, &form, PERSONA_STEP_LOWERCASE, -1);
		return;
	case PERSONA_KIND_EMAIL:
	case PERSONA_KIND_IP_ADDRESS:
		lowercase_text(&form, text);
		add_normal(forms, &form, PERSONA_STEP_LOWERCASE, -1);
		break;
	case PERSONA_KIND_GENDER: {
		/* Meta's advanced matching sends "f" or "m", hashed. */
		struct persona_text initial = { 0 };

		lowercase_text(&form, text);
		if (!form.failed && isalpha((unsigned char)form.bytes[0]))
			persona_text_append(&initial, form.bytes, 1);
		add_normal(forms, &form, PERSONA_STEP_LOWERCASE, -1);
		add_normal(forms, &initial, PERSONA_STEP_LOWERCASE, PERSONA_STEP_INITIAL);
		break;
	}
	default:
		add_text_forms(forms, text);
		return;
	}

	copy_text(&form, text);
	add_normal(forms, &form, PERSONA_STEP_TRIM, -1);
}

int persona_normal_forms(struct persona_normal_forms *forms, enum persona_kind kind, const char *text)
{
	memset(forms, 0, sizeof(*forms));
	add_kind_forms(forms, kind, text);
	if (forms->failed) {
		persona_normal_forms_free(forms);
		return -ENOMEM;
	}
	return 0;
}

void persona_normal_forms_free(struct persona_normal_forms *forms)
{
	size_t i;

	for (i = 0; i < forms->count; i++)
		persona_text_free(&forms->items[i].text);
	memset(forms, 0, sizeof(*forms));
}

char *persona_normalised_value(enum persona_kind kind, const char *text)
{
	struct persona_text value = { 0 };

	switch (kind) {
	case PERSONA_KIND_PHONE:
		if (text[0] == '+')
			persona_text_append(&value, "+", 1);
		digits_text(&value, text, true);
		break;
	case PERSONA_KIND_PAYMENT_CARD:
		digits_text(&value, text, false);
		break;
	case PERSONA_KIND_IBAN:
		uppercase_text(&value, text);
		if (!value.failed) {
			struct persona_text compact = { 0 };

			compact_text(&compact, value.bytes);
			persona_text_free(&value);
			value = compact;
		}
		break;
	case PERSONA_KIND_DATE_OF_BIRTH:
	case PERSONA_KIND_USER_ID:
	case PERSONA_KIND_OTHER:
		break;
	default:
		lowercase_text(&value, text);
		break;
	}
	if (value.length == 0 && !value.failed)
		copy_text(&value, text);
	if (value.failed) {
		persona_text_free(&value);
		return NULL;
	}
	return value.bytes;
}
