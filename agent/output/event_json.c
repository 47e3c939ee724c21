/*
 * The JSON event of one request, built with cJSON.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "internal.h"

#define HTTPS_DEFAULT_PORT 443

/* Length of the valid UTF-8 sequence at text, or 0 if it is not one
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence_length(const unsigned char *text)
{
	unsigned char c = text[0];
	size_t length;
	unsigned int code;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		length = 2;
		code = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		length = 3;
		code = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		length = 4;
		code = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < length; i++) {
		if ((text[i] & 0xC0) != 0x80)
			return 0;
		code = (code << 6) | (text[i] & 0x3F);
	}
	if ((length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
	    (length == 4 && (code < 0x10000 || code > 0x10FFFF)))
		return 0;
	return length;
}

/* Adds a string member. Captured text can hold any bytes, and JSON must be
 * UTF-8: each byte that does not start a valid sequence becomes U+FFFD. */
static void add_text(cJSON *object, const char *name, const char *text)
{
	const unsigned char *in = (const unsigned char *)text;
	size_t length = strlen(text);
	char *clean;
	size_t out = 0;

	clean = malloc(length * 3 + 1);
	if (!clean)
		return;
	while (*in) {
		size_t sequence = utf8_sequence_length(in);

		if (sequence) {
			memcpy(clean + out, in, sequence);
			out += sequence;
			in += sequence;
		} else {
			memcpy(clean + out, "\xEF\xBF\xBD", 3);
			out += 3;
			in++;
		}
	}
	clean[out] = '\0';
	cJSON_AddStringToObject(object, name, clean);
	free(clean);
}

/* Appends a string to an array, with the same UTF-8 repair as add_text. */
static void add_text_item(cJSON *array, const char *text)
{
	cJSON *holder = cJSON_CreateObject();
	cJSON *item;

	if (!holder)
		return;
	add_text(holder, "text", text);
	item = cJSON_DetachItemFromObject(holder, "text");
	if (item)
		cJSON_AddItemToArray(array, item);
	cJSON_Delete(holder);
}

/* Returns the named child object of parent, created if missing. */
static cJSON *object_at(cJSON *parent, const char *name)
{
	cJSON *child = cJSON_GetObjectItemCaseSensitive(parent, name);

	return child ? child : cJSON_AddObjectToObject(parent, name);
}

cJSON *event_object_at(cJSON *parent, const char *name)
{
	return object_at(parent, name);
}

void event_add_text(cJSON *object, const char *name, const char *text)
{
	add_text(object, name, text);
}

static void format_timestamp(uint64_t time_ns, char *text, size_t size)
{
	time_t seconds = (time_t)(time_ns / 1000000000u);
	unsigned int micros = (unsigned int)(time_ns % 1000000000u / 1000u);
	struct tm utc;
	char date[32];

	gmtime_r(&seconds, &utc);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &utc);
	snprintf(text, size, "%s.%06uZ", date, micros);
}

static bool format_address(const struct tls_endpoint *endpoint, char *text, size_t size)
{
	if (endpoint->family == 2)
		return inet_ntop(AF_INET, endpoint->address, text, size) != NULL;
	if (endpoint->family == 10)
		return inet_ntop(AF_INET6, endpoint->address, text, size) != NULL;
	return false;
}

static void add_endpoint(cJSON *object, const struct tls_endpoint *endpoint)
{
	char address[INET6_ADDRSTRLEN];

	if (!format_address(endpoint, address, sizeof(address)))
		return;
	add_text(object, "address", address);
	cJSON_AddNumberToObject(object, "port", endpoint->port);
}

/* The authority the request was sent to: its Host header, or the peer's
 * address and port when it has none (HTTP/1.0). */
struct authority {
	char text[512];    /* as it goes into url.full */
	char host[512];    /* server.address */
	unsigned int port; /* server.port */
};

