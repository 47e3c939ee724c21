/*
 * Benchmark client: one HTTP/1.1 POST over TLS (OpenSSL) whose body is sent
 * in `count` SSL_write calls of `size` bytes each, and the time per call.
 *
 *   tls_write_client HOST PORT COUNT SIZE [--memory]
 *
 * Prints one line: "calls=N bytes=N elapsed_ns=N ns_per_call=X".
 *
 * With --memory, the TLS handshake runs over the socket, and then the
 * encrypted records go to a memory BIO that is emptied now and then instead
 * of to the socket. SSL_write still does all its TLS work, but no syscall:
 * on a VM where one loopback write costs tens of microseconds, this is what
 * makes a uprobe's cost of about a microsecond measurable.
 * The server's certificate is not verified: the server is a local sink.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int connect_tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *addresses;
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &addresses))
		return -1;
	for (struct addrinfo *a = addresses; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(addresses);
	return fd;
}

static int write_all(SSL *ssl, const void *data, int length)
{
	int written = SSL_write(ssl, data, length);

	return written == length ? 0 : -1;
}

int main(int argc, char **argv)
{
	SSL_CTX *context;
	SSL *ssl;
	BIO *memory = NULL;
	char header[256];
	char *body;
	long count;
	long size;
	int fd;
	uint64_t started;
	uint64_t elapsed;

	if (argc < 5) {
		fprintf(stderr, "usage: %s HOST PORT COUNT SIZE [--memory]\n", argv[0]);
		return 2;
	}
	count = strtol(argv[3], NULL, 10);
	size = strtol(argv[4], NULL, 10);
	if (count <= 0 || size <= 0 || size > (1 << 24)) {
		fprintf(stderr, "COUNT must be positive and SIZE from 1 to 16777216\n");
		return 2;
	}

	fd = connect_tcp(argv[1], argv[2]);
	if (fd < 0) {
		fprintf(stderr, "cannot connect to %s:%s\n", argv[1], argv[2]);
		return 1;
	}
	context = SSL_CTX_new(TLS_client_method());
	ssl = SSL_new(context);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}

	if (argc > 5 && strcmp(argv[5], "--memory") == 0) {
		memory = BIO_new(BIO_s_mem());
		SSL_set0_wbio(ssl, memory);
	}

	body = malloc((size_t)size);
	if (!body)
		return 1;
	memset(body, 'b', (size_t)size);
	snprintf(header, sizeof(header),
		 "POST /bench HTTP/1.1\r\nHost: bench.invalid\r\nContent-Length: %lld\r\n\r\n",
		 (long long)count * size);
	if (write_all(ssl, header, (int)strlen(header)))
		return 1;

	started = monotonic_ns();
	for (long i = 0; i < count; i++) {
		if (write_all(ssl, body, (int)size)) {
			ERR_print_errors_fp(stderr);
			return 1;
		}
		if (memory && i % 64 == 63)
			BIO_reset(memory);
	}
	elapsed = monotonic_ns() - started;

	printf("calls=%ld bytes=%lld elapsed_ns=%llu ns_per_call=%.1f\n", count, (long long)count * size,
	       (unsigned long long)elapsed, (double)elapsed / (double)count);
	if (!memory)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(context);
	close(fd);
	free(body);
	return 0;
}
