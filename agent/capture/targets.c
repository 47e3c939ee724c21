/*
 * Which processes are captured. The decision is made in BPF before any copy
 * (is_target in bpf/tls_capture.bpf.c). This file configures it and fills its
 * maps with the processes that already run when the capture starts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../common/log.h"
#include "internal.h"

const char *const capture_default_executables[] = {
	"firefox", "firefox-esr", "firefox-bin", "chromium", "chromium-browser", "chrome",
	"google-chrome", "google-chrome-stable", "msedge", "brave", "vivaldi-bin", "opera",
	"epiphany", "WebKitNetworkProcess", "electron", NULL,
};

/* Sets the read-only configuration; must run between open and load. */
int targets_configure(struct capture *capture)
{
	struct tls_capture_bpf *skeleton = capture->skeleton;

	skeleton->rodata->agent_tgid = getpid();
	skeleton->rodata->capture_all_processes = capture->options.all_processes;
	skeleton->rodata->filter_by_cgroup = capture->options.cgroup_path != NULL;
	skeleton->rodata->call_limit_bytes = capture->options.call_limit_bytes;
	return 0;
}

static int add_target_pid(struct capture *capture, pid_t pid, __u32 reason)
{
	int map = bpf_map__fd(capture->skeleton->maps.target_pids);
	__u32 key = pid;
	__u32 reasons = 0;

	bpf_map_lookup_elem(map, &key, &reasons);
	reasons |= reason;
	if (bpf_map_update_elem(map, &key, &reasons, BPF_ANY))
		return -errno;
	return 0;
}

static int add_executables(struct capture *capture)
{
	int map = bpf_map__fd(capture->skeleton->maps.target_exes);
	__u8 present = 1;

	for (const char *const *name = capture->options.executables; name && *name; name++) {
		char key[PS_EXE_NAME_BYTES] = { 0 };

		if (strlen(*name) >= sizeof(key)) {
			log_error("executable name too long (max %zu bytes): %s", sizeof(key) - 1, *name);
			return -EINVAL;
		}
		strcpy(key, *name);
		if (bpf_map_update_elem(map, key, &present, BPF_ANY))
			return -errno;
	}
	return 0;
}

static bool executable_is_listed(const struct capture *capture, const char *name)
{
	for (const char *const *listed = capture->options.executables; listed && *listed; listed++) {
		if (strcmp(*listed, name) == 0)
			return true;
	}
	return false;
}

/* Returns the parent pid from /proc/PID/stat, or -1. The command name in
 * parentheses may contain spaces, so parsing starts after the last ')'. */
static pid_t read_parent_pid(pid_t pid)
{
	char path[64];
	char line[1024];
	char *end;
	FILE *file;
	int parent = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	file = fopen(path, "re");
	if (!file)
		return -1;
	if (fgets(line, sizeof(line), file)) {
		end = strrchr(line, ')');
		if (!end || sscanf(end + 1, " %*c %d", &parent) != 1)
			parent = -1;
	}
	fclose(file);
	return parent;
}

static bool descends_from(pid_t pid, pid_t ancestor)
{
	/* 64 generations are more than any real process tree has. */
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		if (pid == ancestor)
			return true;
		pid = read_parent_pid(pid);
	}
	return pid == ancestor;
}

static void consider_running_process(struct capture *capture, pid_t pid)
{
	char link[64];
	char executable[PATH_MAX];
	ssize_t length;
	const char *name;

	if (pid == getpid())
		return;

	for (size_t i = 0; i < capture->options.pid_count; i++) {
		if (descends_from(pid, capture->options.pids[i]))
			add_target_pid(capture, pid, PS_TARGET_BY_PID);
	}

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	length = readlink(link, executable, sizeof(executable) - 1);
	if (length <= 0)
		return;
	executable[length] = '\0';
	name = strrchr(executable, '/');
	name = name ? name + 1 : executable;
	if (executable_is_listed(capture, name))
		add_target_pid(capture, pid, PS_TARGET_BY_EXE);
}

static int add_cgroup(struct capture *capture)
{
	int map = bpf_map__fd(capture->skeleton->maps.target_cgroup);
	__u32 index = 0;
	int cgroup = open(capture->options.cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int error = 0;

	if (cgroup < 0) {
		error = -errno;
		log_error("cannot open cgroup %s: %s (give a cgroup v2 directory, such as "
			  "/sys/fs/cgroup/system.slice/kiosk.service)",
			  capture->options.cgroup_path, strerror(errno));
		return error;
	}
	if (bpf_map_update_elem(map, &index, &cgroup, BPF_ANY)) {
		error = -errno;
		log_error("cannot use cgroup %s: %s (is it on cgroup v2?)", capture->options.cgroup_path,
			  strerror(errno));
	}
	close(cgroup);
	return error;
}

/* Fills the target maps after load: executable names, the cgroup, and the
 * processes that already run (the exec and fork tracepoints follow new ones). */
int targets_fill(struct capture *capture)
{
	DIR *proc;
	struct dirent *entry;
	int error;

	error = add_executables(capture);
	if (error)
		return error;

	if (capture->options.cgroup_path) {
		error = add_cgroup(capture);
		if (error)
			return error;
	}

	for (size_t i = 0; i < capture->options.pid_count; i++) {
		if (kill(capture->options.pids[i], 0) && errno == ESRCH) {
			log_error("process %d does not exist", capture->options.pids[i]);
			return -ESRCH;
		}
		add_target_pid(capture, capture->options.pids[i], PS_TARGET_BY_PID);
	}

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((entry = readdir(proc))) {
		pid_t pid = (pid_t)strtol(entry->d_name, NULL, 10);

		if (pid > 0)
			consider_running_process(capture, pid);
	}
	closedir(proc);
	return 0;
}
