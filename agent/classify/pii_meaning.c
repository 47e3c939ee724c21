/*
 * Meaning of a field from its name. The last name of the path is
 * normalised: "userEmail", "user-email" and "$user_email" all become
 * "user_email". Words that mark a hash are dropped ("sha256_email_address",
 * "email_hash"). The rest is looked up in the table below, whole and then
 * by its last words ("billing_first_name" ends in "first_name").
 *
 * The names are those that tracker SDKs and pixels send. They include
 * Meta's advanced matching keys (ud[em], ud[ph], ud[fn], ud[ln], ud[ct],
 * ud[st], ud[zp], ud[db], ud[ge], ud[country], ud[external_id]) and the
 * Conversions API's user_data object. TikTok's context.user, Google's
 * enhanced conversions (sha256_email_address), Segment's traits and common
 * form field names are in the table too.
 */
#include <stdbool.h>
#include <string.h>

#include "pii_internal.h"

/* Maximum bytes of a normalised name. Longer names have no meaning. */
#define NAME_BYTES 64
#define MAX_WORDS 8

/* Scope in which a name of the table counts. */
enum name_scope {
	/* Only as the whole name. */
	SCOPE_WHOLE,
	/* Also as the last words of a longer name ("customer_email"). */
	SCOPE_TAIL,
	/* Only when the parent contains a person's data ("ud[ct]",
	 * "address.city") or an address word comes before ("billing_city"),
	 * because alone the name means other things too ("st", "state"). */
	SCOPE_PERSON,
};

struct meaning_name {
	const char *name;
	enum pii_meaning meaning;
	enum name_scope scope;
};

