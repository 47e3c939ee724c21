/*
 * Names of the persona's value kinds and of the steps of a chain, as they
 * appear in persona files and in findings.
 */
#include <stdio.h>
#include <string.h>

#include "persona_internal.h"

struct kind_names {
	const char *name;   /* the persona file's key and the findings' category */
	const char *source; /* the findings' source */
};

static const struct kind_names kinds[PERSONA_KIND_COUNT] = {
	[PERSONA_KIND_EMAIL] = { "email", "persona:email" },
	[PERSONA_KIND_PHONE] = { "phone", "persona:phone" },
	[PERSONA_KIND_FIRST_NAME] = { "first_name", "persona:first_name" },
	[PERSONA_KIND_LAST_NAME] = { "last_name", "persona:last_name" },
	[PERSONA_KIND_NAME] = { "name", "persona:name" },
	[PERSONA_KIND_STREET_ADDRESS] = { "street_address", "persona:street_address" },
	[PERSONA_KIND_CITY] = { "city", "persona:city" },
	[PERSONA_KIND_STATE] = { "state", "persona:state" },
	[PERSONA_KIND_POSTAL_CODE] = { "postal_code", "persona:postal_code" },
	[PERSONA_KIND_COUNTRY] = { "country", "persona:country" },
	[PERSONA_KIND_DATE_OF_BIRTH] = { "date_of_birth", "persona:date_of_birth" },
	[PERSONA_KIND_GENDER] = { "gender", "persona:gender" },
	[PERSONA_KIND_PAYMENT_CARD] = { "payment_card", "persona:payment_card" },
	[PERSONA_KIND_IBAN] = { "iban", "persona:iban" },
	[PERSONA_KIND_USER_ID] = { "user_id", "persona:user_id" },
	[PERSONA_KIND_IP_ADDRESS] = { "ip_address", "persona:ip_address" },
	[PERSONA_KIND_OTHER] = { "other", "persona:other" },
};

static const char *const step_names[PERSONA_STEP_COUNT] = {
	[PERSONA_STEP_TRIM] = "trim",
	[PERSONA_STEP_LOWERCASE] = "lowercase",
	[PERSONA_STEP_COMPACT] = "compact",
	[PERSONA_STEP_DIGITS] = "digits",
	[PERSONA_STEP_E164] = "e164",
	[PERSONA_STEP_NATIONAL] = "national",
	[PERSONA_STEP_YYYYMMDD] = "yyyymmdd",
	[PERSONA_STEP_INITIAL] = "initial",
	[PERSONA_STEP_URL] = "url",
	[PERSONA_STEP_BASE64] = "base64",
	[PERSONA_STEP_BASE64URL] = "base64url",
	[PERSONA_STEP_HEX] = "hex",
	[PERSONA_STEP_JSON] = "json",
	[PERSONA_STEP_MD5] = "md5",
	[PERSONA_STEP_SHA1] = "sha1",
	[PERSONA_STEP_SHA256] = "sha256",
	[PERSONA_STEP_SHA512] = "sha512",
};

enum persona_kind persona_kind_of(const char *name)
{
	size_t i;

	for (i = 0; i < PERSONA_KIND_COUNT; i++) {
		if (strcmp(kinds[i].name, name) == 0)
			return (enum persona_kind)i;
	}
	return PERSONA_KIND_COUNT;
}

const char *persona_kind_name(enum persona_kind kind)
{
	return kind < PERSONA_KIND_COUNT ? kinds[kind].name : "other";
}

const char *persona_kind_source(enum persona_kind kind)
{
	return kind < PERSONA_KIND_COUNT ? kinds[kind].source : "persona:other";
}

void persona_kind_list(char *text, size_t size)
{
	size_t used = 0;
	size_t i;

	text[0] = '\0';
	for (i = 0; i < PERSONA_KIND_COUNT && used < size; i++) {
		int written = snprintf(text + used, size - used, "%s%s", i ? ", " : "", kinds[i].name);

		if (written < 0)
			break;
		used += (size_t)written;
	}
}

const char *persona_step_name(enum persona_step step)
{
	return step < PERSONA_STEP_COUNT ? step_names[step] : "unknown";
}
