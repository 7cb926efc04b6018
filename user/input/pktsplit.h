/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_PKTSPLIT_H
#define GP_PKTSPLIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * BPF_PROG_TEST_RUN takes at most about a page per skb; captures taken with
 * GRO/TSO hold TCP frames of up to 64 KiB. This cuts such a frame's payload
 * into consecutive segments that each fit, headers copied and the IP length
 * and TCP sequence fixed up (checksums are not: nothing checks them there),
 * SYN kept on the first piece, FIN/RST/PSH on the last.
 */
typedef int (*gp_piece_fn)(void *ctx, const uint8_t *frame, size_t len);

/*
 * Calls fn once with the frame as is when len <= max_len, else once per
 * piece. Returns the number of pieces, -EMSGSIZE for an oversized frame
 * that is not a whole, unfragmented TCP/IP packet over Ethernet (VLAN
 * tags and IPv6 extension headers are followed), or fn's negative return.
 */
int gp_frame_split(const uint8_t *frame, size_t len, size_t max_len, gp_piece_fn fn, void *ctx);

#endif
