"""The benchmark's printout: the table, the machine header and the lines
that scripts read.

Every row goes to the table (printed as it is measured, and kept in
``res['table']`` of the JSON). Three kinds of line are printed exactly in
these formats (issue 13), and :func:`parse_lines` reads them back::

    precision auto picked: <mode>
    inference speed-up vs reference (<mode>): <ratio>x, top-1 agreement <pct>%, max dprob <value>
    long video: <minutes> min at 25 fps, peak RSS <MiB> MiB, <seconds> s per video-minute

A mode whose agreement was not measured prints ``not measured`` in place
of ``<pct>%`` and ``<value>``.
"""
import os
import re
from typing import Any, Dict, List, Optional

from s2d_mm.utils.machine import describe_machine, format_machine  # noqa: F401

AUTO_RE = re.compile(r'^precision auto picked: (?P<mode>\w+)$')
SPEEDUP_RE = re.compile(
    r'^inference speed-up vs reference \((?P<mode>\w+)\): '
    r'(?P<ratio>[\d.]+)x, top-1 agreement (?:(?P<pct>[\d.]+)%|not measured)'
    r', max dprob (?:(?P<dprob>[\d.e+-]+)|not measured)$')
LONG_VIDEO_RE = re.compile(
    r'^long video: (?P<minutes>[\d.]+) min at (?P<fps>\d+) fps, peak RSS '
    r'(?P<rss>[\d.]+) MiB, (?P<spm>[\d.]+) s per video-minute$')


def auto_line(mode: str) -> str:
    return f'precision auto picked: {mode}'


def speedup_line(mode: str, ratio: float, agreement: Optional[float] = None,
                 max_dprob: Optional[float] = None) -> str:
    """``agreement`` as a fraction (0.99 -> ``99.0%``)."""
    agree = ('not measured' if agreement is None else
             f'{100 * agreement:.1f}%')
    dprob = 'not measured' if max_dprob is None else f'{max_dprob:.4f}'
    return (f'inference speed-up vs reference ({mode}): {ratio:.2f}x, '
            f'top-1 agreement {agree}, max dprob {dprob}')


def long_video_line(minutes: float, fps: int, peak_rss_mib: float,
                    seconds_per_minute: float) -> str:
    return (f'long video: {minutes:g} min at {fps} fps, peak RSS '
            f'{peak_rss_mib:.0f} MiB, {seconds_per_minute:.2f} s per '
            'video-minute')


def parse_lines(text: str) -> Dict[str, Any]:
    """The figures of the three exact lines in ``text`` (a printout):
    ``auto`` (mode), ``speedup`` (``{mode: dict(ratio, agreement_pct,
    max_dprob)}``, None where not measured) and ``long_video`` (dict of
    ``minutes``, ``fps``, ``peak_rss_mib``, ``seconds_per_video_minute``)."""
    out: Dict[str, Any] = dict(auto=None, speedup={}, long_video=None)
    for line in text.splitlines():
        line = line.rstrip()
        m = AUTO_RE.match(line)
        if m:
            out['auto'] = m['mode']
        m = SPEEDUP_RE.match(line)
        if m:
            out['speedup'][m['mode']] = dict(
                ratio=float(m['ratio']),
                agreement_pct=None if m['pct'] is None else float(m['pct']),
                max_dprob=None if m['dprob'] is None else float(m['dprob']))
        m = LONG_VIDEO_RE.match(line)
        if m:
            out['long_video'] = dict(
                minutes=float(m['minutes']), fps=int(m['fps']),
                peak_rss_mib=float(m['rss']),
                seconds_per_video_minute=float(m['spm']))
    return out


def fmt_stats(stats, items: float = 1., unit: str = '/s') -> str:
    """``'0.314 clips/s (+-3%)'``: the rate at the median time and the
    spread of a :class:`~s2d_benchmark.timing.TimingStats`."""
    return f'{stats.rate(items):.3g}{unit} (+-{100 * stats.spread:.0f}%)'


def fmt_macs(macs: float) -> str:
    """``'313.94 GMACs'``; MMACs below one GMAC (the tiny model)."""
    if macs >= 1e9:
        return f'{macs / 1e9:.2f} GMACs'
    return f'{macs / 1e6:.2f} MMACs'




class Report:
    """Figures of a run (``res``, JSON-ready) and its table (``table``:
    rows of ``name``, ``value``, ``note``), printed as they come."""

    def __init__(self, echo: bool = True):
        self.res: Dict[str, Any] = {}
        self.table: List[Dict[str, str]] = []
        self.echo = echo

    def row(self, name: str, value: str, note: str = '') -> None:
        self.table.append(dict(name=name, value=value, note=note))
        self.say(f'  {name:<46} {value:<28} {note}'.rstrip())

    def say(self, line: str) -> None:
        """Print ``line`` as it is (the exact lines go through here)."""
        if self.echo:
            print(line, flush=True)

    def header(self, title: str, device) -> None:
        """The run's title line and the machine: CPU model, ISA flags
        (AVX2, AVX-512, AVX512_BF16, AMX...), torch's BLAS/oneDNN backends
        and threads; kept in ``res['machine_info']``."""
        self.res['load_avg_start'] = (
            os.getloadavg() if hasattr(os, 'getloadavg') else None)
        self.say(f'{title}, load average {self.res["load_avg_start"]}')
        self.res['machine_info'] = describe_machine(device)
        for line in format_machine(self.res['machine_info']):
            self.say(line)
