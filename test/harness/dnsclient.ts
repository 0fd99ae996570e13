// A tiny DNS client for the e2e tests, a python3 script run in a container (from the host
// image) or in a namespace: `python3 -c DNS_CLIENT NAME [QTYPE] [udp|tcp] [SERVER]` (default: an
// A query over UDP to 127.0.0.11). It prints "rcode=N tc=N ip ip ...", or "timeout", "short"
// or "error <kind>" when no usable answer comes.
export const DNS_CLIENT = `
import socket, struct, sys, random
name = sys.argv[1]
qtype = int(sys.argv[2]) if len(sys.argv) > 2 else 1
tcp = len(sys.argv) > 3 and sys.argv[3] == 'tcp'
server = sys.argv[4] if len(sys.argv) > 4 else '127.0.0.11'
q = struct.pack('>HHHHHH', random.randint(0, 65535), 0x0100, 1, 0, 0, 0)
q += b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\\0' + struct.pack('>HH', qtype, 1)
try:
    if tcp:
        s = socket.create_connection((server, 53), timeout=4); s.sendall(struct.pack('>H', len(q)) + q)
        d = b''
        while len(d) < 2 or len(d) < 2 + struct.unpack('>H', d[:2])[0]:
            c = s.recv(65535)
            if not c: break
            d += c
        r = d[2:]
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(4); s.sendto(q, (server, 53))
        r = s.recv(65535)
except (socket.timeout, ConnectionError) as e:
    print('timeout' if isinstance(e, socket.timeout) else 'error ' + type(e).__name__); sys.exit(0)
if len(r) < 12: print('short'); sys.exit(0)
flags, qd, an = struct.unpack('>HHH', r[2:8])
i = 12
for _ in range(qd):
    while r[i] != 0: i += 1 + r[i]
    i += 5
ips = []
for _ in range(an):
    while True:
        if r[i] & 0xc0 == 0xc0: i += 2; break
        if r[i] == 0: i += 1; break
        i += 1 + r[i]
    t, _c, _ttl, ln = struct.unpack('>HHIH', r[i:i+10]); i += 10
    if t == 1: ips.append('.'.join(str(b) for b in r[i:i+4]))
    i += ln
print('rcode=%d tc=%d %s' % (flags & 15, (flags >> 9) & 1, ' '.join(ips)))
`;
