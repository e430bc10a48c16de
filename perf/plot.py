#!/usr/bin/python3
"""plot.py: perf/results/latest.png from latest.json (run.py calls plot()).

  plot.py [latest.json [out.png]]

One row per direction, Mpps on the left and Gbps on the right, per frame
size: a bar per AEAD (single tunnel), with the crypto ceiling (one marker
per AEAD), DPDK's ipsec-secgw at the same point (a black bar, AES-GCM
only) and the input ceiling (a dashed line) drawn over them. Rates are
per CPU second of the worker (see run.py); ratios hold across machines,
absolute figures do not.
"""

import json
import os
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

FRAME_ORDER = ['64', '512', '1420', 'imix']
IMIX_MEAN = (7 * 64 + 4 * 570 + 1518) / 12


def _bytes(frame):
    return IMIX_MEAN if frame == 'imix' else float(frame)


def plot(records, path):
    dirs = [d for d in ('out', 'in') if any(r['direction'] == d for r in records)]
    algs = sorted({r['alg'] for r in records})
    fig, axes = plt.subplots(len(dirs), 2, figsize=(13, 4.5 * len(dirs)), squeeze=False)
    width = 0.8 / max(1, len(algs))
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for row, d in enumerate(dirs):
        pts = [r for r in records if r['direction'] == d and r['tunnels'] == 1]
        frames = [f for f in FRAME_ORDER if any(r['frame'] == f for r in pts)]
        for col, unit in enumerate(('Mpps', 'Gbps')):
            ax = axes[row][col]

            def conv(mpps, frame):
                return mpps if unit == 'Mpps' else mpps * _bytes(frame) * 8 / 1000

            for ai, alg in enumerate(algs):
                xs, ys, cx, cy, sx, sy = [], [], [], [], [], []
                for fi, f in enumerate(frames):
                    r = next((r for r in pts if r['alg'] == alg and r['frame'] == f), None)
                    if r is None:
                        continue
                    x = fi - 0.4 + width * (ai + 0.5)
                    xs.append(x)
                    ys.append(conv(r['cpu_mpps'], f))
                    cx.append(x)
                    cy.append(conv(r['crypto_ceiling_cpu_mpps'], f))
                    if r.get('secgw_cpu_mpps'):
                        sx.append(x)
                        sy.append(conv(r['secgw_cpu_mpps'], f))
                ax.bar(xs, ys, width * 0.9, color=colours[ai % len(colours)], label=alg)
                ax.plot(cx, cy, 'v', color=colours[ai % len(colours)], markeredgecolor='black', markersize=8,
                        label='%s crypto ceiling' % alg)
                if sx:
                    ax.plot(sx, sy, '_', color='black', markersize=14, markeredgewidth=2.5,
                            label="DPDK ipsec-secgw, %s" % alg)
            for fi, f in enumerate(frames):
                r = next((r for r in pts if r['frame'] == f), None)
                if r:
                    y = conv(r['input_ceiling_cpu_mpps'], f)
                    ax.hlines(y, fi - 0.45, fi + 0.45, colors='grey', linestyles='dashed',
                              label='input ceiling (bypass)' if fi == 0 else None)
            ax.set_xticks(range(len(frames)))
            ax.set_xticklabels([f + (' B' if f != 'imix' else '') for f in frames])
            ax.set_ylabel(unit + ' per worker CPU second')
            ax.set_title('%s, one worker, 1 tunnel: %s' % ('outbound' if d == 'out' else 'inbound', unit))
            ax.grid(axis='y', alpha=0.3)
            ax.set_ylim(bottom=0)
            ax.legend(fontsize=8)
    fig.suptitle('portcullis-dataplane, net_pcap -> net_null (frame = plaintext Ethernet frame, no FCS)')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == '__main__':
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'results', 'latest.json')
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.splitext(src)[0] + '.png'
    with open(src) as f:
        plot(json.load(f)['results'], dst)
