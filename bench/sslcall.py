#!/usr/bin/python3
"""SSL call cost for bench/run.sh tls: Python's ssl (OpenSSL, libssl.so.3).

sslcall.py CERT KEY N
  A client and a server session in one process joined by memory BIOs (no
  socket), handshake done; then N times a 27-byte request written by the
  client (SSL_write_ex) and read by the server (SSL_read_ex). Prints
  "ns_per_call X": wall time per SSL call, Python's loop included.
"""
import ssl
import sys
import time


def main():
    cert, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = cctx.wrap_bio(ci, co)
    s = sctx.wrap_bio(si, so, server_side=True)
    for _ in range(10):
        for end in (c, s):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        while co.pending:
            si.write(co.read())
        while so.pending:
            ci.write(so.read())
    msg = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    t0 = time.perf_counter_ns()
    for _ in range(n):
        c.write(msg)
        si.write(co.read())
        if s.read(4096) != msg:
            sys.exit("sslcall: the server read something else")
    t1 = time.perf_counter_ns()
    print("ns_per_call %.1f" % ((t1 - t0) / (2 * n)))


if __name__ == "__main__":
    main()