static void split_host_port(struct authority *authority, unsigned int default_port)
{
	char *colon;
	char *end;

	snprintf(authority->host, sizeof(authority->host), "%s", authority->text);
	authority->port = default_port;

	if (authority->host[0] == '[') {
		/* An IPv6 literal, RFC 3986 section 3.2.2: "[::1]:8443". */
		end = strchr(authority->host, ']');
		if (!end)
			return;
		colon = end[1] == ':' ? end + 1 : NULL;
		*end = '\0';
		memmove(authority->host, authority->host + 1, strlen(authority->host));
	} else {
		colon = strrchr(authority->host, ':');
	}
	if (colon) {
		*colon = '\0';
		authority->port = (unsigned int)strtoul(colon + 1, NULL, 10);
	}
}

/* Copies the host and port of an absolute URL ("https://user@host:port/")
 * into authority->text, without the credentials. Returns false when url has
 * no "//". */
static bool authority_of_url(const char *url, struct authority *authority)
{
	const char *start = strstr(url, "//");
	const char *at;
	size_t length;

	if (!start)
		return false;
	start += 2;
	length = strcspn(start, "/?#");
	at = memrchr(start, '@', length);
	if (at) {
		length -= (size_t)(at + 1 - start);
		start = at + 1;
	}
	snprintf(authority->text, sizeof(authority->text), "%.*s", (int)length, start);
	return true;
}

static void find_authority(const struct http_exchange *exchange, struct authority *authority)
{
	const char *host = http_message_header(exchange->request, "Host");
	unsigned int peer_port = exchange->peer.family ? exchange->peer.port : HTTPS_DEFAULT_PORT;
	char address[INET6_ADDRSTRLEN];

	if (exchange->url_full && authority_of_url(exchange->url_full, authority)) {
		split_host_port(authority, strncasecmp(exchange->url_full, "http://", 7) == 0 ? 80 : 443);
		return;
	}
	if (!host)
		host = http_message_header(exchange->request, ":authority");
	if (host && host[0]) {
		snprintf(authority->text, sizeof(authority->text), "%s", host);
		split_host_port(authority, peer_port);
		return;
	}

	if (!format_address(&exchange->peer, address, sizeof(address)))
		snprintf(address, sizeof(address), "unknown");
	if (exchange->peer.family == 10)
		snprintf(authority->text, sizeof(authority->text), "[%s]:%u", address, peer_port);
	else
		snprintf(authority->text, sizeof(authority->text), "%s:%u", address, peer_port);
	snprintf(authority->host, sizeof(authority->host), "%s", address);
	authority->port = peer_port;
}

/* Adds url.path and url.query from the origin-form part of a URL (the
 * request target, or what follows the authority of an absolute URL). */
static void add_path_and_query(cJSON *url, const char *target)
{
	const char *query = strchr(target, '?');
	const char *fragment = strchr(target, '#');
	size_t path_length = query ? (size_t)(query - target) : strcspn(target, "#");
	char *path = strndup(target, path_length);

	if (path)
		add_text(url, "path", path[0] ? path : "/");
	free(path);
	if (query) {
		char *text = strndup(query + 1, fragment && fragment > query ? (size_t)(fragment - query - 1) : strlen(query + 1));

		if (text)
			add_text(url, "query", text);
		free(text);
	}
}

static void add_url(cJSON *event, const struct http_exchange *exchange, const struct authority *authority)
{
	const char *target = exchange->request->target;
	const char *absolute = exchange->url_full;
	cJSON *url = object_at(event, "url");
	char *full;
	size_t size;

	/* Absolute-form targets (RFC 9112, section 3.2.2) are the URL already. */
	if (!absolute && (strncasecmp(target, "https://", 8) == 0 || strncasecmp(target, "http://", 7) == 0))
		absolute = target;
	if (absolute) {
		const char *rest = strstr(absolute, "//");

		add_text(url, "full", absolute);
		rest = rest ? rest + 2 + strcspn(rest + 2, "/?#") : "";
		add_path_and_query(url, rest);
		return;
	}

	/* The asterisk-form of OPTIONS (RFC 9112, section 3.2.4) names the
	 * server itself. */
	if (strcmp(target, "*") == 0) {
		size = strlen(authority->text) + sizeof("https://");
		full = malloc(size);
		if (full)
			snprintf(full, size, "https://%s", authority->text);
		if (full)
			add_text(url, "full", full);
		free(full);
		return;
	}

	size = strlen(authority->text) + strlen(target) + sizeof("https://");
	full = malloc(size);
	if (!full)
		return;
	snprintf(full, size, "https://%s%s", authority->text, target);
	add_text(url, "full", full);
	free(full);
	add_path_and_query(url, target);
}

