#!/usr/bin/python3
"""run.py: the issue 5 benchmark of portcullis-dataplane (perf/run.sh runs it).

One worker core, fed by net_pcap replaying a capture forever and sending to
net_null; tunnels installed over the channel (perf/tunnels). For each point
(direction x AEAD x frame x tunnels) it starts a data plane, warms up, reads
the port counters twice `--seconds` apart, and stops it. In the same run it
measures two ceilings: the input ceiling (the same data plane with a bypass
policy, no crypto) and the crypto ceiling (dpdk-test-crypto-perf on the
IPsec-MB software device, the same AEAD over the bytes ESP encrypts).

Conventions (see perf/README.md):
- frame: the plaintext Ethernet frame on the protected port, no FCS, in both
  directions; inbound captures carry that frame's ESP packet.
- Gbps = Mpps x plaintext frame bytes x 8: no preamble, IFG or FCS.
- Two rates per measurement: `mpps` per wall-clock second, and `cpu_mpps`
  per second of CPU time the measured thread actually got (from
  /proc/PID/task/TID/schedstat). On a shared machine the second is the one
  ratios are taken from; both are in the JSON.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_pcap  # noqa: E402

ALGS = {'aes128gcm': 'aes128gcm16', 'aes256gcm': 'aes256gcm16', 'chacha20poly1305': 'chacha20poly1305'}
CRYPTO_PERF = {  # devtype, vdev, algo, key bytes
    'aes128gcm': ('crypto_aesni_gcm', 'crypto_aesni_gcm0', 'aes-gcm', 16),
    'aes256gcm': ('crypto_aesni_gcm', 'crypto_aesni_gcm0', 'aes-gcm', 32),
    'chacha20poly1305': ('crypto_chacha20_poly1305', 'crypto_chacha20_poly1305', 'chacha20-poly1305', 32),
}
FRAMES = ['64', '512', '1420', 'imix']
IMIX_PARTS = {64: 7, 570: 4, 1518: 1}
MAC_WAN_HOP, MAC_LAN_HOP = '02:00:00:00:fe:01', '02:00:00:00:fe:00'


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def mean_frame(frame):
    if frame == 'imix':
        return sum(f * w for f, w in IMIX_PARTS.items()) / sum(IMIX_PARTS.values())
    return float(frame)


def thread_cpu_ns(pid, name_prefix):
    """Summed run time (ns) of the threads of pid whose name starts so."""
    total = 0
    for t in glob.glob('/proc/%d/task/*' % pid):
        try:
            with open(t + '/comm') as f:
                if not f.read().startswith(name_prefix):
                    continue
            with open(t + '/schedstat') as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def remove_runtime_dir(prefix):
    """EAL leaves /var/run/dpdk/PREFIX behind (empty once the process has
    gone); a run makes dozens of them."""
    try:
        os.rmdir('/var/run/dpdk/' + prefix)
    except OSError:
        pass


def stop_process(p, sig, logf, prefix):
    """Stops a gateway (sig, then SIGKILL after 20 s), closes its log and
    removes its DPDK runtime directory."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    logf.close()
    remove_runtime_dir(prefix)


