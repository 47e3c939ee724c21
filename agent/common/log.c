#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level current_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_message(enum log_level level, const char *format, ...)
{
	va_list args;

	if (level > current_level)
		return;

	fprintf(stderr, "plainsight: %s: ", level_names[level]);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
}
