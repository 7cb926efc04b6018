// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/parse.h"
#include "export/web.h"

/* A scraper or two; the rest wait in the backlog. */
#define WEB_CONNECTIONS_MAX	16
#define WEB_TIMEOUT_S		10

struct gp_web {
	int fd;				/* listening; the daemon's once started */
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;		/* body, len */
	char *body;			/* NULL until the first publish */
	size_t len;
};

int gp_web_resolve(const char *listen, struct gp_web_addr *a, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[GP_LISTEN_HOST_MAX], port[8];
	int err;

	if (gp_parse_listen(listen, host, sizeof(host), port, sizeof(port))) {
		snprintf(why, len, "not HOST:PORT");
		return -EINVAL;
	}
	/* No host: every address, IPv6 and IPv4 both where the node has IPv6. */
	if (!host[0]) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

		memset(a, 0, sizeof(*a));
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((unsigned short)atoi(port));
		a->len = sizeof(*s6);
		return 0;
	}
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		snprintf(why, len, "%s", gai_strerror(err));
		return -EINVAL;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int listen_on(const struct gp_web_addr *a)
{
	int one = 1, zero = 0, fd;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* [::] on a node without IPv6: 0.0.0.0 then. */
	if (fd < 0 && errno == EAFNOSUPPORT && a->ss.ss_family == AF_INET6) {
		struct sockaddr_in v4 = { .sin_family = AF_INET,
			.sin_port = ((const struct sockaddr_in6 *)&a->ss)->sin6_port };
		struct gp_web_addr a4 = { .len = sizeof(v4) };

		memcpy(&a4.ss, &v4, sizeof(v4));
		return listen_on(&a4);
	}
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) || listen(fd, SOMAXCONN)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int gp_web_listen(struct gp_web **out, const struct gp_web_addr *a, char *why, size_t len)
{
	struct gp_web *w;
	int fd;

	*out = NULL;
	fd = listen_on(a);
	if (fd < 0) {
		snprintf(why, len, "cannot listen: %s", strerror(-fd));
		return fd;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	w->fd = fd;
	pthread_mutex_init(&w->lock, NULL);
	*out = w;
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? GP_WEB_CONTENT_TYPE : "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static struct MHD_Response *text(const char *s)
{
	return MHD_create_response_from_buffer(strlen(s), (void *)s, MHD_RESPMEM_PERSISTENT);
}

/* The server thread: /metrics gets a copy of the last published bytes, taken under the lock. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct gp_web *w = cls;
	struct MHD_Response *r = NULL;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(url, GP_WEB_PATH))
		return reply(c, MHD_HTTP_NOT_FOUND, text("404 page not found\n"));
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text("only GET and HEAD\n"));
	pthread_mutex_lock(&w->lock);
	if (w->body)
		r = MHD_create_response_from_buffer(w->len, w->body, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&w->lock);
	if (!r)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, text("no metrics rendered yet\n"));
	return reply(c, MHD_HTTP_OK, r);
}

int gp_web_start(struct gp_web *w, char *why, size_t len)
{
	sigset_t all, old;

	/* Signals are the main loop's: the server thread is born with them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	w->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
				     on_request, w, MHD_OPTION_LISTEN_SOCKET, w->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONNECTIONS_MAX,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_TIMEOUT_S,
				     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->daemon) {
		snprintf(why, len, "the HTTP server did not start");
		return -EIO;
	}
	w->fd = -1;	/* the daemon's now: MHD_stop_daemon closes it */
	return 0;
}

int gp_web_publish(struct gp_web *w, const char *buf, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	pthread_mutex_lock(&w->lock);
	free(w->body);
	w->body = copy;
	w->len = len;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void gp_web_close(struct gp_web *w)
{
	if (!w)
		return;
	if (w->daemon)
		MHD_stop_daemon(w->daemon);
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w->body);
	free(w);
}
