/*
 * The key that fingerprints are made with. A fleet gives every host the same
 * key file, so the same value has the same fingerprint everywhere. Without
 * one, the agent keeps its own key in /var/lib/plainsight, created on first
 * use. A process that can neither read nor create it (replay as a normal
 * user) uses a random key for this run only and logs a warning, because
 * its fingerprints then match nothing outside the run.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "policy.h"

int fingerprint_key_open(struct fingerprint_key **key, const char *path)
{
	int error;

	if (path)
		return fingerprint_key_load(key, path);

	if (access(FINGERPRINT_KEY_DEFAULT_PATH, F_OK) == 0)
		return fingerprint_key_load(key, FINGERPRINT_KEY_DEFAULT_PATH);

	/* Only a key that is missing is created. One that this process may
	 * not see (a normal user, a directory of mode 0700) is left alone. */
	if (errno != ENOENT)
		error = -errno;
	else if (mkdir(FINGERPRINT_KEY_DEFAULT_DIR, 0700) != 0 && errno != EEXIST)
		error = -errno;
	else
		error = fingerprint_key_generate(FINGERPRINT_KEY_DEFAULT_PATH);
	if (!error) {
		log_info("created the fingerprint key %s; give the same key to every host of a fleet with "
			 "--fingerprint-key", FINGERPRINT_KEY_DEFAULT_PATH);
		return fingerprint_key_load(key, FINGERPRINT_KEY_DEFAULT_PATH);
	}

	log_warn("cannot read or create the fingerprint key %s (%s): fingerprints of this run use a random key "
		 "and match no other run; give one with --fingerprint-key", FINGERPRINT_KEY_DEFAULT_PATH,
		 strerror(-error));
	return fingerprint_key_random(key);
}
