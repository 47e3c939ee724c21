/*
 * A uprobe for the unit tests that check the BoringSSL offset finder with
 * probes attached, registered for the test process only.
 */
#ifndef PLAINSIGHT_TEST_UPROBE_H
#define PLAINSIGHT_TEST_UPROBE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Registers a uprobe at a file offset of path, for this process only,
 * through the perf "uprobe" PMU. Returns the perf event's descriptor, or
 * -1 with errno set. */
static inline int open_uprobe(const char *path, uint64_t offset)
{
	struct perf_event_attr attr;
	unsigned int type;
	FILE *file;

	file = fopen("/sys/bus/event_source/devices/uprobe/type", "r");
	if (!file)
		return -1;
	if (fscanf(file, "%u", &type) != 1) {
		fclose(file);
		errno = ENODEV;
		return -1;
	}
	fclose(file);

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config1 = (uint64_t)(uintptr_t)path; /* uprobe_path */
	attr.config2 = offset;                    /* probe_offset */
	return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

#endif
