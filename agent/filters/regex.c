/*
 * Regular-expression filters ("/.../"). Lists write them for JavaScript's
 * RegExp; PCRE2 10.42 reads nearly all of that syntax, and the compile
 * options below remove the differences that matter for URLs. The literal
 * text every match must contain gives the index a token, so that most of
 * these filters are only tried on URLs that contain it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* JavaScript semantics: \u escapes, "[]" matches nothing and "[^]" any
 * character, a reference to an unset group matches the empty string, and
 * "$" matches only at the very end. URLs are matched as bytes, not UTF-8,
 * because captured URLs need not be valid UTF-8. */
#define COMPILE_OPTIONS \
	(PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS | PCRE2_MATCH_UNSET_BACKREF | PCRE2_DOLLAR_ENDONLY | \
	 PCRE2_NEVER_BACKSLASH_C)

int regex_compile(const char *source, size_t length, bool match_case, pcre2_code **code, char *message,
		  size_t size)
{
	uint32_t options = COMPILE_OPTIONS | (match_case ? 0 : PCRE2_CASELESS);
	PCRE2_SIZE error_offset;
	char text[120];
	int error;

	*code = pcre2_compile((PCRE2_SPTR)source, length, options, &error, &error_offset, NULL);
	if (!*code) {
		if (pcre2_get_error_message(error, (PCRE2_UCHAR *)text, sizeof(text)) < 0)
			snprintf(text, sizeof(text), "PCRE2 error %d", error);
		snprintf(message, size, "%s at offset %zu", text, (size_t)error_offset);
		return error == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EINVAL;
	}

	/* When JIT compilation fails (no JIT for the architecture, or no
	 * executable memory), the interpreter runs the expression. */
	pcre2_jit_compile(*code, PCRE2_JIT_COMPLETE);
	return 0;
}

/*
 * Matching allocates nothing on the heap: PCRE2 gets its match data from a
 * buffer on the stack. With PCRE2 10.42, JIT code took 144 bytes of it and
 * the interpreter 20,624 (its frame vector is kept in the match data). A
 * match that needs more than the buffer fails with PCRE2_ERROR_NOMEMORY
 * and counts as no match.
 */
#define JIT_MEMORY_BYTES 1024
#define INTERPRETER_MEMORY_BYTES (32u << 10)

struct stack_memory {
	unsigned char *base;
	size_t used;
	size_t size;
};

static void *stack_allocate(PCRE2_SIZE size, void *data)
{
	struct stack_memory *memory = data;
	size_t aligned = (size + 15) & ~(size_t)15;
	void *block;

	if (aligned < size || aligned > memory->size - memory->used)
		return NULL;
	block = memory->base + memory->used;
	memory->used += aligned;
	return block;
}

static void stack_release(void *block, void *data)
{
	(void)block;
	(void)data;
}

static bool run_match(const pcre2_code *code, const char *subject, size_t length, unsigned char *buffer,
		      size_t size)
{
	struct stack_memory memory = { buffer, 0, size };
	pcre2_general_context *context = pcre2_general_context_create(stack_allocate, stack_release, &memory);
	pcre2_match_data *match_data;

	if (!context)
		return false;
	match_data = pcre2_match_data_create(1, context);
	if (!match_data)
		return false;
	return pcre2_match(code, (PCRE2_SPTR)subject, length, 0, 0, match_data, NULL) >= 0;
}

__attribute__((noinline)) static bool match_jit(const pcre2_code *code, const char *subject, size_t length)
{
	_Alignas(16) unsigned char buffer[JIT_MEMORY_BYTES];

	return run_match(code, subject, length, buffer, sizeof(buffer));
}

__attribute__((noinline)) static bool match_interpreted(const pcre2_code *code, const char *subject,
							size_t length)
{
	_Alignas(16) unsigned char buffer[INTERPRETER_MEMORY_BYTES];

	return run_match(code, subject, length, buffer, sizeof(buffer));
}

bool regex_match(const pcre2_code *code, const char *subject, size_t length)
{
	size_t jit_bytes = 0;

	if (pcre2_pattern_info(code, PCRE2_INFO_JITSIZE, &jit_bytes) == 0 && jit_bytes > 0)
		return match_jit(code, subject, length);
	return match_interpreted(code, subject, length);
}

