/*
 * One leveled logger for the whole agent. Messages go to stderr, never to
 * stdout, which carries events only. libbpf's own messages are routed here
 * too.
 */
#ifndef PLAINSIGHT_LOG_H
#define PLAINSIGHT_LOG_H

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

__attribute__((format(printf, 2, 3))) void log_message(enum log_level level, const char *format, ...);

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_message(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
