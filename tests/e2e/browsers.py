"""Real browsers for the end-to-end tests: headless Firefox ESR from Debian
with a new profile that trusts the test CA and resolves every host name to
127.0.0.1 by its own setting, never through /etc/hosts.
"""

import os
import shutil
import signal
import subprocess
import tempfile

from harness import run_checked

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"

# Preferences of the test profile. Everything resolves to 127.0.0.1, and the
# background services that would call out (updates, telemetry, safe
# browsing, remote settings, captive portal checks) are off; the machine has
# no other network, so they could only fail or wait.
FIREFOX_PREFERENCES = {
    "network.dns.forceResolve": "127.0.0.1",
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    "network.http.http3.enable": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "app.update.enabled": False,
    "app.update.auto": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "services.settings.server": "https://127.0.0.1:9/",
    "browser.region.network.url": "",
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    # Only the profile's own extensions: Debian's webext-* packages put
    # extensions (uBlock Origin among them) where every profile would load
    # them, and a blocker would drop the tracker requests a test sends.
    "extensions.enabledScopes": 1,
    "extensions.autoDisableScopes": 15,
    # Tracking protection would block the trackers' host names that the
    # tests send to.
    "privacy.trackingprotection.enabled": False,
    "privacy.trackingprotection.pbmode.enabled": False,
    "privacy.trackingprotection.socialtracking.enabled": False,
    "privacy.trackingprotection.cryptomining.enabled": False,
    "privacy.trackingprotection.fingerprinting.enabled": False,
}


def preference_line(name, value):
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = '"' + value.replace('"', '\\"') + '"'
    return f'user_pref("{name}", {text});\n'


class Browser:
    """A browser process in its own session, with its output in a log."""

    process = None
    log_path = None

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as file:
            return file.read()

    def close(self):
        """Ends the browser and every process it started."""
        if not self.process:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


class Firefox(Browser):
    """A headless Firefox ESR visiting one URL with a fresh profile."""

    def __init__(self, directory, ca_cert, extra_preferences=None):
        # A new home and profile for every instance: certutil -N prompts
        # for the old password when a database exists.
        self.home = tempfile.mkdtemp(prefix="firefox-home-", dir=directory)
        self.profile = tempfile.mkdtemp(prefix="firefox-profile-", dir=directory)

        preferences = dict(FIREFOX_PREFERENCES, **(extra_preferences or {}))
        with open(os.path.join(self.profile, "user.js"), "w", encoding="utf-8") as file:
            for name, value in preferences.items():
                file.write(preference_line(name, value))

        # A new NSS database in the profile that trusts the test CA for TLS.
        database = f"sql:{self.profile}"
        run_checked(["certutil", "-N", "-d", database, "--empty-password"])
        run_checked(["certutil", "-A", "-d", database, "-n", "plainsight test CA", "-t", "CT,,",
                     "-i", ca_cert])
        self.process = None
        self.log_path = os.path.join(directory, "firefox.log")

    def open(self, url, host=None):
        """Opens url. Every host name resolves to 127.0.0.1 in this profile
        (network.dns.forceResolve), so host is not needed."""
        environment = dict(os.environ, HOME=self.home, MOZ_HEADLESS="1")
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [FIREFOX, "--headless", "--no-remote", "--profile", self.profile, url],
                stdout=log, stderr=log, env=environment, start_new_session=True)



CHROMIUM = "/usr/lib/chromium/chromium"


class Chromium(Browser):
    """A headless Debian Chromium visiting one URL with a new profile. Test
    host names map to 127.0.0.1 by its own --host-resolver-rules."""

    def __init__(self, directory):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=directory)
        self.log_path = os.path.join(directory, "chromium.log")
        self.process = None

    def open(self, url, host="shop.plainsight.test", only_listed_hosts=False):
        """Opens url; host is a name, or a tuple of names, mapped to 127.0.0.1.
        With only_listed_hosts, every other name fails to resolve, so the
        browser cannot connect anywhere else."""
        names = (host,) if isinstance(host, str) else host
        rules = ", ".join(f"MAP {name} 127.0.0.1" for name in names)
        if only_listed_hosts:
            # Chromium applies the first rule that matches a name.
            rules += ", MAP * ~NOTFOUND"
        arguments = [
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-default-apps", "--disable-extensions",
            f"--user-data-dir={self.profile}", "--ignore-certificate-errors",
            f"--host-resolver-rules={rules}", url,
        ]
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(arguments, stdout=log, stderr=log, start_new_session=True)

