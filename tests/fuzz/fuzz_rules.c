// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Rules text from an operator's file: each line either added or refused with
 * a one-line message; whatever is built evaluates on a flow whose headers
 * also come from the input, and every gray label is a valid label.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pipeline/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t c4[16] = { 198, 18, 0, 1 }, s4[16] = { 198, 19, 0, 2 };
	struct gp_rules_builder *b = gp_rules_builder_new();
	char *text = malloc(size + 1), *line, *save = NULL, err[512];
	struct gp_flow_facts f = {
		.family = AF_INET, .saddr = c4, .daddr = s4, .sport = 40000, .dport = 443,
		.alpn = "h2", .sni = "a.canary.example.com",
		.http_hdrs = data, .http_hdrs_len = size,
	};
	struct gp_rules *r;
	struct gp_gray g;
	unsigned n = 0;

	if (!b || !text)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		err[0] = '\0';
		if (gp_rules_add_line(b, line, "fuzz", ++n, err, sizeof(err)) &&
		    (!err[0] || strchr(err, '\n')))
			abort();
	}
	r = gp_rules_build(b);
	b = NULL;
	if (!r)
		goto out;
	gp_rules_eval(r, &f, &g);
	if (!g.gray[0] || strnlen(g.gray, sizeof(g.gray)) > GP_TAG_MAX || !strcmp(g.gray, "other"))
		abort();
	gp_rules_free(r);
out:
	gp_rules_builder_free(b);
	free(text);
	return 0;
}
