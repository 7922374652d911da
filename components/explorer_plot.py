"""The explorer's pictures: the plotly map of the collection and the thumbnails beside it.

No tensor maths here: coordinates arrive as a numpy array already projected by `unclip.explore_projection`,
points as `unclip.explore_collection.Point`s. This module only groups them into traces and draws cards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont

from components.common import no_tags
from unclip.explore_collection import KINDS, Point

COLOR_BY = ("kind", "category", "source")
KIND_COLORS = {"image": "#4C78A8", "text": "#F58518", "prior sample": "#54A24B", "interpolation step": "#E45756",
               "text-diff step": "#B279A2"}
SOURCE_COLORS = {"probe set": "#A0A0A0", "generated": "#4C78A8", "upload": "#B279A2", "typed": "#F58518",
                 "gap": "#54A24B", "path": "#E45756",  # the probe set grey, so your own points stand out
                 **{f"generated · {how}": c for how, c in (("prior", "#4C78A8"), ("text_embedding", "#72B7B2"),
                    ("caption_only", "#9D755D"), ("vary", "#FF9DA6"), ("inpaint", "#EECA3B"),
                    ("zoom_out", "#2F4B7C"))}}  # fmt: skip
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC",
           "#EECA3B"]  # fmt: skip
MORE_COLORS = ["#17BECF", "#BCBD22", "#E377C2", "#8C564B", "#393B79", "#AD494A"]  # past PALETTE, before repeating
SYMBOLS = {"image": "circle", "text": "diamond"}  # by modality, whatever the colour
AXIS = {"pca": "PC", "umap": "UMAP "}


@dataclass(frozen=True)
class MapView:
    """What one drawing of the map needs."""

    coords: np.ndarray  # (N, 2 or 3) projected coordinates, row i = points[i]
    points: list[Point]
    method: str  # the projection that was fitted ("pca" | "umap")
    color_by: str = "kind"
    path: tuple[int, ...] = ()  # point ids joined by a line, in order
    links: tuple[tuple[int, int], ...] = ()  # point id pairs joined by dotted segments
    selected: int | None = None
    explained: tuple[float, ...] = ()  # PCA: variance fraction per axis
    title: str = ""


def group_of(point: Point, color_by: str) -> str:
    """A point's colour group. By source, generated points split by what made them ('generated · prior',
    '· text_embedding', '· caption_only', '· vary', ...): the §5.1 ablation's modes and the tabs apart."""
    return {"kind": point.kind, "category": point.category, "source": point.origin}[color_by]


def colors_for(groups: list[str], color_by: str) -> dict[str, str]:
    """Fixed colours for kinds and sources; the palette, in name order, for categories and any other source
    (leaving out the fixed colours, so no two groups share one while the palette lasts)."""
    fixed = {"kind": KIND_COLORS, "source": SOURCE_COLORS}.get(color_by, {})
    palette = [c for c in PALETTE + MORE_COLORS if c not in fixed.values()]
    free = sorted(g for g in groups if g not in fixed and g != "—")
    return {g: fixed.get(g) or ("#A0A0A0" if g == "—" else palette[free.index(g) % len(palette)]) for g in groups}


def drawing_order(view: MapView) -> list[str]:
    """Colour groups, those made mostly of probe-set points first, so your own points are drawn on top."""
    groups: dict[str, list[int]] = {}
    for p in view.points:
        groups.setdefault(group_of(p, view.color_by), [0, 0])[p.source != "probe set"] += 1
    return sorted(groups, key=lambda g: (-groups[g][0], KINDS.index(g) if g in KINDS else len(KINDS), g))


def _scatter(xyz: np.ndarray, dims: int, **kwargs: object) -> go.Scatter | go.Scatter3d:
    if dims == 3:
        return go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], **kwargs)
    return go.Scatter(x=xyz[:, 0], y=xyz[:, 1], **kwargs)


def point_traces(view: MapView) -> list[go.BaseTraceType]:
    """One trace per colour group (the legend), symbol by modality, bigger markers for this session's points."""
    dims = view.coords.shape[1]
    groups = drawing_order(view)
    colors = colors_for(groups, view.color_by)
    traces = []
    for g in groups:
        rows = [i for i, p in enumerate(view.points) if group_of(p, view.color_by) == g]
        rows.sort(key=lambda i: view.points[i].source != "probe set")  # within a trace too: yours on top
        pts = [view.points[i] for i in rows]
        marker = {"color": colors[g], "symbol": [SYMBOLS[p.modality] for p in pts],
                  "size": [5 if p.source == "probe set" else 9 for p in pts],
                  "opacity": 0.75, "line": {"width": 0.5, "color": "white"}}  # fmt: skip
        if dims == 3:
            marker["size"] = [s * 0.6 for s in marker["size"]]
        # plotly reads tags in hover text (<b>, <a href>): a caption's show as typed; map_click.js reads the "#id"
        custom = [[no_tags(p.ref), f"{p.kind} · {p.origin} · {p.category}"] for p in pts]
        traces.append(_scatter(view.coords[rows], dims, mode="markers", name=f"{g} ({len(rows)})", marker=marker,
                               customdata=custom, hovertemplate="%{customdata[0]}<br><i>%{customdata[1]}</i>"
                               "<extra></extra>"))  # fmt: skip
    return traces


