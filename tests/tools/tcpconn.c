// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test peer with exact counts, so assertions need no guessing:
 *   tcpconn listen ADDR PORT          accept and close until killed
 *   tcpconn connect ADDR PORT COUNT   COUNT blocking connects, one at a time;
 *                                     prints "established=N refused=N ..."
 *   tcpconn connect-nb ADDR PORT COUNT WAIT_MS
 *                                     the same non-blocking, as curl or Go do:
 *                                     poll up to WAIT_MS, then SO_ERROR; a socket
 *                                     still connecting then is closed, counted
 *                                     in a trailing "abandoned=N"
 * An AF_INET6 address such as ::ffff:198.18.0.2 exercises v4-mapped sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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

struct counts {
	long est, refused, timeout, unreach, abandoned, other;
};

static void count_errno(struct counts *n, int err)
{
	if (!err)
		n->est++;
	else if (err == ECONNREFUSED)
		n->refused++;
	else if (err == ETIMEDOUT)
		n->timeout++;
	else if (err == EHOSTUNREACH || err == ENETUNREACH)
		n->unreach++;
	else
		n->other++;
}

/* The attempt's errno (0: established), or -1 when it gave up after wait_ms. */
static int connect_nb(int fd, const struct sockaddr_storage *ss, socklen_t len, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int err = 0, rc;

	if (!connect(fd, (const struct sockaddr *)ss, len))
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	do
		rc = poll(&p, 1, wait_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return -1;
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		return errno;
	return err;
}

/* wait_ms < 0: blocking connects. */
static int do_connect(struct sockaddr_storage *ss, socklen_t len, long count, int wait_ms)
{
	struct counts n = { 0 };
	long i;

	for (i = 0; i < count; i++) {
		int err, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC |
				     (wait_ms >= 0 ? SOCK_NONBLOCK : 0), 0);

		if (fd < 0)
			return perror("tcpconn: socket"), 1;
		if (wait_ms >= 0)
			err = connect_nb(fd, ss, len, wait_ms);
		else
			err = connect(fd, (struct sockaddr *)ss, len) ? errno : 0;
		if (err < 0)
			n.abandoned++;
		else
			count_errno(&n, err);
		close(fd);
	}
	printf("established=%ld refused=%ld timeout=%ld unreachable=%ld other=%ld",
	       n.est, n.refused, n.timeout, n.unreach, n.other);
	if (wait_ms >= 0)
		printf(" abandoned=%ld", n.abandoned);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *end, *wend;
	long count, wait;

	if (argc >= 4 && !strcmp(argv[1], "listen") && !parse_addr(argv[2], argv[3], &ss, &len))
		return do_listen(&ss, len);
	if (argc == 5 && !strcmp(argv[1], "connect") && !parse_addr(argv[2], argv[3], &ss, &len)) {
		count = strtol(argv[4], &end, 10);
		if (!*end && count > 0 && count <= 10000000)
			return do_connect(&ss, len, count, -1);
	}
	if (argc == 6 && !strcmp(argv[1], "connect-nb") && !parse_addr(argv[2], argv[3], &ss, &len)) {
		count = strtol(argv[4], &end, 10);
		wait = strtol(argv[5], &wend, 10);
		if (!*end && count > 0 && count <= 10000000 && !*wend && wait >= 0 && wait <= 3600000)
			return do_connect(&ss, len, count, (int)wait);
	}
	fprintf(stderr, "usage: tcpconn listen ADDR PORT | tcpconn connect ADDR PORT COUNT\n"
		"       tcpconn connect-nb ADDR PORT COUNT WAIT_MS\n");
	return 2;
}
