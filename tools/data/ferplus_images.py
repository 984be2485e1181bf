"""Write the FER2013 images as the PNG folders FERPlus expects.

FER2013 is distributed as one CSV (``fer2013.csv``: ``emotion,pixels,Usage``
with 48x48 grey pixels as space-separated numbers). FERPlus's labels
(``fer2013new.csv``) name images ``fer%07d.png`` after their row index in
that CSV, in the folders ``FER2013Train`` (Training), ``FER2013Valid``
(PublicTest) and ``FER2013Test`` (PrivateTest), the layout
``FERPlusDataset`` reads.

Example::

    python tools/data/ferplus_images.py data/fer2013/fer2013.csv data/FERPlus
"""
import argparse
import csv
import os
import os.path as osp
import sys

import numpy as np

FOLDERS = dict(Training='FER2013Train', PublicTest='FER2013Valid',
               PrivateTest='FER2013Test')


def convert(fer_csv: str, out_root: str, progress: bool = True) -> dict:
    """Write every image; returns the count per folder."""
    import cv2
    from mmengine.utils import ProgressBar
    for d in FOLDERS.values():
        os.makedirs(osp.join(out_root, d), exist_ok=True)
    with open(fer_csv, newline='') as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip().lower() for c in rows[0][:3]] != [
            'emotion', 'pixels', 'usage']:
        raise ValueError(f'{fer_csv}: expected the header emotion,pixels,'
                         'Usage of fer2013.csv')
    counts = {d: 0 for d in FOLDERS.values()}
    bar = ProgressBar(len(rows) - 1) if progress else None
    for index, row in enumerate(rows[1:]):
        line = index + 2
        if len(row) < 3:
            raise ValueError(f'{fer_csv}, line {line}: expected 3 fields')
        usage = row[2].strip()
        if usage not in FOLDERS:
            raise ValueError(f'{fer_csv}, line {line}: unknown Usage '
                             f'{usage!r}')
        try:
            pixels = np.array(row[1].split(), dtype=np.uint8)
        except ValueError:
            raise ValueError(f'{fer_csv}, line {line}: pixels are not '
                             'numbers') from None
        if pixels.size != 48 * 48:
            raise ValueError(f'{fer_csv}, line {line}: {pixels.size} pixels, '
                             'expected 2304 (48x48)')
        name = f'fer{index:07d}.png'
        cv2.imwrite(osp.join(out_root, FOLDERS[usage], name),
                    pixels.reshape(48, 48))
        counts[FOLDERS[usage]] += 1
        if bar is not None:
            bar.update()
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('fer_csv', help='fer2013.csv')
    p.add_argument('out_root', help='FERPlus root (holds fer2013new.csv)')
    args = p.parse_args(argv)
    counts = convert(args.fer_csv, args.out_root)
    print('\n' + ', '.join(f'{k}: {v}' for k, v in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
