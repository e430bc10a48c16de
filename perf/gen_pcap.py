#!/usr/bin/python3
"""gen_pcap.py: the captures perf/run.sh replays into portcullis-dataplane.

  gen_pcap.py plain FRAME TUNNELS OUT.pcap [--count P]
  gen_pcap.py esp   FRAME TUNNELS SUITE OUT.pcap [--count P]
  gen_pcap.py check                  # our ESP against scapy's, then exit

FRAME is an Ethernet frame size without FCS (64, 512, 1420) or "imix"
(64/570/1518 bytes in 7:4:1, interleaved). It is always the plaintext
frame, as seen on the protected port: inbound captures carry the ESP
packet of that plaintext frame, which is larger on the wire.

Addresses and keys follow perf/tunnels.cc, which installs the tunnels:
tunnel i has the remote LAN 10.128.0.0+i, the peer gateway peer(i) in
198.18.0.0/15, outbound SPI 0x20000000+i, inbound SPI 0x30000000+i, and
keys tunnel_key(i, dir). Packet k of P goes to tunnel floor(k * N / P)
when N > P (each packet a different tunnel, spread evenly), else k mod N.

Plain frames: 10.1.16.0+(k mod 4096) -> 10.128.0.0+i, UDP 1024+k (k < 60000: perf/latency finds a packet by it) ->
5001, TTL 64. ESP frames: tunnel-mode ESP (RFC 4303) from peer(i) to
192.0.2.1 with ESN (RFC 4303 appendix A: the AAD carries both sequence
halves; RFC 4106 / RFC 7634 nonce = salt || 64-bit IV), carrying
10.128.0.0+i -> 10.1.1.16+(k mod 16). The data plane replays these
forever, so its inbound SAs have anti-replay off; it then keeps a 64-packet
window that still infers the high ESN bits, so each SA's packets are
numbered 1, 2, ... 32 and again from 1 (SEQ_CYCLE).

The AEAD work is done with python3-cryptography (what scapy uses under the
hood) because scapy builds one packet in about a millisecond; `check`
compares the first packets with scapy's own ESP byte for byte.
"""

import argparse
import socket
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

PEER_BASE = (198 << 24) | (18 << 16)
GATEWAY = (192 << 24) | (2 << 8) | 1  # 192.0.2.1, the unprotected port
LAN_BASE = (10 << 24) | (128 << 16)  # remote LANs, one /32 per tunnel
LAN_HOSTS = (10 << 24) | (1 << 16) | (1 << 8) | 16  # 16 hosts on the protected LAN
OUT_SPI, IN_SPI = 0x20000000, 0x30000000
KEY_LEN = {'aes128gcm16': 20, 'aes256gcm16': 36, 'chacha20poly1305': 36}
SEQ_CYCLE = 32
IMIX = [64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570]  # 7:4:1
ESP_OVERHEAD_FIXED = 20 + 8 + 8 + 16  # outer IPv4, SPI+seq, IV, ICV


def tunnel_key(i, d, n):
    """The key (and salt) tunnels.cc installs for tunnel i, direction d."""
    return bytes((i * 131 + j * 29 + d * 71 + 0x5a) & 0xff for j in range(n))


def peer(i):
    return PEER_BASE + 2 + (i % 131000)


def tunnel_of(k, n, p):
    return (k * n) // p if n > p else k % n


def frames(spec, p):
    if spec == 'imix':
        return [IMIX[k % len(IMIX)] for k in range(p)]
    return [int(spec)] * p


def esp_payload_len(frame):
    """Bytes encrypted for a plaintext frame: inner IP + padding + 2."""
    inner = frame - 14
    return (inner + 2 + 3) // 4 * 4


def esp_frame_len(frame):
    return 14 + ESP_OVERHEAD_FIXED + esp_payload_len(frame)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(src, dst, proto, payload, ttl=64):
    h = struct.pack('!BBHHHBBHII', 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0, src, dst)
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def udp_ip(src, dst, sport, ip_len):
    """An IPv4/UDP packet of ip_len bytes (UDP checksum 0: allowed in IPv4)."""
    data = bytes((x & 0xff) for x in range(ip_len - 28))
    u = struct.pack('!HHHH', sport, 5001, 8 + len(data), 0) + data
    return ipv4(src, dst, 17, u)


def ether(payload):
    return b'\x02\x00\x00\x00\x00\x01' + b'\x02\x00\x00\x00\x00\x02' + b'\x08\x00' + payload


def aead(suite, key):
    k = key[:-4]
    return ChaCha20Poly1305(k) if suite == 'chacha20poly1305' else AESGCM(k)


