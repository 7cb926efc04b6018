// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test peer with exact counts, so assertions need no guessing:
 *   tcpconn listen ADDR PORT          accept and close until killed
 *   tcpconn connect ADDR PORT COUNT   COUNT blocking connects, one at a time;
 *                                     prints "established=N refused=N ..."
 * An AF_INET6 address such as ::ffff:198.18.0.2 exercises v4-mapped sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockaddr.h"

static int do_listen(struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)ss, len) || listen(fd, 4096)) {
		perror("tcpconn: listen");
		return 1;
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED)
			return perror("tcpconn: accept"), 1;
	}
}

static int do_connect(struct sockaddr_storage *ss, socklen_t len, long count)
{
	long est = 0, refused = 0, timeout = 0, unreach = 0, other = 0, i;

	for (i = 0; i < count; i++) {
		int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return perror("tcpconn: socket"), 1;
		if (!connect(fd, (struct sockaddr *)ss, len))
			est++;
		else if (errno == ECONNREFUSED)
			refused++;
		else if (errno == ETIMEDOUT)
			timeout++;
		else if (errno == EHOSTUNREACH || errno == ENETUNREACH)
			unreach++;
		else
			other++;
		close(fd);
	}
	printf("established=%ld refused=%ld timeout=%ld unreachable=%ld other=%ld\n",
	       est, refused, timeout, unreach, other);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *end;
	long count;

	if (argc >= 4 && !strcmp(argv[1], "listen") && !parse_addr(argv[2], argv[3], &ss, &len))
		return do_listen(&ss, len);
	if (argc == 5 && !strcmp(argv[1], "connect") && !parse_addr(argv[2], argv[3], &ss, &len)) {
		count = strtol(argv[4], &end, 10);
		if (!*end && count > 0 && count <= 10000000)
			return do_connect(&ss, len, count);
	}
	fprintf(stderr, "usage: tcpconn listen ADDR PORT | tcpconn connect ADDR PORT COUNT\n");
	return 2;
}
