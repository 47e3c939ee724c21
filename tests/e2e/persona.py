"""End-to-end tests of personal-data findings and redaction. A page in a
real browser sends a test person's data to trackers' host names (resolved
to 127.0.0.1) the ways real pixels do. plainsight, given that persona, must
report each finding with its category and path, and no form of any of the
person's values may appear anywhere in its output."""

import base64
import hashlib
import json
import os
import urllib.parse

from browsers import Chromium, Firefox
from harness import expect_equal, field
from pages import capture_page

EMAIL = "Jane.Doe@Example.com"
PHONE = "+49 151 2345 6789"
FIRST_NAME = "Jane"

# The page is opened with the e-mail address in its query, as a careless
# confirmation page does; GA4 then reports it in dl. Hashes are computed in
# the page with WebCrypto from the normalised values, as the pixels do.
PERSONA_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>plainsight persona shop</title>
<link rel="icon" href="data:,"></head>
<body><p>persona shop</p>
<script>
const port = location.port;
const email = 'Jane.Doe@Example.com', phone = '+49 151 2345 6789', firstName = 'Jane';

async function sha256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest)).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
}

function image(url) {
  return new Promise(function (done) {
    const pixel = new Image();
    pixel.onload = pixel.onerror = done;
    pixel.src = url;
  });
}

async function run() {
  const em = await sha256(email.trim().toLowerCase());
  const e164 = '+' + phone.replace(/[^0-9]/g, '');
  await fetch('https://analytics.tiktok.com:' + port + '/api/v2/pixel', {
    method: 'POST', mode: 'no-cors',
    body: JSON.stringify({event: 'CompletePayment', context: {pixel: {code: 'CPERSONA0001'},
      page: {url: location.origin + '/site/checkout'},
      user: {email: em, phone_number: await sha256(e164)}}, properties: {value: 10}})});
  await image('https://www.facebook.com:' + port + '/tr/?id=555000111&ev=Purchase&ud[em]=' + em +
              '&ud[ph]=' + await sha256(e164.slice(1)) + '&ud[fn]=' + await sha256(firstName.toLowerCase()));
  await fetch('https://region1.google-analytics.com:' + port + '/g/collect?v=2&tid=G-PERSONA1&cid=1.2' +
              '&en=purchase&dl=' + encodeURIComponent(location.href), {method: 'POST', mode: 'no-cors', body: ''});
  const properties = {distinct_id: 'd-1', '$email': email};
  await fetch('https://us.i.posthog.com:' + port + '/e/', {method: 'POST', mode: 'no-cors',
    body: new URLSearchParams({data: JSON.stringify({event: '$identify', properties: properties})})});
  await fetch('/site/done.txt');
}
run();
</script></body></html>
"""

PERSONA = {"name": "e2e shopper", "values": {"email": [EMAIL], "phone": [PHONE], "first_name": [FIRST_NAME]}}


def value_forms(value):
    """Every text a value could leave in the output: plain, normalised,
    encoded, hashed, and hashes encoded."""
    bases = {value, value.lower(), value.strip().lower()}
    digits = "".join(c for c in value if c.isdigit())
    if digits and len(digits) > 6:
        bases |= {digits, "+" + digits}
    forms = set()
    for base in bases:
        raw = base.encode()
        forms |= {base, urllib.parse.quote(base, safe=""), urllib.parse.quote(urllib.parse.quote(base, safe=""), safe=""),
                  base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
                  raw.hex()}
        for name in ("md5", "sha1", "sha256", "sha512"):
            digest = hashlib.new(name, raw).digest()
            forms |= {digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode().rstrip("="),
                      base64.urlsafe_b64encode(digest).decode().rstrip("=")}
    return {form for form in forms if len(form) >= 4}


def check_persona(context, browser, executable):
    persona_path = os.path.join(context.directory, "persona.json")
    with open(persona_path, "w", encoding="utf-8") as file:
        json.dump(PERSONA, file)
    key_path = os.path.join(context.directory, f"{executable}.key")
    with open(key_path, "wb") as file:
        file.write(os.urandom(32))

    plainsight, by_host = capture_page(
        context, browser, executable, "persona", PERSONA_PAGE, "?email=" + urllib.parse.quote(EMAIL, safe=""),
        ("--fields", "--persona", persona_path, "--fingerprint-key", key_path))
    expected = {
        "analytics.tiktok.com": {("body.json.context.user.email", "email"),
                                 ("body.json.context.user.phone_number", "phone")},
        "www.facebook.com": {("query.ud[em]", "email"), ("query.ud[ph]", "phone"), ("query.ud[fn]", "first_name")},
        "region1.google-analytics.com": {("query.dl.email", "email")},
        "us.i.posthog.com": {("body.form.data.properties.$email", "email")},
    }
    for host, pairs in expected.items():
        events = by_host.get(host, [])
        expect_equal(len(events), 1, f"events for {host} (hosts seen: {sorted(by_host)})")
        findings = field(events[0], "plainsight.pii") or []
        found = {(item["path"], item["category"]) for item in findings}
        missing = pairs - found
        if missing:
            raise AssertionError(f"{host}: findings {sorted(missing)} missing; found {sorted(found)}")
        for item in findings:
            if len(item.get("fingerprint", "")) != 64 or not item.get("encoding") or not item.get("source"):
                raise AssertionError(f"{host}: incomplete finding {item}")
        expect_equal(field(events[0], "plainsight.severity"), "high", f"severity of {host}")

    output = open(plainsight.events_path, encoding="utf-8").read() + plainsight.stderr()
    for value in (EMAIL, PHONE, FIRST_NAME):
        for form in value_forms(value):
            if form in output:
                raise AssertionError(f"a form of the persona value {value!r} is in the output: {form!r}")


def test_firefox_persona(context):
    check_persona(context, Firefox(context.directory, context.authority.ca_cert), "firefox-esr")


def test_chromium_persona(context):
    check_persona(context, Chromium(context.directory), "chromium")