static void add_process(cJSON *event, uint32_t pid, uint32_t tid, const char *executable_path,
			const char *thread_name)
{
	cJSON *process = object_at(event, "process");
	cJSON *executable;
	const char *name = strrchr(executable_path, '/');

	cJSON_AddNumberToObject(process, "pid", pid);
	cJSON_AddNumberToObject(object_at(process, "thread"), "id", tid);
	if (thread_name && thread_name[0])
		add_text(object_at(process, "thread"), "name", thread_name);
	executable = object_at(process, "executable");
	add_text(executable, "name", name ? name + 1 : executable_path);
	add_text(executable, "path", executable_path);
}

/* Fields that every event starts with. */
static void add_common(cJSON *event, uint64_t time_ns, const char *kind, const char *host_name,
		       uint64_t sequence)
{
	char timestamp[64];

	format_timestamp(time_ns, timestamp, sizeof(timestamp));
	add_text(event, "@timestamp", timestamp);
	add_text(object_at(event, "event"), "kind", kind);
	cJSON_AddNumberToObject(object_at(event, "event"), "sequence", (double)sequence);
	add_text(object_at(event, "agent"), "name", "plainsight");
	add_text(object_at(event, "agent"), "version", PLAINSIGHT_VERSION);
	add_text(object_at(event, "host"), "name", host_name);
}

static void add_network(cJSON *event, const struct http_exchange *exchange)
{
	cJSON *network = object_at(event, "network");
	cJSON *protocol = object_at(network, "protocol");
	char version[16];

	/* OpenTelemetry writes "1.0" and "1.1", but "2" and "3". */
	if (exchange->request->version_major >= 2)
		snprintf(version, sizeof(version), "%d", exchange->request->version_major);
	else
		snprintf(version, sizeof(version), "%d.%d", exchange->request->version_major,
			 exchange->request->version_minor);
	add_text(protocol, "name", "http");
	add_text(protocol, "version", version);
	if (exchange->peer.family) {
		add_text(network, "transport", "tcp");
		add_text(network, "type", exchange->peer.family == 10 ? "ipv6" : "ipv4");
		add_endpoint(object_at(network, "peer"), &exchange->peer);
		if (exchange->local.family)
			add_endpoint(object_at(network, "local"), &exchange->local);
	}
}

static void add_http(cJSON *event, const struct http_exchange *exchange)
{
	cJSON *http = object_at(event, "http");
	cJSON *request = object_at(http, "request");
	cJSON *response;

	add_text(request, "method", exchange->request->method);
	cJSON_AddNumberToObject(object_at(request, "body"), "size", (double)exchange->request->body_bytes);
	if (!exchange->response)
		return;
	response = object_at(http, "response");
	cJSON_AddNumberToObject(response, "status_code", exchange->response->status_code);
	cJSON_AddNumberToObject(object_at(response, "body"), "size", (double)exchange->response->body_bytes);
}

static const char *library_name(enum tls_library library)
{
	switch (library) {
	case TLS_LIBRARY_OPENSSL:
		return "openssl";
	case TLS_LIBRARY_NSS:
		return "nss";
	case TLS_LIBRARY_GNUTLS:
		return "gnutls";
	case TLS_LIBRARY_BORINGSSL:
		return "boringssl";
	case TLS_LIBRARY_UNKNOWN:
		break;
	}
	return "unknown";
}

