// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * replay's input: any file through the capture reader and the frame splitter
 * (which parses the headers of oversized frames); no crash, every frame an
 * Ethernet frame, every piece within the test-run limit.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "input/pcapin.h"
#include "input/pktsplit.h"

#define PIECE_MAX	3584

/* Every byte is read, so ASan sees an out-of-bounds one. */
static volatile uint8_t sink;

/* ctx: the frame's length; a frame over the limit must come out in pieces within it. */
static int piece(void *ctx, const uint8_t *frame, size_t len)
{
	size_t whole = *(size_t *)ctx, i;

	if (whole > PIECE_MAX && len > PIECE_MAX)
		abort();
	for (i = 0; i < len; i++)
		sink ^= frame[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_pcap *p = NULL;
	struct gp_pcap_frame f;
	char path[64], err[512];
	int fd = memfd_create("fuzz.pcap", 0), n;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (gp_pcap_open(&p, path, err, sizeof(err)))
		goto out;
	while (gp_pcap_next(p, &f, err, sizeof(err)) == 1) {
		if (f.len < 14 || f.len > GP_PCAP_FRAME_MAX || f.len > f.wire_len)
			abort();
		n = gp_frame_split(f.data, f.len, PIECE_MAX, piece, &f.len);
		if (n == 0)
			abort();
	}
out:
	gp_pcap_close(p);
	close(fd);
	return 0;
}