static const struct meaning_name meaning_names[] = {
	{ "em", PII_MEANING_EMAIL, SCOPE_WHOLE },
	{ "hem", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "email", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "emails", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "e_mail", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "mail", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "email_address", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "emailaddress", PII_MEANING_EMAIL, SCOPE_TAIL },
	{ "e_mail_address", PII_MEANING_EMAIL, SCOPE_TAIL },

	{ "ph", PII_MEANING_PHONE, SCOPE_WHOLE },
	{ "hpn", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "phone", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "phone_number", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "phonenumber", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "tel", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "telephone", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "mobile", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "mobile_number", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "mobile_phone", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "cell_phone", PII_MEANING_PHONE, SCOPE_TAIL },
	{ "msisdn", PII_MEANING_PHONE, SCOPE_TAIL },

	{ "fn", PII_MEANING_FIRST_NAME, SCOPE_PERSON },
	{ "first_name", PII_MEANING_FIRST_NAME, SCOPE_TAIL },
	{ "firstname", PII_MEANING_FIRST_NAME, SCOPE_TAIL },
	{ "given_name", PII_MEANING_FIRST_NAME, SCOPE_TAIL },
	{ "givenname", PII_MEANING_FIRST_NAME, SCOPE_TAIL },
	{ "forename", PII_MEANING_FIRST_NAME, SCOPE_TAIL },

	{ "ln", PII_MEANING_LAST_NAME, SCOPE_PERSON },
	{ "last_name", PII_MEANING_LAST_NAME, SCOPE_TAIL },
	{ "lastname", PII_MEANING_LAST_NAME, SCOPE_TAIL },
	{ "surname", PII_MEANING_LAST_NAME, SCOPE_TAIL },
	{ "family_name", PII_MEANING_LAST_NAME, SCOPE_TAIL },
	{ "familyname", PII_MEANING_LAST_NAME, SCOPE_TAIL },

	{ "full_name", PII_MEANING_NAME, SCOPE_TAIL },
	{ "fullname", PII_MEANING_NAME, SCOPE_TAIL },
	{ "cardholder_name", PII_MEANING_NAME, SCOPE_TAIL },
	{ "name", PII_MEANING_NAME, SCOPE_PERSON },

	{ "street", PII_MEANING_STREET, SCOPE_TAIL },
	{ "street_address", PII_MEANING_STREET, SCOPE_TAIL },
	{ "streetaddress", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address_line1", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address_line_1", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address_line2", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address_line_2", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address1", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address2", PII_MEANING_STREET, SCOPE_TAIL },
	{ "addr1", PII_MEANING_STREET, SCOPE_TAIL },
	{ "address", PII_MEANING_STREET, SCOPE_PERSON },
	{ "line1", PII_MEANING_STREET, SCOPE_PERSON },
	{ "line2", PII_MEANING_STREET, SCOPE_PERSON },

	{ "ct", PII_MEANING_CITY, SCOPE_PERSON },
	{ "city", PII_MEANING_CITY, SCOPE_PERSON },
	{ "town", PII_MEANING_CITY, SCOPE_PERSON },
	{ "locality", PII_MEANING_CITY, SCOPE_PERSON },

	{ "st", PII_MEANING_STATE, SCOPE_PERSON },
	{ "state", PII_MEANING_STATE, SCOPE_PERSON },
	{ "state_code", PII_MEANING_STATE, SCOPE_PERSON },
	{ "province", PII_MEANING_STATE, SCOPE_PERSON },
	{ "region", PII_MEANING_STATE, SCOPE_PERSON },

	{ "zp", PII_MEANING_POSTAL_CODE, SCOPE_PERSON },
	{ "zip", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },
	{ "zipcode", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },
	{ "zip_code", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },
	{ "postal_code", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },
	{ "postalcode", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },
	{ "postcode", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },
	{ "post_code", PII_MEANING_POSTAL_CODE, SCOPE_TAIL },

	{ "country", PII_MEANING_COUNTRY, SCOPE_PERSON },
	{ "country_code", PII_MEANING_COUNTRY, SCOPE_PERSON },

	{ "db", PII_MEANING_DATE_OF_BIRTH, SCOPE_PERSON },
	{ "dob", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },
	{ "birthday", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },
	{ "birthdate", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },
	{ "birth_date", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },
	{ "date_of_birth", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },
	{ "dateofbirth", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },
	{ "bday", PII_MEANING_DATE_OF_BIRTH, SCOPE_TAIL },

	{ "ge", PII_MEANING_GENDER, SCOPE_PERSON },
	{ "gender", PII_MEANING_GENDER, SCOPE_TAIL },
	{ "sex", PII_MEANING_GENDER, SCOPE_WHOLE },

	{ "external_id", PII_MEANING_EXTERNAL_ID, SCOPE_TAIL },
	{ "externalid", PII_MEANING_EXTERNAL_ID, SCOPE_TAIL },
	{ "extern_id", PII_MEANING_EXTERNAL_ID, SCOPE_TAIL },
	{ "user_id", PII_MEANING_EXTERNAL_ID, SCOPE_WHOLE },
	{ "userid", PII_MEANING_EXTERNAL_ID, SCOPE_WHOLE },
	{ "uid", PII_MEANING_EXTERNAL_ID, SCOPE_WHOLE },
	{ "customer_id", PII_MEANING_EXTERNAL_ID, SCOPE_WHOLE },

	{ "ssn", PII_MEANING_US_SSN, SCOPE_TAIL },
	{ "social_security_number", PII_MEANING_US_SSN, SCOPE_TAIL },

	{ "lat", PII_MEANING_LATITUDE, SCOPE_TAIL },
	{ "latitude", PII_MEANING_LATITUDE, SCOPE_TAIL },
	{ "lng", PII_MEANING_LONGITUDE, SCOPE_TAIL },
	{ "lon", PII_MEANING_LONGITUDE, SCOPE_TAIL },
	{ "long", PII_MEANING_LONGITUDE, SCOPE_WHOLE },
	{ "longitude", PII_MEANING_LONGITUDE, SCOPE_TAIL },

	{ "v", PII_MEANING_VERSION, SCOPE_WHOLE },
	{ "ver", PII_MEANING_VERSION, SCOPE_TAIL },
	{ "version", PII_MEANING_VERSION, SCOPE_TAIL },
	{ "sv", PII_MEANING_VERSION, SCOPE_WHOLE },
	/* A user agent string is product names and their versions. */
	{ "ua", PII_MEANING_VERSION, SCOPE_WHOLE },
	{ "user_agent", PII_MEANING_VERSION, SCOPE_TAIL },
	{ "useragent", PII_MEANING_VERSION, SCOPE_TAIL },
};

/* Parents whose members describe a person. */
static const char *const person_parents[] = {
	"ud", "udff", "user_data", "userdata", "user", "customer", "customer_info", "customer_information",
	"user_info", "contact", "profile", "person", "traits", "identity", "buyer", "recipient", "address",
	"billing", "shipping", "billing_address", "shipping_address", "delivery_address",
};

