/*
 * The unit of data between the capture or source stage and the stream stage:
 * one observation about a TLS connection, in the order it was made. A live
 * capture, a capture archive and (later) a HAR file all produce this stream,
 * so everything after it runs the same without root or BPF.
 */
#ifndef PLAINSIGHT_TLS_CHUNK_H
#define PLAINSIGHT_TLS_CHUNK_H

#include <stdint.h>

enum tls_chunk_type {
	TLS_CHUNK_DATA = 1,       /* plaintext bytes of one direction */
	TLS_CHUNK_CONNECTION = 2, /* the socket (addresses, ports) of a connection */
	TLS_CHUNK_CLOSE = 3,      /* the connection ended */
	TLS_CHUNK_PROCESS = 4,    /* a process and its executable became known */
	TLS_CHUNK_EXIT = 5,       /* a process ended: its connections end too */
	TLS_CHUNK_TICK = 6,       /* time passed: lets timeouts fire in replay too */
	TLS_CHUNK_THREAD = 7,     /* a thread's name became known or changed */
	TLS_CHUNK_QUIC = 8,       /* a process sent QUIC (UDP to port 443), unreadable */
};

enum tls_direction {
	TLS_EGRESS = 0,  /* written by the observed process */
	TLS_INGRESS = 1, /* read by the observed process */
};

enum tls_library {
	TLS_LIBRARY_UNKNOWN = 0,
	TLS_LIBRARY_OPENSSL = 1,
	TLS_LIBRARY_NSS = 2,
	TLS_LIBRARY_GNUTLS = 3,
	TLS_LIBRARY_BORINGSSL = 4,
};

struct tls_endpoint {
	uint16_t family;     /* AF_INET, AF_INET6, or 0 when unknown */
	uint16_t port;       /* host byte order */
	uint8_t address[16]; /* network byte order; IPv4 in the first 4 bytes */
};

struct tls_chunk {
	enum tls_chunk_type type;
	uint64_t time_ns; /* CLOCK_REALTIME, nanoseconds since the Unix epoch */
	uint32_t pid;
	uint32_t tid;
	uint64_t conn_id; /* unique within one capture run */

	/* TLS_CHUNK_DATA */
	enum tls_direction direction;
	enum tls_library library;
	uint64_t stream_offset; /* offset of data[0] in its direction's stream */
	const uint8_t *data;
	uint32_t data_bytes;

	/* TLS_CHUNK_CONNECTION and TLS_CHUNK_QUIC */
	struct tls_endpoint local;
	struct tls_endpoint peer;

	/* TLS_CHUNK_CLOSE: final stream lengths, to count bytes lost at the end */
	uint64_t egress_bytes;
	uint64_t ingress_bytes;

	/* TLS_CHUNK_PROCESS */
	const char *executable_path; /* NUL-terminated, may be empty */

	/* TLS_CHUNK_THREAD: the name the thread gave itself (comm), such as
	 * Firefox's "Socket Thread" */
	const char *thread_name;
};

/* A consumer of chunks: the stream stage, an archive writer, or both. The
 * chunk and the memory it points to are valid only during the call.
 * Returns 0 or a negative errno. */
struct tls_chunk_sink {
	int (*write)(struct tls_chunk_sink *sink, const struct tls_chunk *chunk);
};

#endif
