/*
 * Benchmark sink: a TLS server on 127.0.0.1 that reads and discards
 * everything, one forked process per connection.
 *
 *   tls_sink CERT KEY
 *
 * Prints "port=N" once it listens, then serves until killed. It is a
 * separate executable from the client so that captures filtered by
 * executable name (--exe tls_write_client) never see the sink's reads.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void drain(SSL_CTX *context, int fd)
{
	SSL *ssl = SSL_new(context);
	char buffer[1 << 16];

	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		while (SSL_read(ssl, buffer, sizeof(buffer)) > 0)
			;
	}
	SSL_free(ssl);
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t length = sizeof(address);
	SSL_CTX *context;
	int listener;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CERT KEY\n", argv[0]);
		return 2;
	}
	context = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate_file(context, argv[1], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(context, argv[2], SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}

	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) ||
	    listen(listener, 64) || getsockname(listener, (struct sockaddr *)&address, &length)) {
		perror("tls_sink: cannot listen on 127.0.0.1");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);
	printf("port=%d\n", ntohs(address.sin_port));
	fflush(stdout);

	for (;;) {
		int fd = accept(listener, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() == 0) {
			close(listener);
			drain(context, fd);
			_exit(0);
		}
		close(fd);
	}
}