static void add_capture(cJSON *event, const struct http_exchange *exchange)
{
	cJSON *capture = object_at(object_at(event, "plainsight"), "capture");

	add_text(capture, "source", exchange->capture_source ? exchange->capture_source : "tls");
	if (exchange->conn_id)
		cJSON_AddNumberToObject(capture, "connection_id", (double)exchange->conn_id);
	cJSON_AddNumberToObject(capture, "bytes_lost", (double)exchange->bytes_lost);
	cJSON_AddBoolToObject(capture, "request_truncated", exchange->request->truncated);
	cJSON_AddBoolToObject(capture, "partial",
			      exchange->request->partial || (exchange->response && exchange->response->partial));
	if (exchange->response)
		cJSON_AddBoolToObject(capture, "response_truncated", exchange->response->truncated);
}

static const char *const source_names[] = {
	[FIELD_SOURCE_URL] = "url",
	[FIELD_SOURCE_QUERY] = "query",
	[FIELD_SOURCE_COOKIE] = "cookie",
	[FIELD_SOURCE_HEADER] = "header",
	[FIELD_SOURCE_BODY] = "body",
};

/* plainsight.fields: what the extract stage found, with the chain of
 * decodings of each as "form>url>json". */
static void add_fields(cJSON *event, const struct field_list *fields)
{
	cJSON *array = cJSON_AddArrayToObject(object_at(event, "plainsight"), "fields");

	for (size_t i = 0; array && i < fields->count; i++) {
		const struct field *field = &fields->fields[i];
		cJSON *item = cJSON_CreateObject();
		char chain[FIELD_MAX_DECODINGS * 16] = "";

		if (!item)
			return;
		for (size_t d = 0; d < field->decoding_count; d++) {
			if (d)
				strcat(chain, " > ");
			strcat(chain, field_decoding_name(field->decodings[d]));
		}
		add_text(item, "path", field->path);
		/* NOTE: a value with a NUL byte is cut there, as JSON strings
		 * from C strings are. */
		add_text(item, "value", field->value);
		add_text(item, "source", source_names[field->source]);
		if (chain[0])
			add_text(item, "encoding", chain);
		cJSON_AddItemToArray(array, item);
	}
}

char *event_url_full(const struct http_exchange *exchange)
{
	struct authority authority;
	cJSON *holder = cJSON_CreateObject();
	const cJSON *full;
	char *url = NULL;

	if (!holder)
		return NULL;
	find_authority(exchange, &authority);
	add_url(holder, exchange, &authority);
	full = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(holder, "url"), "full");
	if (cJSON_IsString(full))
		url = strdup(full->valuestring);
	cJSON_Delete(holder);
	return url;
}

static void add_site(cJSON *event, const struct site_context *site)
{
	cJSON *plainsight = object_at(event, "plainsight");

	if (site->site[0])
		add_text(plainsight, "site", site->site);
	if (site->party != PARTY_UNKNOWN)
		cJSON_AddBoolToObject(plainsight, "third_party", site->party == PARTY_THIRD);
}

static void add_pixel(cJSON *tracker, const struct pixel_report *pixel)
{
	cJSON *list;

	if (pixel->event_count)
		add_text(tracker, "event", pixel->events[0]);
	if (pixel->event_count > 1) {
		list = cJSON_AddArrayToObject(tracker, "events");
		for (size_t i = 0; list && i < pixel->event_count; i++)
			add_text_item(list, pixel->events[i]);
	}
	if (pixel->account_id)
		add_text(tracker, "account_id", pixel->account_id);
	if (pixel->page_url)
		add_text(tracker, "page_url", pixel->page_url);
	if (!pixel->identity_count)
		return;
	list = cJSON_AddArrayToObject(tracker, "identity_fields");
	for (size_t i = 0; list && i < pixel->identity_count; i++) {
		cJSON *item = cJSON_CreateObject();

		if (!item)
			return;
		add_text(item, "path", pixel->identity[i].path);
		add_text(item, "meaning", pixel->identity[i].meaning);
		cJSON_AddItemToArray(list, item);
	}
}