def overlay_traces(view: MapView) -> list[go.BaseTraceType]:
    """The last path (numbered line), the gap links (dotted) and the selected point (a ring)."""
    dims, index = view.coords.shape[1], {p.id: i for i, p in enumerate(view.points)}
    traces: list[go.BaseTraceType] = []
    path = [index[i] for i in view.path if i in index]
    if path:
        traces.append(_scatter(view.coords[path], dims, mode="lines+markers+text", name="path",
                               text=[str(k) for k in range(len(path))], textposition="top center",
                               line={"color": "#E45756", "width": 3}, marker={"size": 4, "color": "#E45756"},
                               hoverinfo="skip"))  # fmt: skip
    segs = [(index[a], index[b]) for a, b in view.links if a in index and b in index]
    if segs:
        nan = np.full((1, dims), np.nan, np.float32)
        xyz = np.concatenate([np.concatenate([view.coords[[a, b]], nan]) for a, b in segs])
        traces.append(_scatter(xyz, dims, mode="lines", name="prompt → prior → image",
                               line={"color": "#888888", "width": 1.5, "dash": "dot"}, hoverinfo="skip"))  # fmt: skip
    if view.selected is not None and view.selected in index:
        row = index[view.selected]
        for width, color in ((6, "white"), (3, "#111111")):  # a dark ring in a light halo: seen on any background
            ring = {"size": 18, "color": "rgba(0,0,0,0)", "line": {"width": width, "color": color}}
            traces.append(_scatter(view.coords[[row]], dims, mode="markers", name="selected", hoverinfo="skip",
                                   legendgroup="selected", showlegend=color != "white", marker=ring))
    return traces


def axis_titles(view: MapView) -> list[str]:
    dims, name = view.coords.shape[1], AXIS.get(view.method, "")
    if view.method == "pca" and view.explained:
        return [f"PC{k + 1} ({100 * view.explained[k]:.0f}% of variance)" for k in range(dims)]
    return [f"{name}{k + 1}" for k in range(dims)]


CAMERA_EYE = {"x": 1.8, "y": 1.8, "z": 1.15}  # farther than plotly's (1.25, 1.25, 1.25): the box and its axis
# titles fit a 700 px plot (they were cut at the sides and bottom), and nearly a phone's 380 px


def map_figure(view: MapView) -> go.Figure:
    """The whole map as a plotly figure (2-D or 3-D)."""
    fig = go.Figure([*point_traces(view), *overlay_traces(view)])
    titles = axis_titles(view)
    fig.update_layout(title={"text": view.title, "font": {"size": 13}, "y": 0.98, "x": 0.01}, height=560,
                      margin={"l": 10, "r": 10, "t": 56, "b": 10}, template="plotly_white",
                      legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom",
                              "font": {"size": 11}},
                      uirevision=f"{view.method}-{len(titles)}")  # fmt: skip
    if len(titles) == 3:
        fig.update_layout(scene={"xaxis_title": titles[0], "yaxis_title": titles[1], "zaxis_title": titles[2],
                                 "camera": {"eye": CAMERA_EYE}})
    else:
        fig.update_xaxes(title=titles[0], zeroline=False)
        equal = {"scaleanchor": "x", "scaleratio": 1} if view.method == "pca" else {}  # PCA: true distances
        fig.update_yaxes(title=titles[1], zeroline=False, **equal)
    return fig


# -- thumbnails ----------------------------------------------------------------------------------------------
def fit_lines(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float,
              rows: int) -> list[str]:  # fmt: skip
    """Words wrapped so that every line is at most `width` pixels wide in `font` (a longer word breaks). Stops
    at rows + 1 lines: the caller only needs to know that the text did not fit (a pasted page stays cheap)."""
    lines: list[str] = []
    for word in text.split():
        while len(lines) <= rows and draw.textlength(word, font=font) > width and len(word) > 1:  # wider than a line
            cut = 1
            while cut < len(word) and draw.textlength(word[: cut + 1], font=font) <= width:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
        if len(lines) > rows:
            break
    return lines


def text_card(text: str, size: int = 128, title: str = "text") -> Image.Image:
    """A caption drawn on a card, for points that have no picture (texts, undecoded embeddings). The whole caption
    fits, in the largest font that lets it (down to size // 16), above the bottom sixth, where a gallery lays its
    own caption; past that it ends in an ellipsis. The title goes top right: an image box's label covers the left."""
    im = Image.new("RGB", (size, size), "#fff4e5")
    draw = ImageDraw.Draw(im)
    draw.text((size - 6, 4), title, fill="#b35900", font=ImageFont.load_default(size=max(9, size // 12)), anchor="ra")
    top, room, margin = size // 6 + 2, size - size // 6 - (size // 6 + 2), 6
    text = text[: 8 * size]  # more than the card can show in its smallest font (then the ellipsis says so)
    for px in range(max(10, size // 9), max(8, size // 16) - 1, -1):
        font = ImageFont.load_default(size=px)
        rows = max(1, room // (px + 3))
        lines = fit_lines(draw, text, font, size - 2 * margin, rows)
        if len(lines) <= rows:
            break
    if len(lines) > rows:
        last = " ".join(lines[rows - 1:])[:size]  # no line holds more characters than the card has pixels
        while last and draw.textlength(last + "…", font=font) > size - 2 * margin:
            last = last[:-1]
        lines = [*lines[: rows - 1], last.rstrip() + "…"]
    draw.multiline_text((margin, top), "\n".join(lines), fill="#222222", font=font, spacing=3)
    return im


def point_image(point: Point, size: int = 128) -> Image.Image:
    """The point's picture (enlarged, pixels kept sharp) or a card with its caption."""
    if point.thumb is not None:
        return Image.fromarray(point.thumb).resize((size, size), Image.Resampling.NEAREST)
    return text_card(point.caption, size, point.kind)
