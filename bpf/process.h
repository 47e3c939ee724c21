/* SPDX-License-Identifier: GPL-2.0-only */
/* Which processes are captured, kept up to date from the sched tracepoints,
 * and the TLS library files they open. Included once, by tls_capture.bpf.c. */
#ifndef PLAINSIGHT_PROCESS_H
#define PLAINSIGHT_PROCESS_H

static __always_inline void send_process_record(__u32 type, __u32 tgid, const char *path, bool user_path)
{
	struct ps_process_record *record;

	record = bpf_ringbuf_reserve(&events, sizeof(*record), 0);
	if (!record) {
		count_loss(PS_LOSS_EVENTS_DROPPED, 1);
		return;
	}
	__builtin_memset(record, 0, sizeof(*record));
	fill_header(&record->header, type, sizeof(*record));
	record->pid = tgid;
	if (path && user_path)
		bpf_probe_read_user_str(record->path, sizeof(record->path), path);
	else if (path)
		bpf_probe_read_kernel_str(record->path, sizeof(record->path), path);
	/* Woken at once: the agent reads /proc/PID/exe and attaches new
	 * libraries while the process still runs. These records are rare. */
	bpf_ringbuf_submit(record, BPF_RB_FORCE_WAKEUP);
}

/* Returns whether the executable's file name is in target_exes. The name is
 * that of the file after symbolic links (as in /proc/PID/exe), so that
 * /usr/bin/firefox-esr and the file it links to match the same entry. */
static __always_inline bool exe_is_target(struct linux_binprm *binprm)
{
	char name[PS_EXE_NAME_BYTES] = {};
	const unsigned char *file_name = BPF_CORE_READ(binprm, file, f_path.dentry, d_name.name);

	if (bpf_probe_read_kernel_str(name, sizeof(name), file_name) <= 0)
		return false;
	return bpf_map_lookup_elem(&target_exes, name) != NULL;
}

/* A new executable: a process running a target executable becomes a target;
 * one that was a target only because of its executable stops being one. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *binprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	const char *filename = BPF_CORE_READ(binprm, filename);
	__u32 *reasons = bpf_map_lookup_elem(&target_pids, &tgid);
	__u32 updated = reasons ? *reasons & ~PS_TARGET_BY_EXE : 0;

	if (exe_is_target(binprm))
		updated |= PS_TARGET_BY_EXE;

	if (updated)
		bpf_map_update_elem(&target_pids, &tgid, &updated, BPF_ANY);
	else if (reasons)
		bpf_map_delete_elem(&target_pids, &tgid);

	if (is_target(tgid))
		send_process_record(PS_RECORD_EXEC, tgid, filename, false);
	return 0;
}

/* A new process (not a thread) inherits its parent's target status:
 * browsers fork their network and renderer processes without exec. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u32 *reasons;
	__u32 inherited;

	if (child_tgid == parent_tgid)
		return 0;
	reasons = bpf_map_lookup_elem(&target_pids, &parent_tgid);
	if (!reasons)
		return 0;
	inherited = *reasons;
	bpf_map_update_elem(&target_pids, &child_tgid, &inherited, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	/* Only the end of the whole process matters, not of each thread. */
	if (BPF_CORE_READ(task, pid) != tgid)
		return 0;
	if (!is_target(tgid))
		return 0;
	send_process_record(PS_RECORD_EXIT, tgid, NULL, false);
	bpf_map_delete_elem(&target_pids, &tgid);
	return 0;
}

struct path_scan {
	char path[PS_PATH_BYTES + 16]; /* room for a match that starts near the end */
	__u32 length;
	__u32 name_start;
};

/* bpf_loop callback: remembers where the text after the last '/' starts. */
static long find_name_start(__u32 index, struct path_scan *scan)
{
	if (index >= scan->length)
		return 1;
	if (scan->path[index & (PS_PATH_BYTES - 1)] == '/')
		scan->name_start = index + 1;
	return 0;
}

/* Global, not static: libbpf 1.1 fixes up the BTF offsets of global .rodata
 * variables only, and the kernel rejects the overlapping offsets that static
 * ones keep. */
const char ssl_prefix[] = "libssl";
const char nspr_prefix[] = "libnspr4.so";
const char gnutls_prefix[] = "libgnutls.so";

static __always_inline bool name_starts_with(const struct path_scan *scan, __u32 start, const char *prefix,
					     int prefix_length)
{
	for (int i = 0; i < prefix_length; i++) {
		if (scan->path[start + i] != prefix[i])
			return false;
	}
	return true;
}

/* Returns whether the path's base name is that of a TLS library the agent
 * attaches to: libssl.so* (OpenSSL), libssl3.so (NSS), libnspr4.so,
 * libgnutls.so*. The scan runs in bpf_loop because an open-coded loop that
 * tracks the position makes the verifier walk every path length (over its
 * 1M instruction limit). */
static __always_inline bool names_tls_library(struct path_scan *scan)
{
	__u32 start;

	scan->name_start = 0;
	bpf_loop(PS_PATH_BYTES, find_name_start, scan, 0);
	start = scan->name_start & (PS_PATH_BYTES - 1);
	return name_starts_with(scan, start, ssl_prefix, sizeof(ssl_prefix) - 1) ||
	       name_starts_with(scan, start, nspr_prefix, sizeof(nspr_prefix) - 1) ||
	       name_starts_with(scan, start, gnutls_prefix, sizeof(gnutls_prefix) - 1);
}

/* A target opening a TLS library file: the agent attaches to it if it is new
 * (a container image or an application bundle with its own copy). */
SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const char *user_path = (const char *)ctx->args[1];
	struct path_scan scan = {};
	int length;

	if (!is_target(tgid))
		return 0;
	length = bpf_probe_read_user_str(scan.path, PS_PATH_BYTES, user_path);
	if (length <= 0)
		return 0;
	scan.length = (__u32)length;
	if (!names_tls_library(&scan))
		return 0;
	send_process_record(PS_RECORD_LIBRARY, tgid, user_path, true);
	return 0;
}

#endif