/* Words before a name that make it a person's ("billing_city"). */
static const char *const person_prefixes[] = {
	"billing", "shipping", "delivery", "invoice", "home", "mailing", "address", "customer", "contact",
	"buyer", "recipient",
};

/* Words that mark a hashed value ("sha256_email_address", "email_hash"). */
static const char *const hash_words[] = { "sha256", "sha1", "md5", "hash", "hashed" };

/* Last words of technical ids and times. */
static const char *const record_id_words[] = { "id", "ids", "uuid", "guid", "ts", "timestamp", "time" };

static const char *const meaning_names_out[] = {
	[PII_MEANING_NONE] = "",
	[PII_MEANING_EMAIL] = "email",
	[PII_MEANING_PHONE] = "phone",
	[PII_MEANING_FIRST_NAME] = "first_name",
	[PII_MEANING_LAST_NAME] = "last_name",
	[PII_MEANING_NAME] = "name",
	[PII_MEANING_STREET] = "street_address",
	[PII_MEANING_CITY] = "city",
	[PII_MEANING_STATE] = "state",
	[PII_MEANING_POSTAL_CODE] = "postal_code",
	[PII_MEANING_COUNTRY] = "country",
	[PII_MEANING_DATE_OF_BIRTH] = "date_of_birth",
	[PII_MEANING_GENDER] = "gender",
	[PII_MEANING_EXTERNAL_ID] = "external_id",
	[PII_MEANING_US_SSN] = "us_ssn",
	[PII_MEANING_LATITUDE] = "latitude",
	[PII_MEANING_LONGITUDE] = "longitude",
	[PII_MEANING_VERSION] = "version",
	[PII_MEANING_RECORD_ID] = "record_id",
};

const char *pii_meaning_name(enum pii_meaning meaning)
{
	if ((size_t)meaning >= sizeof(meaning_names_out) / sizeof(meaning_names_out[0]))
		return "";
	return meaning_names_out[meaning];
}

/* A name split into words: "user_email" is "user", "email". */
struct words {
	char text[NAME_BYTES + 1];
	const char *word[MAX_WORDS];
	size_t count;
};

static bool in_list(const char *word, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(word, list[i]) == 0)
			return true;
	}
	return false;
}

#define IN_LIST(word, list) in_list(word, list, sizeof(list) / sizeof(list[0]))

/* Writes name in lowercase with "_" between words: camelCase and every byte
 * that is not a letter or digit separate words. Returns false when the name
 * is longer than NAME_BYTES or has no letter or digit. */
static bool normalise_name(const char *name, size_t length, char *out)
{
	size_t used = 0;

	for (size_t i = 0; i < length; i++) {
		char c = name[i];
		char previous = i > 0 ? name[i - 1] : '\0';
		bool upper_after_lower = c >= 'A' && c <= 'Z' &&
					 ((previous >= 'a' && previous <= 'z') || pii_is_digit(previous));
		bool boundary = !pii_is_alnum(c) || upper_after_lower;

		if (used >= NAME_BYTES)
			return false;
		if (boundary && used > 0 && out[used - 1] != '_')
			out[used++] = '_';
		if (pii_is_alnum(c) && used < NAME_BYTES)
			out[used++] = pii_lower(c);
	}
	if (used > 0 && out[used - 1] == '_')
		used--;
	out[used] = '\0';
	return used > 0;
}

/* Splits a normalised name into words in place, dropping the words that
 * mark a hash at its start or end. */
static void split_words(const char *normalised, struct words *words)
{
	char *cursor;

	strcpy(words->text, normalised);
	words->count = 0;
	cursor = words->text;
	while (*cursor && words->count < MAX_WORDS) {
		words->word[words->count++] = cursor;
		cursor += strcspn(cursor, "_");
		if (*cursor)
			*cursor++ = '\0';
	}

	while (words->count > 1 && IN_LIST(words->word[words->count - 1], hash_words))
		words->count--;
	while (words->count > 1 && IN_LIST(words->word[0], hash_words)) {
		memmove(words->word, words->word + 1, (words->count - 1) * sizeof(words->word[0]));
		words->count--;
	}
}

/* Joins words[from..count) with "_" into out (NAME_BYTES + 1 bytes). */
static void join_words(const struct words *words, size_t from, char *out)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = from; i < words->count; i++) {
		size_t length = strlen(words->word[i]);

		if (used + length + 1 > NAME_BYTES)
			return;
		if (i > from)
			out[used++] = '_';
		memcpy(out + used, words->word[i], length);
		used += length;
		out[used] = '\0';
	}
}

