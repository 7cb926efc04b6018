/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_WEB_H
#define GP_WEB_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * --web.listen-address: the textfile's bytes on http://ADDR:PORT/metrics
 * (libmicrohttpd, its own thread). The engine renders once per interval
 * and publishes the bytes here; the server thread only ever copies them
 * out under a lock, it never touches the engine.
 */
struct gp_web;

#define GP_WEB_CONTENT_TYPE	"text/plain; version=0.0.4"
#define GP_WEB_PATH		"/metrics"

struct gp_web_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address) to a socket address; why on failure. */
int gp_web_resolve(const char *listen, struct gp_web_addr *a, char *why, size_t len);
/* Bound and listening now (before privileges go); no thread yet. 0 or a negative errno. */
int gp_web_listen(struct gp_web **out, const struct gp_web_addr *a, char *why, size_t len);
/* The server thread, started once privileges are dropped (capabilities are per thread). */
int gp_web_start(struct gp_web *w, char *why, size_t len);
/* What /metrics serves from now on (copied); until the first, 503. 0 or -ENOMEM. */
int gp_web_publish(struct gp_web *w, const char *buf, size_t len);
void gp_web_close(struct gp_web *w);		/* NULL-safe */

#endif
