"""Loads a test page in a real browser under a capture, for the tests of
tracker labels and personal data: the page's requests go to trackers' host
names, which the browser resolves to 127.0.0.1."""

import os

from harness import TEST_HOST, TRACKER_HOSTS, field


def capture_page(context, browser, executable, name, html, query="", arguments=()):
    """Serves html as /site/NAME.html and opens it (with query) in browser
    under a capture limited to this test's processes. Waits until the page
    requests done.txt, and returns the events grouped by server.address."""
    site = context.nginx.site_directory()
    with open(os.path.join(site, f"{name}.html"), "w", encoding="utf-8") as file:
        file.write(html)
    with open(os.path.join(site, "done.txt"), "w", encoding="utf-8") as file:
        file.write("done\n")

    plainsight = context.start("run", "--pid", str(os.getpid()), *arguments, "--offsets-cache",
                               os.path.join(context.directory, "offsets-cache"), name=f"{executable}-{name}")
    try:
        since = context.nginx.access_log_size()
        browser.open(context.nginx.h2_url(f"/site/{name}.html{query}", TEST_HOST), (TEST_HOST,) + TRACKER_HOSTS)
        done = context.nginx.wait_for_request("/site/done.txt", 90, since)
    finally:
        browser.close()
    plainsight.stop()
    if not done:
        raise AssertionError(f"{executable} did not finish the page:\n{browser.log()[-2000:]}")

    by_host = {}
    for event in plainsight.events():
        by_host.setdefault(field(event, "server.address"), []).append(event)
    return plainsight, by_host
