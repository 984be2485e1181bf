#!/usr/bin/env python
"""Draw the S2D overview figure of the README (``docs/s2d_overview.png``).

Usage::

    python tools/misc/draw_s2d_overview.py docs/s2d_overview.png

The picture names the modules of this project next to the paper's terms:
the image stage (ViT + Multi-View Complementary Prompters fed by a frozen
landmark network), the video stage (Temporal-Modeling Adapters and a
temporal embedding added to the frozen image model) and the
Emotion-Anchors Self-Distillation loss.
"""
import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

FROZEN = '#d9d9d9'
TRAINED = '#f4b183'
VIDEO = '#9dc3e6'
LOSS = '#a9d18e'


def box(ax, x, y, w, h, text, color, size=9):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle='round,pad=0.02',
                                fc=color, ec='#404040', lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha='center', va='center',
            fontsize=size, wrap=True)


def arrow(ax, x0, y0, x1, y1):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle='-|>',
                                 mutation_scale=12, lw=1, color='#404040'))


def draw(path: str):
    fig, ax = plt.subplots(figsize=(11, 4.6))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.6)
    ax.axis('off')

    box(ax, 0.1, 3.2, 1.5, 0.8, 'video clip\nT frames,\n224 px faces',
        'white')
    box(ax, 0.1, 1.2, 1.5, 0.9,
        'landmark net\n(MobileFaceNet,\nmmpose; frozen)', FROZEN)
    arrow(ax, 0.85, 3.2, 0.85, 2.1)
    box(ax, 2.1, 3.2, 1.4, 0.8, 'patch\nembedding', FROZEN)
    arrow(ax, 1.6, 3.6, 2.1, 3.6)
    box(ax, 2.1, 1.25, 1.4, 0.8, 'landmark\ntokens (1x1 conv)', TRAINED)
    arrow(ax, 1.6, 1.65, 2.1, 1.65)

    # L blocks: MCP_i, (TMA_i), ViT block i
    ax.add_patch(FancyBboxPatch((3.9, 0.9), 3.9, 3.4,
                                boxstyle='round,pad=0.03', fc='none',
                                ec='#404040', ls='--'))
    ax.text(5.85, 4.15, 'x L blocks (ViT-B/16: 12), frames folded into the '
            'batch (B*T, 1+N, D)', ha='center', fontsize=8.5)
    box(ax, 4.1, 2.55, 1.6, 1.1, 'MCP_i\nMulti-View\nComplementary\n'
        'Prompter', TRAINED, 8.5)
    box(ax, 4.1, 1.1, 1.6, 1.1, 'TMA_i\nTemporal-Modeling\nAdapter\n'
        '(attention over T)', VIDEO, 8.5)
    box(ax, 6.0, 1.8, 1.6, 1.3, 'ViT block i\n(frozen in the\nvideo stage)',
        FROZEN)
    arrow(ax, 3.5, 3.6, 4.1, 3.2)
    arrow(ax, 3.5, 1.65, 4.1, 2.8)
    arrow(ax, 5.7, 3.1, 6.0, 2.7)
    arrow(ax, 5.7, 1.65, 6.0, 2.2)

    box(ax, 8.2, 2.0, 1.2, 0.9, 'cls token,\nmean over T,\nlinear head',
        TRAINED, 8.5)
    arrow(ax, 7.8, 2.45, 8.2, 2.45)
    box(ax, 9.7, 3.0, 1.2, 1.0, 'cross-\nentropy', LOSS, 8.5)
    box(ax, 9.7, 1.2, 1.2, 1.3, 'Emotion-\nAnchors\nSelf-Distillation\n(SDL)',
        LOSS, 8)
    arrow(ax, 9.4, 2.6, 9.7, 3.4)
    arrow(ax, 9.4, 2.3, 9.7, 1.9)

    handles = [
        plt.Rectangle((0, 0), 1, 1, fc=FROZEN, ec='#404040'),
        plt.Rectangle((0, 0), 1, 1, fc=TRAINED, ec='#404040'),
        plt.Rectangle((0, 0), 1, 1, fc=VIDEO, ec='#404040'),
        plt.Rectangle((0, 0), 1, 1, fc=LOSS, ec='#404040'),
    ]
    ax.legend(handles, [
        'frozen (video stage)', 'trained in both stages',
        'added by the video stage', 'losses (video stage)'
    ], loc='lower center', ncol=4, fontsize=8.5, frameon=False,
        bbox_to_anchor=(0.5, -0.04))
    ax.text(5.5, 0.45, 'Image stage (SFER, mmpretrain): ViT + MCPs on '
            'still faces. Video stage (DFER, mmaction2): + TMAs + temporal '
            'embedding, ViT frozen, ~10 % of the weights trained.',
            ha='center', fontsize=8.5)
    fig.savefig(path, dpi=110, bbox_inches='tight')
    print(f'written {path}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out', help='PNG file to write')
    draw(p.parse_args(argv).out)


if __name__ == '__main__':
    main()