/* plainsight.tracker, or plainsight.browser_traffic for a service that
 * the browser calls on its own. */
static void add_label(cJSON *event, const struct classification *classification)
{
	const struct tracker_label *label = &classification->label;
	cJSON *object;

	if (!classification->tracker && !classification->browser)
		return;
	object = object_at(object_at(event, "plainsight"), classification->tracker ? "tracker" : "browser_traffic");
	if (label->entry) {
		add_text(object, "vendor", label->entry->vendor);
		add_text(object, "product", label->entry->product);
		add_text(object, "company", label->entry->company);
	} else if (classification->site.server[0]) {
		/* A filter list names no vendor: the registrable domain is the
		 * best lead to who runs the service. */
		add_text(object, "domain", classification->site.server);
	}
	if (classification->tracker)
		add_text(object, "category", label->category);
	if (label->decoded)
		add_pixel(object, &label->pixel);
	add_text(object, "matched_by", label->matched_by);
}

char *event_format(const struct http_exchange *exchange, const char *host_name, uint64_t sequence,
		   const struct event_annotations *annotations)
{
	cJSON *event = cJSON_CreateObject();
	struct authority authority;
	const char *user_agent = http_message_header(exchange->request, "User-Agent");
	char *text;

	if (!event)
		return NULL;

	add_common(event, exchange->request->time_ns, "http.request", host_name, sequence);
	/* A HAR file names no process and no TLS library. */
	if (exchange->pid)
		add_process(event, exchange->pid, exchange->tid, exchange->executable_path, exchange->thread_name);
	if (exchange->library != TLS_LIBRARY_UNKNOWN)
		add_text(object_at(event, "tls"), "library", library_name(exchange->library));
	add_network(event, exchange);

	find_authority(exchange, &authority);
	add_text(object_at(event, "server"), "address", authority.host);
	cJSON_AddNumberToObject(object_at(event, "server"), "port", authority.port);
	if (exchange->local.family)
		add_endpoint(object_at(event, "client"), &exchange->local);
	add_url(event, exchange, &authority);
	add_http(event, exchange);
	if (user_agent)
		add_text(object_at(event, "user_agent"), "original", user_agent);
	add_capture(event, exchange);
	if (annotations && annotations->classification) {
		add_site(event, &annotations->classification->site);
		add_label(event, annotations->classification);
	}
	if (annotations && annotations->fields)
		add_fields(event, annotations->fields);
	if (annotations)
		event_add_findings(event, annotations);

	text = cJSON_PrintUnformatted(event);
	cJSON_Delete(event);
	return text;
}

char *event_format_quic(const struct quic_notice *notice, const char *host_name, uint64_t sequence)
{
	cJSON *event = cJSON_CreateObject();
	cJSON *network;
	char *text;

	if (!event)
		return NULL;

	add_common(event, notice->time_ns, "quic", host_name, sequence);
	add_process(event, notice->pid, notice->tid, notice->executable_path, notice->thread_name);
	network = object_at(event, "network");
	add_text(object_at(network, "protocol"), "name", "quic");
	add_text(network, "transport", "udp");
	add_text(network, "type", notice->peer.family == 10 ? "ipv6" : "ipv4");
	add_endpoint(object_at(network, "peer"), &notice->peer);
	/* An unconnected socket has no local port before its first send. */
	if (notice->local.family && notice->local.port)
		add_endpoint(object_at(network, "local"), &notice->local);
	add_endpoint(object_at(event, "server"), &notice->peer);
	add_text(object_at(event, "plainsight"), "message",
				"the process sent QUIC (HTTP/3), which plainsight cannot read: its requests "
				"are missing from the capture; turn QUIC off in the browser");

	text = cJSON_PrintUnformatted(event);
	cJSON_Delete(event);
	return text;
}