def start_profile(args, seconds, path):
    """Timer sampling on the worker's CPU (no hardware counters in this
    VM) for `seconds`, into path; None without --profile."""
    if not path:
        return None
    return subprocess.Popen(['perf', 'record', '-q', '-C', str(args.worker_cpu), '-e', 'cpu-clock',
                             '-F', '4999', '-o', path, '--', 'sleep', str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report_profile(path, comm):
    """Prints the top symbols of the thread named comm in a profile."""
    rep = subprocess.run(['perf', 'report', '-i', path, '--no-children', '--comm', comm, '--sort', 'dso,symbol',
                          '--stdio', '--percentage', 'relative', '--percent-limit', '2'],
                         capture_output=True, text=True).stdout
    top = [line for line in rep.splitlines() if line.strip() and not line.startswith('#')]
    log('  profile (%s):\n    ' % path + '\n    '.join(top[:18]))


class Dataplane:
    """One portcullis-dataplane process on a capture and net_null."""

    def __init__(self, args, pcap, tag, vdevs=None):
        self.a = args
        self.dir = args.tmp
        self.sock = os.path.join(self.dir, 'dp-%s.sock' % tag)
        self.prefix = 'pcperf%d%s' % (os.getpid(), tag)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        cmd = [args.dataplane, '--socket', self.sock, '--workers', str(args.worker_cpu),
               '--agent-cpu', str(args.agent_cpu), '--mbufs', str(args.mbufs), '--',
               '--no-pci', '--in-memory', '--file-prefix', self.prefix,
               '--log-level=error',
               '--vdev', 'net_pcap0,rx_pcap=%s,infinite_rx=1' % pcap, '--vdev', 'net_null0,no-rx=1']
        if vdevs:
            cmd = cmd[:-4] + [x for v in vdevs for x in ('--vdev', v)]
        self.logf = open(os.path.join(self.dir, 'dp-%s.log' % tag), 'w')
        self.p = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(self.sock) or self.p.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(self.sock):
            self.stop()
            raise RuntimeError('data plane did not start: see ' + self.logf.name)

    def chan(self, script):
        r = subprocess.run([self.a.dpchan, self.sock], input=script, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError('dpchan: ' + r.stderr.strip())
        return r.stdout

    def base_config(self, direction):
        """Port 0 (the capture) is the protected side outbound and the
        unprotected side inbound; port 1 (net_null) is the other."""
        lan, wan = (0, 1) if direction == 'out' else (1, 0)
        hosts = ''.join('neigh 10.1.1.%d %s port %d\n' % (16 + h, MAC_LAN_HOP, lan) for h in range(16))
        # MTU 1600 on both ports: without FCS, IMIX's 1518-byte frame holds
        # a 1504-byte IP packet, and its ESP packet is 1560 bytes.
        self.chan('port %d unprotected 192.0.2.1/24 mtu 1600\n'
                  'port %d protected 10.1.0.1/16 mtu 1600\n'
                  'route 198.18.0.0/15 via 192.0.2.254 port %d\n'
                  'neigh 192.0.2.254 %s port %d\n' % (wan, lan, wan, MAC_WAN_HOP, wan) + hosts)

    def tunnels(self, n, suite):
        r = subprocess.run([self.a.tunnels_bin, self.sock, str(n), suite, 'noreplay'], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip())
        return r.stdout.strip()

    def bypass(self):
        self.chan('route 10.128.0.0/9 via 192.0.2.254 port 1\n'
                  'policy 1 out 10.1.0.0/16 10.128.0.0/9 bypass\n')

    def stats(self):
        out = {}
        for line in self.chan('stats\n').splitlines():
            k, v = line.split()
            out[k] = int(v)
        return out

    def measure(self, counter, warmup, seconds, profile=None):
        time.sleep(warmup)
        s0, c0, t0 = self.stats(), thread_cpu_ns(self.p.pid, 'rte-worker'), time.monotonic()
        prof = start_profile(self.a, seconds, profile)
        time.sleep(seconds)
        s1, c1, t1 = self.stats(), thread_cpu_ns(self.p.pid, 'rte-worker'), time.monotonic()
        if prof:
            prof.wait()
        pkts = s1[counter] - s0[counter]
        drops = {k[5:]: s1[k] - s0.get(k, 0) for k in s1 if k.startswith('drop.') and s1[k] != s0.get(k, 0)}
        rx = s1['worker.0.rx'] - s0['worker.0.rx']
        cpu = (c1 - c0) / 1e9
        return {'mpps': pkts / (t1 - t0) / 1e6, 'cpu_mpps': pkts / cpu / 1e6 if cpu > 0 else 0.0,
                'cpu_share': cpu / (t1 - t0), 'drops': drops, 'rx_mpps': rx / (t1 - t0) / 1e6,
                'busy': (s1['worker.0.busy_cycles'] - s0['worker.0.busy_cycles']) /
                max(1, (s1['worker.0.busy_cycles'] + s1['worker.0.idle_cycles'] -
                        s0['worker.0.busy_cycles'] - s0['worker.0.idle_cycles']))}

    def stop(self):
        stop_process(self.p, signal.SIGTERM, self.logf, self.prefix)


SECGW_ALGS = {'aes128gcm': 'aes-128-gcm', 'aes256gcm': 'aes-256-gcm'}  # its 22.11 has no ChaCha20-Poly1305


def ip4(a):
    return '%d.%d.%d.%d' % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)


class Secgw:
    """DPDK's ipsec-secgw example (perf/secgw.sh) at the same point: the
    same capture (inbound: the same packets with 32-bit sequence numbers,
    as it has anti-replay off only without ESN), the same core, net_pcap in
    and net_null out, the same tunnels and keys, and its fastest software
    path (librte_ipsec, -l, with synchronous cpu-crypto on the IPsec-MB GCM
    device). Rates are read over DPDK telemetry from port 1's counters."""

    def __init__(self, args, pcap, direction, alg, tunnels):
        self.a = args
        tag = self.prefix = 'pcsecgw%d%s' % (os.getpid(), direction)
        self.cfg = os.path.join(args.tmp, 'secgw-%s.cfg' % direction)
        algo = SECGW_ALGS[alg]
        klen = gen_pcap.KEY_LEN[ALGS[alg]]
        def sa(word, spi, i, src, dst):
            # gen_pcap's key for tunnel i, direction 0 (out) or 1 (in).
            key = ':'.join('%02x' % b for b in gen_pcap.tunnel_key(i, 0 if word == 'out' else 1, klen))
            return 'sa %s %d aead_algo %s aead_key %s type cpu-crypto mode ipv4-tunnel src %s dst %s' % (
                word, spi, algo, key, ip4(src), ip4(dst))

        lines = []
        for i in range(tunnels):
            lan = ip4(gen_pcap.LAN_BASE + i)
            if direction == 'out':
                spi = gen_pcap.OUT_SPI + i
                lines.append('sp ipv4 out esp protect %d pri 1 dst %s/32 sport 0:65535 dport 0:65535' % (spi, lan))
                lines.append(sa('out', spi, i, gen_pcap.GATEWAY, gen_pcap.peer(i)))
            else:
                spi = gen_pcap.IN_SPI + i
                lines.append('sp ipv4 in esp protect %d pri 1 src %s/32 sport 0:65535 dport 0:65535' % (spi, lan))
                lines.append(sa('in', spi, i, gen_pcap.peer(i), gen_pcap.GATEWAY))
        if direction == 'out':
            # It will not start with an unprotected port and no inbound SA.
            lines.append(sa('in', 1, 0, gen_pcap.peer(0), gen_pcap.GATEWAY))
            lines.append('sp ipv4 in esp protect 1 pri 1 dst 10.1.255.0/24 sport 0:65535 dport 0:65535')
            lines.append('rt ipv4 dst 198.18.0.0/15 port 1')
            unprotected = 0x2
        else:
            lines.append('rt ipv4 dst 10.1.1.0/24 port 1')
            unprotected = 0x1
        lines.append('neigh port 0 ' + (MAC_LAN_HOP if direction == 'out' else MAC_WAN_HOP))
        lines.append('neigh port 1 ' + (MAC_WAN_HOP if direction == 'out' else MAC_LAN_HOP))
        with open(self.cfg, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.chmod(self.cfg, 0o600)  # keys
        self.sock = '/var/run/dpdk/%s/dpdk_telemetry.v2' % tag
        cmd = [args.secgw, '-l', str(args.worker_cpu), '--no-pci', '--in-memory', '--file-prefix', tag,
               '--log-level=error', '--vdev', 'net_pcap0,rx_pcap=%s,infinite_rx=1' % pcap,
               '--vdev', 'net_null0,no-rx=1', '--vdev', 'crypto_aesni_gcm0', '--',
               '-p', '0x3', '-u', '0x%x' % unprotected, '-s', str(args.mbufs), '-l', '-f', self.cfg,
               '--config', '(0,0,%d),(1,0,%d)' % (args.worker_cpu, args.worker_cpu)]
        self.logf = open(os.path.join(args.tmp, 'secgw-%s.log' % direction), 'w')
        self.p = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        # Telemetry answers as soon as EAL is up, long before the SPD and
        # SAs are built (seconds at 10,000 tunnels): started means sending.
        deadline = time.monotonic() + 180
        while True:
            if self.p.poll() is not None:
                self.stop()
                raise RuntimeError('ipsec-secgw exited: see ' + self.logf.name)
            try:
                if self.port1()['opackets'] > 0:
                    break
            except (OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('ipsec-secgw sent nothing in 180 s: see ' + self.logf.name)
            time.sleep(0.1)

    def port1(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(self.sock)
            s.recv(1024)
            s.send(b'/ethdev/stats,1')
            return json.loads(s.recv(65536))['/ethdev/stats']
        finally:
            s.close()

    def measure(self, warmup, seconds, profile=None):
        time.sleep(warmup)
        name = os.path.basename(self.a.secgw)[:15]
        s0, c0, t0 = self.port1(), thread_cpu_ns(self.p.pid, name), time.monotonic()
        prof = start_profile(self.a, seconds, profile)
        time.sleep(seconds)
        s1, c1, t1 = self.port1(), thread_cpu_ns(self.p.pid, name), time.monotonic()
        if prof:
            prof.wait()
            report_profile(profile, name)
        pkts = s1['opackets'] - s0['opackets']
        cpu = (c1 - c0) / 1e9
        return {'mpps': pkts / (t1 - t0) / 1e6, 'cpu_mpps': pkts / cpu / 1e6 if cpu > 0 else 0.0,
                'cpu_share': cpu / (t1 - t0)}

    def stop(self):
        stop_process(self.p, signal.SIGINT, self.logf, self.prefix)  # ipsec-secgw quits on SIGINT


def secgw_point(args, caps, direction, alg, frame, tunnels):
    if direction == 'out':
        pcap = caps.plain(frame, tunnels)
    else:
        pcap = caps.esp(frame, tunnels, ALGS[alg], esn=False)
    g = Secgw(args, pcap, direction, alg, tunnels)
    prof = None
    if args.profile:
        prof = os.path.join(args.tmp, 'perf-secgw-%s-%s-%s-%d.data' % (direction, alg, frame, tunnels))
    try:
        return g.measure(args.warmup, args.seconds, prof)
    finally:
        g.stop()


class Captures:
    """Generates the captures a point needs, once per run directory."""

    def __init__(self, d, count):
        self.d, self.count = d, count
        os.makedirs(d, exist_ok=True)

    def _make(self, name, fn):
        path = os.path.join(self.d, name)
        if not os.path.exists(path):
            gen_pcap.write_pcap(path + '.tmp', fn())
            os.rename(path + '.tmp', path)
        return path

    def plain(self, frame, n):
        return self._make('plain-%s-%d.pcap' % (frame, n), lambda: gen_pcap.make_plain(frame, n, self._p(frame)))

    def plain_esp_sized(self, frame):
        return self._make('plain-espsized-%s.pcap' % frame,
                          lambda: gen_pcap.make_plain(frame, 1, self._p(frame), esp_sized=True))

    def esp(self, frame, n, suite, esn=True):
        return self._make('esp-%s%s-%s-%d.pcap' % (suite, '' if esn else '-noesn', frame, n),
                          lambda: gen_pcap.make_esp(frame, n, self._p(frame), suite, esn))

    def _p(self, frame):
        return self.count - (self.count % len(gen_pcap.IMIX) if frame == 'imix' else 0)


def crypto_ceiling(args, alg, op, buf, ops):
    """dpdk-test-crypto-perf throughput for one buffer size: (Mops wall,
    Mops per CPU second of its worker lcore)."""
    devtype, vdev, algo, klen = CRYPTO_PERF[alg]
    cmd = ['dpdk-test-crypto-perf', '-l', '%d,%d' % (args.agent_cpu, args.worker_cpu), '--no-pci', '--in-memory',
           '--file-prefix', 'pccp%d' % os.getpid(), '--log-level=error', '--vdev', vdev, '--',
           '--ptest', 'throughput', '--devtype', devtype, '--optype', 'aead', '--aead-algo', algo,
           '--aead-op', op, '--aead-key-sz', str(klen), '--aead-iv-sz', '12', '--aead-aad-sz', '12',
           '--digest-sz', '16', '--buffer-sz', str(buf), '--burst-sz', '32', '--total-ops', str(ops), '--silent']
    for attempt in range(5):
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        cpu = 0
        while p.poll() is None:
            cpu = max(cpu, thread_cpu_ns(p.pid, 'rte-worker'))
            time.sleep(0.02)
        out = p.stdout.read()
        remove_runtime_dir('pccp%d' % os.getpid())
        if 'Cannot init memory' not in out:
            break
        log('  dpdk-test-crypto-perf: hugepages are short (shared machine); retrying')
        time.sleep(5)
    for line in out.splitlines():
        f = line.split()
        if len(f) == 10 and f[0].isdigit() and int(f[1]) == buf:
            mops = float(f[7])
            # The worker lcore's CPU time, sampled until just before exit,
            # covers set-up too (small); never credit more than wall rate.
            cpu_mops = ops / (cpu / 1e9) / 1e6 if cpu else mops
            return mops, max(mops, cpu_mops)
    raise RuntimeError('dpdk-test-crypto-perf: no result for %d bytes:\n%s' % (buf, out[-2000:]))


class Ceilings:
    def __init__(self, args):
        self.a, self.crypto, self.input = args, {}, {}

    def crypto_for(self, alg, direction, frame):
        """Crypto ceiling in Mpps of frames (IMIX: harmonic over its parts)."""
        parts = IMIX_PARTS if frame == 'imix' else {int(frame): 1}
        op = 'encrypt' if direction == 'out' else 'decrypt'
        wall = cpu = 0.0
        for f, w in parts.items():
            buf = gen_pcap.esp_payload_len(f)
            key = (alg, op, buf)
            if key not in self.crypto:
                ops = max(200000, int(self.a.crypto_seconds * 4e6 * 52 / max(52, buf)))
                self.crypto[key] = crypto_ceiling(self.a, alg, op, buf, ops)
                log('  crypto ceiling %s %s %d B: %.2f Mops (%.2f per CPU s)' % ((alg, op, buf) + self.crypto[key]))
            m, c = self.crypto[key]
            wall += w / m
            cpu += w / c
        n = sum(parts.values())
        return n / wall, n / cpu


def point(args, caps, direction, alg, frame, tunnels, bypass=False):
    suite = ALGS[alg]
    if direction == 'out':
        pcap = caps.plain(frame, tunnels)
        counter = 'port.1.tx_packets'
    elif bypass:
        pcap = caps.plain_esp_sized(frame)
        counter = 'port.1.tx_packets'
    else:
        pcap = caps.esp(frame, tunnels, suite)
        counter = 'port.1.tx_packets'
    dp = Dataplane(args, pcap, '%s%s' % (direction, 'b' if bypass else ''))
    try:
        dp.base_config('out' if bypass else direction)
        note = ''
        if bypass:
            dp.bypass()
        else:
            t0 = time.monotonic()
            dp.tunnels(tunnels, suite)
            note = 'provisioned in %.1f s' % (time.monotonic() - t0)
        prof = None
        if args.profile:
            prof = os.path.join(args.tmp, 'perf-%s-%s-%s-%d%s.data' % (direction, alg, frame, tunnels,
                                                                     '-bypass' if bypass else ''))
        r = dp.measure(counter, args.warmup, args.seconds, prof)
        r['note'] = note
        if prof:
            report_profile(prof, 'rte-worker-%d' % args.worker_cpu)
        return r
    finally:
        dp.stop()


def latency_point(args, caps, direction, frame, mpps):
    """p50/p99 through the gateway at `mpps`: the data plane on two memif
    ports, perf/latency sending the capture and timing what comes back."""
    socks = [os.path.join(args.tmp, 'memif%d-%d.sock' % (i, os.getpid())) for i in (0, 1)]
    for s in socks:
        if os.path.exists(s):
            os.unlink(s)
    pcap = caps.plain(frame, 1) if direction == 'out' else caps.esp(frame, 1, 'aes128gcm16')
    dp = Dataplane(args, pcap, 'lat' + direction,
                   vdevs=['net_memif%d,role=server,socket=%s' % (i, s) for i, s in enumerate(socks)])
    try:
        dp.base_config(direction)
        dp.tunnels(1, 'aes128gcm16')
        cmd = [args.latency_bin, '-l', str(args.agent_cpu), '--no-pci', '--in-memory', '--file-prefix',
               'pclat%d' % os.getpid(), '--log-level=error'] + \
              [x for i, s in enumerate(socks) for x in ('--vdev', 'net_memif%d,role=client,socket=%s' % (i, s))] + \
              ['--', direction, pcap, '%.4f' % mpps, str(args.latency_seconds)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.latency_seconds + 60)
        remove_runtime_dir('pclat%d' % os.getpid())
        m = re.search(r'sent (\d+) received (\d+) measured (\d+) p50_us ([\d.]+) p90_us ([\d.]+) '
                      r'p99_us ([\d.]+) max_us ([\d.]+)', r.stdout)
        if not m:
            raise RuntimeError('latency: ' + (r.stdout + r.stderr)[-1500:])
        v = [float(x) for x in m.groups()]
        return {'latency_rate_mpps': round(mpps, 4), 'latency_sent': int(v[0]), 'latency_received': int(v[1]),
                'latency_samples': int(v[2]), 'latency_p50_us': v[3], 'latency_p90_us': v[4],
                'latency_p99_us': v[5], 'latency_max_us': v[6]}
    finally:
        dp.stop()


def retry(fn, what, attempts=4):
    """Hugepages are shared with other users of the machine: a data plane
    that cannot get memory is retried after a pause, then the point is
    skipped (reported) rather than losing the run."""
    for i in range(attempts):
        try:
            return fn()
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log('  %s failed (attempt %d of %d): %s' % (what, i + 1, attempts, str(e).splitlines()[-1][:300]))
            if i + 1 < attempts:
                time.sleep(10)
    return None


def main():
    ap = argparse.ArgumentParser(description='Portcullis data plane benchmark (issue 5)')
    ap.add_argument('--quick', action='store_true', help='2 s per point, fewer points')
    ap.add_argument('--seconds', type=float, help='measured time per point (default 10, quick 2)')
    ap.add_argument('--warmup', type=float, help='seconds before measuring (default 3, quick 1)')
    ap.add_argument('--only', choices=['out', 'in'])
    ap.add_argument('--alg', help='comma list of ' + ','.join(ALGS))
    ap.add_argument('--frame', help='comma list of ' + ','.join(FRAMES))
    ap.add_argument('--tunnels', help='comma list of tunnel counts for the scale points (default 1,10000,1000000)')
    ap.add_argument('--scale-frames', default='64,1420', help='frames of the scale points')
    ap.add_argument('--count', type=int, default=4096, help='packets per capture')
    ap.add_argument('--mbufs', type=int, default=8191)
    ap.add_argument('--worker-cpu', type=int, default=1)
    ap.add_argument('--agent-cpu', type=int, default=0)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-perf'))
    ap.add_argument('--baseline', metavar='BUILD',
                    help="also measure every point with BUILD's data plane, right before the "
                         "same point with ours: 'before' figures and a speedup from one run")
    ap.add_argument('--secgw', metavar='BIN',
                    help="also measure DPDK's ipsec-secgw (perf/secgw.sh builds it; perf/run.sh passes it) "
                         "at every AES-GCM point, right before ours: the x secgw column")
    ap.add_argument('--secgw-max-tunnels', type=int, default=10000,
                    help='largest tunnel count given to ipsec-secgw (its ACL build at 1,000,000 rules '
                         'takes longer than the point; default 10000)')
    ap.add_argument('--out', default=os.path.join(HERE, 'results'))
    ap.add_argument('--no-plot', action='store_true')
    ap.add_argument('--no-latency', action='store_true', help='skip the latency points')
    ap.add_argument('--latency-frames', default='64,1420', help='frames of the latency points (AES-128-GCM, 1 tunnel)')
    ap.add_argument('--profile', action='store_true',
                    help='perf record the worker CPU during each point (perf/results/tmp/perf-*.data)')
    a = ap.parse_args()
    a.seconds = a.seconds or (2.0 if a.quick else 10.0)
    a.warmup = a.warmup if a.warmup is not None else (1.0 if a.quick else 3.0)
    a.crypto_seconds = 0.5 if a.quick else 2.0
    a.dataplane = os.path.join(a.build, 'dataplane/app/portcullis-dataplane')
    if a.baseline:
        a.baseline_dataplane = os.path.join(a.baseline, 'dataplane/app/portcullis-dataplane')
        if not os.access(a.baseline_dataplane, os.X_OK):
            sys.exit('run.py: --baseline: no %s (build it first)' % a.baseline_dataplane)
    if a.secgw and not (os.path.isfile(a.secgw) and os.access(a.secgw, os.X_OK)):
        sys.exit('run.py: --secgw: %s is not an executable (perf/secgw.sh builds it)' % a.secgw)
    a.secgw_desc = None
    if a.secgw:
        dpdk = subprocess.run(['pkg-config', '--modversion', 'libdpdk'], capture_output=True, text=True)
        a.secgw_desc = ('DPDK %s examples/ipsec-secgw (perf/secgw.sh): -l, cpu-crypto, no ESN, anti-replay off' %
                        dpdk.stdout.strip())
    a.dpchan = os.path.join(a.build, 'tests/e2e/dpchan')
    a.tunnels_bin = os.path.join(a.build, 'perf/tunnels')
    a.latency_bin = os.path.join(a.build, 'perf/latency')
    a.latency_seconds = 3 if a.quick else 8
    a.tmp = os.path.join(a.out, 'tmp')
    os.makedirs(a.tmp, exist_ok=True)
    dirs = [a.only] if a.only else ['out', 'in']
    algs = a.alg.split(',') if a.alg else (['aes128gcm'] if a.quick else list(ALGS))
    frames = a.frame.split(',') if a.frame else (['64', '1420'] if a.quick else FRAMES)
    scale = [int(x) for x in a.tunnels.split(',')] if a.tunnels else ([1, 10000] if a.quick else [1, 10000, 1000000])
    scale_frames = [f for f in a.scale_frames.split(',') if f in frames] if 'aes128gcm' in algs else []
    # Captures are cached per generator version and packet count.
    with open(gen_pcap.__file__, 'rb') as f:
        version = hashlib.sha1(f.read()).hexdigest()[:10]
    caps = Captures(os.path.join(a.out, 'pcap', '%s-%d' % (version, a.count)), a.count)
    ceil = Ceilings(a)
    records, failed = [], []
    inputs = {}
    started = time.time()
    load_start = open('/proc/loadavg').read().split()[:3]
    for d in dirs:
        for frame in frames:
            log('input ceiling %s %s' % (d, frame))
            inputs[(d, frame)] = retry(lambda: point(a, caps, d, 'aes128gcm', frame, 1, bypass=True),
                                       'input ceiling')
        for alg in algs:
            for frame in frames:
                ns = [1] + ([n for n in scale if n != 1] if alg == 'aes128gcm' and frame in scale_frames else [])
                for n in ns:
                    log('%s %s %s %d tunnel(s)' % (d, alg, frame, n))
                    cr = retry(lambda: ceil.crypto_for(alg, d, frame), 'crypto ceiling')
                    before = None
                    if a.baseline:
                        b = argparse.Namespace(**vars(a))
                        b.dataplane, b.profile = a.baseline_dataplane, False
                        before = retry(lambda: point(b, caps, d, alg, frame, n), 'baseline point')
                        if before:
                            log('  baseline: %.3f Mpps (%.3f per CPU s)' % (before['mpps'], before['cpu_mpps']))
                    sg = None
                    if a.secgw and alg in SECGW_ALGS and n <= a.secgw_max_tunnels:
                        sg = retry(lambda: secgw_point(a, caps, d, alg, frame, n), 'ipsec-secgw point')
                        if sg:
                            log('  ipsec-secgw: %.3f Mpps (%.3f per CPU s)' % (sg['mpps'], sg['cpu_mpps']))
                    r = retry(lambda: point(a, caps, d, alg, frame, n), 'point')
                    inp = inputs[(d, frame)]
                    if cr is None or r is None or inp is None:
                        failed.append('%s %s %s %d' % (d, alg, frame, n))
                        continue
                    crypto_wall, crypto_cpu = cr
                    mf = mean_frame(frame)
                    rec = {
                        'direction': d, 'alg': alg, 'frame': frame, 'tunnels': n,
                        'mpps': round(r['mpps'], 4), 'gbps': round(r['mpps'] * mf * 8 / 1000, 3),
                        'cpu_mpps': round(r['cpu_mpps'], 4), 'cpu_gbps': round(r['cpu_mpps'] * mf * 8 / 1000, 3),
                        'crypto_ceiling_mpps': round(crypto_wall, 4), 'crypto_ceiling_cpu_mpps': round(crypto_cpu, 4),
                        'input_ceiling_mpps': round(inp['mpps'], 4), 'input_ceiling_cpu_mpps': round(inp['cpu_mpps'], 4),
                        'ratio_to_crypto': round(r['cpu_mpps'] / crypto_cpu, 3),
                        'ratio_to_input': round(r['cpu_mpps'] / inp['cpu_mpps'], 3) if inp['cpu_mpps'] else None,
                        # What ESP adds to the bypass path, per packet, against
                        # the crypto ceiling's time per packet: the ratio a
                        # free NIC would leave (net_pcap's copy is not free).
                        'esp_ns_per_pkt': round(1e3 / r['cpu_mpps'] - 1e3 / inp['cpu_mpps'], 1),
                        'crypto_ns_per_pkt': round(1e3 / crypto_cpu, 1),
                        'ratio_to_crypto_net_of_input': round((1e3 / crypto_cpu) /
                                                              max(1e-9, 1e3 / r['cpu_mpps'] - 1e3 / inp['cpu_mpps']), 3),
                        'worker_cpu_share': round(r['cpu_share'], 3), 'drops': r['drops'], 'note': r['note'],
                    }
                    if sg:
                        rec['secgw_mpps'] = round(sg['mpps'], 4)
                        rec['secgw_cpu_mpps'] = round(sg['cpu_mpps'], 4)
                        rec['ratio_to_secgw'] = round(r['cpu_mpps'] / sg['cpu_mpps'], 3) if sg['cpu_mpps'] else None
                    if before:
                        rec['baseline_cpu_mpps'] = round(before['cpu_mpps'], 4)
                        rec['speedup'] = round(r['cpu_mpps'] / before['cpu_mpps'], 3)
                    records.append(rec)
                    save(a, records, failed, None)
                    log('  %.3f Mpps (%.3f per CPU s, worker had %.0f %% of its CPU) crypto x%.3f input x%.3f%s %s' % (
                        r['mpps'], r['cpu_mpps'], 100 * r['cpu_share'], rec['ratio_to_crypto'],
                        rec['ratio_to_input'] or 0,
                        ' secgw x%.3f' % rec['ratio_to_secgw'] if rec.get('ratio_to_secgw') else '',
                        r['drops'] or ''))
    # Latency at half the measured rate, AES-128-GCM, one tunnel.
    if not a.no_latency:
        for rec in records:
            if rec['alg'] == 'aes128gcm' and rec['tunnels'] == 1 and rec['frame'] in a.latency_frames.split(','):
                log('latency %s %s at %.3f Mpps' % (rec['direction'], rec['frame'], rec['mpps'] / 2))
                lat = retry(lambda: latency_point(a, caps, rec['direction'], rec['frame'], rec['mpps'] / 2),
                            'latency', attempts=2)
                if lat:
                    rec.update(lat)
                    log('  p50 %.1f us, p99 %.1f us (%d samples, %d sent, %d back)' % (
                        rec['latency_p50_us'], rec['latency_p99_us'], rec['latency_samples'],
                        rec['latency_sent'], rec['latency_received']))
    # Scale ratios: N tunnels against 1, same direction and frame.
    for rec in records:
        base = [x for x in records if x['direction'] == rec['direction'] and x['alg'] == rec['alg'] and
                x['frame'] == rec['frame'] and x['tunnels'] == 1]
        if base and rec['tunnels'] != 1:
            rec['ratio_to_1_tunnel'] = round(rec['cpu_mpps'] / base[0]['cpu_mpps'], 3)
    save(a, records, failed, started, load_start)
    print_table(records)
    print_targets(records)
    if failed:
        print('failed points (see above): ' + '; '.join(failed))
    if not a.no_plot:
        import plot
        plot.plot(records, os.path.join(a.out, 'latest.png'))


def save(a, records, failed, started, load_start=None):
    """Writes latest.json (after every point too, so a crash keeps what was measured)."""
    meta = {
        'date': time.strftime('%Y-%m-%d %H:%M:%S'), 'seconds': a.seconds, 'warmup': a.warmup,
        'packets_per_capture': a.count, 'duration_s': round(time.time() - started, 1) if started else None,
        'cpu': open('/proc/cpuinfo').read().split('model name')[1].split('\n')[0].strip(': \t'),
        'load_average_end': open('/proc/loadavg').read().split()[:3],
        'load_average_start': load_start,
        'complete': started is not None,
        'build': os.path.relpath(a.build, ROOT),
        'baseline': os.path.relpath(a.baseline, ROOT) if a.baseline else None,
        'secgw': a.secgw_desc,
        'git': subprocess.run(['git', '-C', ROOT, 'describe', '--always', '--dirty'], capture_output=True,
                              text=True).stdout.strip(),
        'conventions': 'frame = plaintext Ethernet frame on the protected side, no FCS; gbps = mpps x frame x 8, '
                       'no preamble/IFG/FCS; cpu_* = per second of CPU time the measuring thread got; ratios from cpu_*',
    }
    if failed:
        meta['failed_points'] = failed
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'latest.json.tmp'), 'w') as f:
        json.dump({'meta': meta, 'results': records}, f, indent=1)
    os.replace(os.path.join(a.out, 'latest.json.tmp'), os.path.join(a.out, 'latest.json'))


def print_table(records):
    hdr = ('dir', 'alg', 'frame', 'tunnels', 'Mpps', 'Gbps', 'cpuMpps', 'cpuGbps', 'crypto', 'input', 'secgw',
           'x crypto', 'x input', 'x 1 tun', 'x secgw', 'cpu%')
    print('%-3s %-16s %5s %7s | %7s %7s | %7s %7s | %7s %7s %7s | %8s %7s %7s %7s | %4s' % hdr)
    for r in records:
        print('%-3s %-16s %5s %7d | %7.3f %7.2f | %7.3f %7.2f | %7.3f %7.3f %7s | %8.3f %7.3f %7s %7s | %4.0f' % (
            r['direction'], r['alg'], r['frame'], r['tunnels'], r['mpps'], r['gbps'], r['cpu_mpps'], r['cpu_gbps'],
            r['crypto_ceiling_cpu_mpps'], r['input_ceiling_cpu_mpps'],
            '%.3f' % r['secgw_cpu_mpps'] if 'secgw_cpu_mpps' in r else '-',
            r['ratio_to_crypto'], r['ratio_to_input'] or 0,
            '%.3f' % r['ratio_to_1_tunnel'] if 'ratio_to_1_tunnel' in r else '-',
            '%.3f' % r['ratio_to_secgw'] if r.get('ratio_to_secgw') else '-', 100 * r['worker_cpu_share']))
    print('crypto and input ceilings and secgw (DPDK ipsec-secgw, same point) in Mpps per CPU second; '
          'ratios from per-CPU-second rates.')
    for r in records:
        if 'speedup' in r:
            print('baseline %-3s %-16s %5s %7d: %7.3f -> %7.3f Mpps per CPU s, x%.3f' % (
                r['direction'], r['alg'], r['frame'], r['tunnels'], r['baseline_cpu_mpps'], r['cpu_mpps'],
                r['speedup']))
    for r in records:
        if 'latency_p50_us' in r:
            print('latency %-3s %s %5s B at %.3f Mpps: p50 %.1f us, p90 %.1f us, p99 %.1f us (%d timed)' % (
                r['direction'], r['alg'], r['frame'], r['latency_rate_mpps'], r['latency_p50_us'],
                r['latency_p90_us'], r['latency_p99_us'], r['latency_samples']))


def print_targets(records):
    """The issue 5 targets for AES-128-GCM (ratios are Mpps ratios: both
    sides' Gbps use the same frame bytes)."""
    for r in records:
        if r['alg'] != 'aes128gcm':
            continue
        if r['tunnels'] == 1 and r['frame'] == '64':
            ok = r['ratio_to_crypto'] >= 0.65
            print('target %s 64 B >= 0.65 x crypto ceiling ops/s: %.3f %s' % (r['direction'], r['ratio_to_crypto'],
                                                                              'met' if ok else 'NOT MET'))
        if r['tunnels'] == 1 and r['frame'] == '1420':
            ok = r['ratio_to_crypto'] >= 0.90
            print('target %s 1420 B >= 0.90 x crypto ceiling Gbps: %.3f %s' % (r['direction'], r['ratio_to_crypto'],
                                                                               'met' if ok else 'NOT MET'))
        if r['tunnels'] == 1000000 and 'ratio_to_1_tunnel' in r:
            ok = r['ratio_to_1_tunnel'] >= 0.85
            print('target %s %s B 1M tunnels >= 0.85 x 1 tunnel: %.3f %s' % (
                r['direction'], r['frame'], r['ratio_to_1_tunnel'], 'met' if ok else 'NOT MET'))


if __name__ == '__main__':
    main()
