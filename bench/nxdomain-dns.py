#!/usr/bin/env python3
# The upstream DNS server of bench/overlay-latency.js: answers every query NXDOMAIN at once, as
# a network's resolver answers a name that does not exist. Without it, the containers' resolvers
# (berth's and Docker's) forward the not-yet-existing name to upstreams that do not answer, and
# each failed lookup in the pinger's loop lasts the forwarder's timeout (10 s with Docker), so
# the figure would measure that timeout instead of the overlay.   Usage: nxdomain-dns.py ADDR
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12 or q[2] & 0x80:
        continue  # not a query
    end = 12  # the end of the first question: its labels, the root label, type and class
    while end < len(q) and q[end] != 0:
        end += 1 + q[end]
    end += 5
    if end > len(q) or int.from_bytes(q[4:6], 'big') != 1:
        continue
    # QR, the query's opcode and RD; RA, RCODE 3 (NXDOMAIN); one question, no other records
    s.sendto(q[:2] + bytes([0x80 | (q[2] & 0x79), 0x83]) + b'\x00\x01' + b'\x00' * 6 + q[12:end], peer)
