"""One self-contained HTML report: Plotly figures with plotly.js embedded once, so it opens offline.

Every trade appears in its ticker's figure as an entry marker and an exit marker whose `customdata` is
`[trade_id, ...]`, with its stop and target drawn as segments from entry to exit; tests read the figures
back from the page and find every trade.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import date, datetime

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from tradepipe.analytics.equity import session_day
from tradepipe.analytics.performance import metrics_rows
from tradepipe.analytics.report.data import ReportData
from tradepipe.analytics.trades import Trade
from tradepipe.domain.model import Side

_GREEN, _RED, _BLUE, _GREY = "#2e7d32", "#c62828", "#1565c0", "#757575"
_CONFIG = {"displaylogo": False, "responsive": True}
_STYLE = """
body { font-family: Segoe UI, Roboto, Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.muted { color: #666; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
"""


def _iso(at: datetime | date) -> str:
    return at.isoformat()


def _f(value: object) -> float | None:
    return None if value is None else float(str(value))


def _trade_markers(trades: Sequence[Trade]) -> list[go.Scatter]:
    """Entry and exit markers (customdata: trade id, direction, qty, P&L, R) and stop/target segments."""
    if not trades:
        return []

    def data(t: Trade) -> list[object]:
        r = t.r_multiple
        return [t.trade_id, t.direction.value, float(t.qty), float(t.pnl), None if r is None else float(r)]

    hover = (
        "%{customdata[0]}<br>%{customdata[1]} %{customdata[2]} @ %{y}"
        "<br>P&L %{customdata[3]:.2f}, R %{customdata[4]:.2f}<extra></extra>"
    )
    entries = go.Scatter(
        name="entries",
        mode="markers",
        x=[_iso(t.entry_at) for t in trades],
        y=[float(t.entry_price) for t in trades],
        customdata=[data(t) for t in trades],
        marker={
            "symbol": ["triangle-up" if t.direction is Side.BUY else "triangle-down" for t in trades],
            "size": 11,
            "color": [_GREEN if t.direction is Side.BUY else _RED for t in trades],
            "line": {"width": 1, "color": "#000"},
        },
        hovertemplate="entry " + hover,
    )
    exits = go.Scatter(
        name="exits",
        mode="markers",
        x=[_iso(t.exit_at) for t in trades],
        y=[float(t.exit_price) for t in trades],
        customdata=[data(t) for t in trades],
        marker={"symbol": "x", "size": 10, "color": [_GREEN if t.pnl > 0 else _RED for t in trades]},
        hovertemplate="exit " + hover,
    )
    out = [entries, exits]
    for name, color, level in (("stops", _RED, "stop"), ("targets", _GREEN, "target")):
        xs: list[str | None] = []
        ys: list[float | None] = []
        for t in trades:
            value = getattr(t, level)
            if value is not None:
                xs += [_iso(t.entry_at), _iso(t.exit_at), None]
                ys += [float(value), float(value), None]
        if xs:
            out.append(
                go.Scatter(
                    name=name,
                    mode="lines",
                    x=xs,
                    y=ys,
                    line={"color": color, "dash": "dot", "width": 1.5},
                    hoverinfo="skip",
                )
            )
    return out


def ticker_figure(data: ReportData, ticker: str) -> go.Figure:
    trades = [t for t in data.performance.book.trades if t.ticker == ticker]
    fig = go.Figure()
    series = data.bars.get(ticker)
    if series is not None and len(series):
        fig.add_trace(
            go.Candlestick(
                name=ticker,
                x=[d.isoformat() for d in series.dates],
                open=series.open.tolist(),
                high=series.high.tolist(),
                low=series.low.tolist(),
                close=series.close.tolist(),
                increasing_line_color=_GREEN,
                decreasing_line_color=_RED,
                showlegend=False,
            )
        )
    else:
        fills = [f for f in data.fills if f.ticker == ticker]
        fig.add_trace(
            go.Scatter(
                name="fills",
                mode="lines+markers",
                x=[_iso(f.at) for f in fills],
                y=[float(f.price) for f in fills],
                line={"color": _GREY, "width": 1},
                marker={"size": 5},
            )
        )
    for trace in _trade_markers(trades):
        fig.add_trace(trace)
    open_lots = [
        lot for key, lots in data.performance.book.open_lots.items() if key[2] == ticker for lot in lots
    ]
    if open_lots:
        fig.add_trace(
            go.Scatter(
                name="open lots",
                mode="markers",
                x=[_iso(lot.fill.at) for lot in open_lots],
                y=[float(lot.fill.price) for lot in open_lots],
                marker={"symbol": "circle-open", "size": 11, "color": _BLUE},
            )
        )
    fig.update_layout(
        title=f"{ticker}: {len(trades)} trades",
        height=480,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        xaxis_rangeslider_visible=False,
        legend={"orientation": "h"},
    )
    return fig


def equity_figure(data: ReportData) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    days = [p.day.isoformat() for p in data.equity]
    equity = [float(p.equity) for p in data.equity]
    peak, drawdown = float(data.performance.initial_equity), []
    for value in equity:
        peak = max(peak, value)
        drawdown.append(value / peak - 1.0)
    fig.add_trace(go.Scatter(name="equity", x=days, y=equity, line={"color": _BLUE}), row=1, col=1)
    fig.add_trace(
        go.Scatter(name="drawdown", x=days, y=drawdown, fill="tozeroy", line={"color": _RED}), row=2, col=1
    )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".1%", row=2, col=1)
    fig.update_layout(title="Equity and drawdown", height=520, margin={"l": 60, "r": 20, "t": 50, "b": 30})
    return fig


def pnl_figure(data: ReportData) -> go.Figure:
    p = data.performance
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Realized P&L by strategy", "Realized P&L by ticker"))
    for col, values in ((1, p.pnl_by_strategy), (2, p.pnl_by_ticker)):
        fig.add_trace(
            go.Bar(
                x=list(values),
                y=[float(v) for v in values.values()],
                marker_color=[_GREEN if v >= 0 else _RED for v in values.values()],
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    fig.update_layout(height=380, margin={"l": 60, "r": 20, "t": 50, "b": 30})
    return fig


def rejections_figure(data: ReportData) -> go.Figure:
    reasons = data.performance.rejected_by_reason
    fig = go.Figure(go.Bar(x=list(reasons.values()), y=list(reasons), orientation="h", marker_color=_GREY))
    fig.update_layout(
        title=f"Rejected signals by reason ({sum(reasons.values())} of {data.performance.signals})",
        height=max(220, 60 + 28 * len(reasons)),
        margin={"l": 200, "r": 20, "t": 50, "b": 30},
    )
    return fig


def _metrics_html(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
        for k, v in metrics_rows(data.performance)
    )
    return f"<table id='metrics'><tbody>{rows}</tbody></table>"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _trades_html(trades: Sequence[Trade]) -> str:
    columns = ("ticker", "strategy", "side", "qty", "entry", "price", "exit", "price", "P&amp;L", "R")
    head = "<tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"
    rows = "".join(
        f"<tr><td>{html.escape(t.ticker)}</td><td>{html.escape(t.strategy)}</td><td>{t.direction.value}</td>"
        f"<td>{t.qty}</td><td>{session_day(t.entry_at)}</td><td>{t.entry_price:.4f}</td>"
        f"<td>{session_day(t.exit_at)}</td><td>{t.exit_price:.4f}</td><td>{t.pnl:,.2f}</td>"
        f"<td>{_fmt(_f(t.r_multiple))}</td></tr>"
        for t in trades
    )
    return f"<table id='trades'><thead>{head}</thead><tbody>{rows}</tbody></table>"


def _figure_div(fig: go.Figure, div_id: str) -> str:
    return str(pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG))


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document (plotly.js inline: no network needed to open it)."""
    p = data.performance
    sections = [
        f"<h1>{html.escape(data.title)}</h1>",
        f"<p class='muted'>{html.escape(data.source)}</p>",
        "<div class='grid'><div><h2>Metrics</h2>" + _metrics_html(data) + "</div>",
        "<div><h2>How these numbers were made</h2><ul class='muted'>"
        + "".join(f"<li>{html.escape(n)}</li>" for n in data.notes)
        + "</ul></div></div>",
        "<h2>Equity</h2>" + _figure_div(equity_figure(data), "fig-equity"),
        "<h2>P&amp;L</h2>" + _figure_div(pnl_figure(data), "fig-pnl"),
        "<h2>Rejected signals</h2>" + _figure_div(rejections_figure(data), "fig-rejections"),
    ]
    for ticker in data.tickers:
        sections.append(
            f"<h2>{html.escape(ticker)}</h2>"
            + _figure_div(ticker_figure(data, ticker), f"fig-ticker-{ticker}")
        )
    sections.append(f"<h2>Trades ({len(p.book.trades)})</h2>" + _trades_html(p.book.trades))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(data.title)}</title><style>{_STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        + "\n".join(sections)
        + "</body></html>"
    )