static const struct meaning_name *find_name(const char *name)
{
	for (size_t i = 0; i < sizeof(meaning_names) / sizeof(meaning_names[0]); i++) {
		if (strcmp(meaning_names[i].name, name) == 0)
			return &meaning_names[i];
	}
	return NULL;
}

static bool has_person_prefix(const struct words *words, size_t before)
{
	for (size_t i = 0; i < before; i++) {
		if (IN_LIST(words->word[i], person_prefixes))
			return true;
	}
	return false;
}

static enum pii_meaning meaning_of_words(const struct words *words, bool person_parent)
{
	char tail[NAME_BYTES + 1];
	const struct meaning_name *entry;

	for (size_t from = 0; from < words->count; from++) {
		join_words(words, from, tail);
		entry = find_name(tail);
		if (!entry)
			continue;
		if (entry->scope == SCOPE_WHOLE && from == 0)
			return entry->meaning;
		if (entry->scope == SCOPE_TAIL)
			return entry->meaning;
		if (entry->scope == SCOPE_PERSON && (person_parent || has_person_prefix(words, from)))
			return entry->meaning;
	}

	if (words->count > 0 && IN_LIST(words->word[words->count - 1], record_id_words))
		return PII_MEANING_RECORD_ID;
	return PII_MEANING_NONE;
}

/* The last name of a path and its parent: "em" and "ud" for "a.ud[em]",
 * "emails" and "user" for "x.user.emails[0]". A length is 0 when the path
 * has no such name. */
struct path_names {
	const char *name;
	size_t name_bytes;
	const char *parent;
	size_t parent_bytes;
};

static bool is_index(const char *open, const char *close)
{
	if (close == open + 1)
		return false;
	for (const char *c = open + 1; c < close; c++) {
		if (!pii_is_digit(*c))
			return false;
	}
	return true;
}

/* Takes the last component off [path, *end): sets *start and *length to its
 * name and moves *end before it and its separator. Returns false when none
 * is left. */
static bool take_component(const char *path, const char **end, const char **start, size_t *length)
{
	const char *stop = *end;

	for (;;) {
		const char *cursor = stop;

		if (cursor == path)
			return false;
		if (cursor[-1] == ']') {
			const char *open = cursor - 1;

			while (open > path && *open != '[')
				open--;
			if (*open != '[')
				return false;
			if (is_index(open, cursor - 1)) {
				stop = open;
				continue;
			}
			*start = open + 1;
			*length = (size_t)(cursor - 1 - *start);
			*end = open;
			return true;
		}
		while (cursor > path && cursor[-1] != '.' && cursor[-1] != ']')
			cursor--;
		*start = cursor;
		*length = (size_t)(stop - cursor);
		*end = cursor > path && cursor[-1] == '.' ? cursor - 1 : cursor;
		return true;
	}
}

/* Finds the names of a path, skipping array indexes. */
static void split_path(const char *path, struct path_names *names)
{
	const char *end = path + strlen(path);

	memset(names, 0, sizeof(*names));
	if (!take_component(path, &end, &names->name, &names->name_bytes))
		return;
	take_component(path, &end, &names->parent, &names->parent_bytes);
}

/* Whether path names the filename of a multipart part, whose name is the
 * form field's and not the value's. */
static bool is_filename_path(const char *path)
{
	static const char suffix[] = ";filename";
	size_t length = strlen(path);

	return strncmp(path, "body.multipart", 14) == 0 && length >= sizeof(suffix) - 1 &&
	       strcmp(path + length - (sizeof(suffix) - 1), suffix) == 0;
}

enum pii_meaning pii_meaning_of_path(const char *path)
{
	char normalised[NAME_BYTES + 1];
	struct path_names names;
	struct words words;
	bool person_parent = false;

	if (!path || is_filename_path(path))
		return PII_MEANING_NONE;

	split_path(path, &names);
	if (names.parent_bytes && normalise_name(names.parent, names.parent_bytes, normalised)) {
		split_words(normalised, &words);
		join_words(&words, 0, normalised);
		person_parent = IN_LIST(normalised, person_parents);
	}

	if (!names.name_bytes || !normalise_name(names.name, names.name_bytes, normalised))
		return PII_MEANING_NONE;
	split_words(normalised, &words);
	return meaning_of_words(&words, person_parent);
}