def esp_packet(suite, cipher, salt, spi, seq, src, dst, inner, esn=True):
    pad_len = esp_payload_len(len(inner) + 14) - len(inner) - 2
    plain = inner + bytes(range(1, pad_len + 1)) + bytes([pad_len, 4])
    iv = struct.pack('!Q', seq)
    if esn:
        aad = struct.pack('!III', spi, seq >> 32, seq & 0xffffffff)
    else:  # 32-bit sequence numbers (RFC 4106 section 5): what perf/secgw.sh's gateway is given
        aad = struct.pack('!II', spi, seq & 0xffffffff)
    ct = cipher.encrypt(salt + iv, plain, aad)  # ciphertext || ICV
    return ipv4(src, dst, 50, struct.pack('!II', spi, seq & 0xffffffff) + iv + ct)


def make_plain(spec, n, p, esp_sized=False):
    """Plain frames; esp_sized makes each as long as its ESP frame would be
    (the inbound direction's input ceiling: the same bytes in, no crypto)."""
    pkts = []
    for k, f in enumerate(frames(spec, p)):
        i = tunnel_of(k, n, p)
        src = ((10 << 24) | (1 << 16) | (16 << 8)) + k % 4096
        wire = esp_frame_len(f) if esp_sized else f
        pkts.append(ether(udp_ip(src, LAN_BASE + i, 1024 + k % 60000, wire - 14)))
    return pkts


def make_esp(spec, n, p, suite, esn=True):
    pkts, ciphers, sent = [], {}, {}
    for k, f in enumerate(frames(spec, p)):
        i = tunnel_of(k, n, p)
        seq = 1 + sent.get(i, 0) % SEQ_CYCLE
        sent[i] = sent.get(i, 0) + 1
        key = tunnel_key(i, 1, KEY_LEN[suite])
        if key not in ciphers:
            ciphers[key] = aead(suite, key)
        dst = LAN_HOSTS + k % 16
        inner = udp_ip(LAN_BASE + i, dst, 1024 + k % 60000, f - 14)
        pkts.append(ether(esp_packet(suite, ciphers[key], key[-4:], IN_SPI + i, seq, peer(i), GATEWAY, inner, esn)))
    return pkts


def write_pcap(path, pkts):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for k, b in enumerate(pkts):
            f.write(struct.pack('<IIII', k // 1000000, k % 1000000, len(b), len(b)))
            f.write(b)


def check():
    """Our ESP must equal scapy's for every suite (ESN, tunnel mode)."""
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.compat import raw
    names = {'aes128gcm16': 'AES-GCM', 'aes256gcm16': 'AES-GCM', 'chacha20poly1305': 'CHACHA20-POLY1305'}
    bad = 0
    for suite, algo in names.items():
        for i, seq, esn in ((0, 1, True), (7, 5, True), (300, (1 << 32) + 9, True), (9, 77, False)):
            key = tunnel_key(i, 1, KEY_LEN[suite])
            inner = udp_ip(LAN_BASE + i, (10 << 24) | (1 << 16) | (1 << 8), 1024, 50 + 8 * i % 64)
            ours = esp_packet(suite, aead(suite, key), key[-4:], IN_SPI + i, seq, peer(i), GATEWAY, inner, esn)
            sa = SecurityAssociation(ESP, spi=IN_SPI + i, seq_num=seq & 0xffffffff, crypt_algo=algo,
                                     crypt_key=key, esn_en=esn, esn=seq >> 32,
                                     tunnel_header=IP(src=socket.inet_ntoa(struct.pack('!I', peer(i))),
                                                  dst='192.0.2.1'))
            theirs = raw(sa.encrypt(IP(inner), iv=struct.pack('!Q', seq)))
            # Compare from the ESP header on: the outer IPv4 headers differ
            # only in fields the data plane does not check (id, DF).
            same = ours[20:] == theirs[20:]
            back = raw(sa.decrypt(IP(ours)))
            ok = same and back == inner
            bad += not ok
            print('%-17s tunnel %3d seq %-11d %-6s %s' % (suite, i, seq, 'ESN' if esn else '32-bit',
                                                         'same as scapy' if ok else 'DIFFERS'))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('kind', choices=['plain', 'esp', 'check'])
    ap.add_argument('args', nargs='*')
    ap.add_argument('--count', type=int, default=4096, help='packets in the capture')
    ap.add_argument('--esp-sized', action='store_true',
                    help='plain: frames as long as their ESP frames (inbound input ceiling)')
    a = ap.parse_args()
    if a.kind == 'check':
        sys.exit(1 if check() else 0)
    spec, n = a.args[0], int(a.args[1])
    p = a.count
    if spec == 'imix':
        p -= p % len(IMIX)
    if a.kind == 'plain':
        write_pcap(a.args[2], make_plain(spec, n, p, a.esp_sized))
    else:
        write_pcap(a.args[3], make_esp(spec, n, p, a.args[2]))


if __name__ == '__main__':
    main()
