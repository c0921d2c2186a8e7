"""The timeline as a picture for on-call: time on x; store versions as steps of quality;
writes with unknown values as dashed lines; prediction batches as markers (size by count)
coloured by the version they matched; alerts as red ticks. PNG for Slack, and an HTML
page with the same figure (SVG) above the text timeline."""

from __future__ import annotations

import datetime as dt
import html
import io

from checks.times import for_people
from monitor.reports.timeline import Timeline, as_text

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
UNMATCHED = "#7f7f7f"


def _figure(t: Timeline) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    def x(moment: dt.datetime) -> float:
        return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]

    fig, ax = plt.subplots(figsize=(11, 5), dpi=100)
    known = [v for v in t.versions if v.known]
    colour = {v.label: PALETTE[i % len(PALETTE)] for i, v in enumerate(known)}
    times = [v.written_at for v in t.versions] + [b.made_at_max for b in t.batches]
    times += [a.at for a in t.alerts]
    if not times:
        times = [dt.datetime.combine(t.game_date, dt.time(), tzinfo=t.zone)]
    lo, hi = min(times), max(times)
    pad = max((hi - lo) * 0.05, dt.timedelta(minutes=30))
    lo, hi = lo - pad, hi + pad
    for i, v in enumerate(known):
        end = known[i + 1].written_at if i + 1 < len(known) else hi
        y = v.quality_avg or 0.0
        ax.plot([x(v.written_at), x(end)], [y, y], color=colour[v.label], linewidth=3)
        if i + 1 < len(known):
            ax.plot([x(end), x(end)], [y, known[i + 1].quality_avg or 0.0], color="#bbbbbb", lw=1)
        ax.annotate(
            f"{v.label}: written {for_people(v.written_at, t.zone, 'clock_minutes')}, q {y:.2f}",
            (x(v.written_at), y),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize=9,
            color=colour[v.label],
        )
    for w in t.versions:
        if not w.known:
            ax.axvline(x(w.written_at), color="#999999", linestyle="--", linewidth=1)
            ax.annotate(
                f"write {for_people(w.written_at, t.zone, 'clock_minutes')} (values unknown)",
                (x(w.written_at), 0.02),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=8,
                color="#666666",
                xytext=(-10, 0),
                textcoords="offset points",
            )
    for b in t.batches:
        matched = t.version_at(b.version_written_at)
        c = colour.get(matched.label, UNMATCHED) if matched else UNMATCHED
        y = b.logged_quality if b.logged_quality is not None else 50.0
        ax.scatter(
            [x(b.made_at_min)], [y], s=40 + 4 * b.count, color=c, edgecolor="black", zorder=3
        )
        name = f"version {matched.label}" if matched else "no match"
        ax.annotate(
            f"{b.count} preds → {name}",
            (x(b.made_at_min), y),
            textcoords="offset points",
            xytext=(6, -14),
            fontsize=8,
        )
    ticks: dict[tuple[dt.datetime, str], int] = {}
    for a in t.alerts:
        ticks[(a.at, a.kind)] = ticks.get((a.at, a.kind), 0) + 1
    for (at, kind), n in ticks.items():
        ax.axvline(x(at), color="#d62728", linewidth=1, alpha=0.7)
        ax.annotate(
            f"{n} {kind.replace('alert', 'alerts') if n > 1 else kind}",
            (x(at), 0.98),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color="#d62728",
            rotation=90,
            va="top",
            xytext=(3, 0),
            textcoords="offset points",
        )
    ax.set_xlim(x(lo), x(hi))
    ax.set_ylim(0, 105)
    ax.set_ylabel("feature quality")
    ax.set_title(f"featmon timeline: game date {t.game_date} ({t.zone.key})")
    # Tick labels carry the abbreviation too (a DST change inside the axis shows as EST/EDT).
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _: for_people(mdates.num2date(v), t.zone, "short_minutes"))  # type: ignore[no-untyped-call]
    )
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def render(t: Timeline, fmt: str) -> bytes:
    import matplotlib.pyplot as plt

    fig = _figure(t)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def png(t: Timeline) -> bytes:
    return render(t, "png")


def html_page(t: Timeline) -> str:
    svg = render(t, "svg").decode()
    svg = svg[svg.index("<svg") :]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>featmon timeline {t.game_date}</title></head><body>"
        f"{svg}<pre>{html.escape(as_text(t))}</pre></body></html>\n"
    )