/* ---- literal text of a regular expression, for the index ---- */

#define RUN_MAX_BYTES 128

/* A run of literal characters that are consecutive in every match. */
struct literal_run {
	char bytes[RUN_MAX_BYTES];
	size_t length;
	token_callback callback;  /* NULL while only checking the expression */
	void *context;
};

/* Reports the tokens of a run whose both ends are inside the run: the
 * characters around the run are unknown. */
static void flush_run(struct literal_run *run)
{
	size_t i = 0;

	while (run->callback && i < run->length) {
		size_t start = i;

		if (!is_token_char((unsigned char)run->bytes[i])) {
			i++;
			continue;
		}
		while (i < run->length && is_token_char((unsigned char)run->bytes[i]))
			i++;
		if (start > 0 && i < run->length)
			run->callback(token_hash(run->bytes + start, i - start), SIZE_MAX, i - start,
				      run->context);
	}
	run->length = 0;
}

static void append_run(struct literal_run *run, char c)
{
	if (run->length == RUN_MAX_BYTES)
		flush_run(run);
	run->bytes[run->length++] = (char)lower_ascii((unsigned char)c);
}

/* Skips a quantifier at i ("*", "+?", "{2,5}"); returns where it ends, or
 * SIZE_MAX for an unclosed "{". */
static size_t skip_quantifier(const char *source, size_t length, size_t i)
{
	if (i < length && strchr("*+?", source[i]) && source[i] != '\0') {
		i++;
	} else if (i < length && source[i] == '{') {
		const char *close = memchr(source + i, '}', length - i);

		if (!close)
			return SIZE_MAX;
		i = (size_t)(close - source) + 1;
	} else {
		return i;
	}
	if (i < length && (source[i] == '?' || source[i] == '+'))
		i++;
	return i;
}

/* Skips a character class or a group starting at i; returns where it
 * ends, or SIZE_MAX when it is not closed. As in JavaScript, the first
 * "]" closes a class, so "[]" is empty. */
static size_t skip_nested(const char *source, size_t length, size_t i)
{
	int depth = 0;
	bool in_class = false;

	for (; i < length; i++) {
		char c = source[i];

		if (c == '\\') {
			i++;
			continue;
		}
		if (in_class)
			in_class = c != ']';
		else if (c == '[')
			in_class = true;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;

		if (!in_class && depth == 0)
			return i + 1;
	}
	return SIZE_MAX;
}

/* Walks the top level of the expression. Returns false when no literal
 * text can be trusted: an alternation at the top level, or an escape that
 * stands for characters the walk does not decode (\x41, \u0041, \1). */
static bool walk_literals(const char *source, size_t length, struct literal_run *run)
{
	size_t i = 0;

	while (i < length) {
		char c = source[i];

		if (c == '|' || c == ')')
			return false;
		if (c == '\\') {
			if (i + 1 >= length)
				return false;
			c = source[i + 1];
			if (strchr("dDwWsSbB", c) && c != '\0') {
				flush_run(run);
				i = skip_quantifier(source, length, i + 2);
				if (i == SIZE_MAX)
					return false;
				continue;
			}
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				return false;
			i += 2;
		} else if (c == '[' || c == '(' || c == '.' || c == '^' || c == '$') {
			flush_run(run);
			i = (c == '[' || c == '(') ? skip_nested(source, length, i) : i + 1;
			if (i != SIZE_MAX)
				i = skip_quantifier(source, length, i);
			if (i == SIZE_MAX)
				return false;
			continue;
		} else {
			i++;
		}

		/* c is a literal character; a quantifier after it makes it
		 * optional ("?", "*", "{0,}") or repeated ("+"). */
		if (i < length && strchr("*?{", source[i]) && source[i] != '\0') {
			flush_run(run);
		} else {
			append_run(run, c);
			if (i < length && source[i] == '+')
				flush_run(run);
		}
		i = skip_quantifier(source, length, i);
		if (i == SIZE_MAX)
			return false;
	}
	flush_run(run);
	return true;
}

void regex_for_each_token(const char *source, size_t length, token_callback callback, void *context)
{
	struct literal_run run = { .length = 0, .callback = NULL, .context = context };

	if (!walk_literals(source, length, &run))
		return;
	run.callback = callback;
	walk_literals(source, length, &run);
}
