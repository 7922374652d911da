"""Rebuild ``assets/fluent-emoji-flat.json`` from the npm package.

Usage (maintainers only; the vendored file is committed)::

    cd /tmp && npm pack @iconify-json/fluent-emoji-flat@1.2.6
    tar xzf iconify-json-fluent-emoji-flat-1.2.6.tgz
    python -m unclip.world.build_assets /tmp/package

It keeps only the icons named in ``catalog.OBJECTS`` (Iconify JSON layout:
``prefix``, ``width``, ``height``, ``icons``) and adds one extra key,
``bboxes``: the visible (alpha >= 32/255) box of each icon as fractions of its
view box, measured on a 256 px rendering.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .assets import ASSET_PATH, rasterize
from .catalog import OBJECTS

BBOX_PX = 256


def _svg(data: dict, name: str) -> str:
    icon = data["icons"][name]
    w = icon.get("width", data.get("width", 16))
    h = icon.get("height", data.get("height", 16))
    left, top = icon.get("left", 0), icon.get("top", 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left} {top} {w} {h}">'
            f'{icon["body"]}</svg>')


def alpha_bbox(rgba: np.ndarray, threshold: int = 32) -> list[float]:
    """Visible box of an (S, S, 4) RGBA image as fractions [x0, y0, x1, y1]."""
    size = rgba.shape[0]
    ys, xs = np.nonzero(rgba[..., 3] >= threshold)
    return [round(xs.min() / size, 4), round(ys.min() / size, 4),
            round((xs.max() + 1) / size, 4), round((ys.max() + 1) / size, 4)]


def build(package_dir: Path, out: Path = ASSET_PATH) -> dict:
    """Write the subset JSON and return it."""
    src = json.loads((package_dir / "icons.json").read_text(encoding="utf-8"))
    subset: dict = {"prefix": src["prefix"], "width": src.get("width", 16),
                    "height": src.get("height", 16), "icons": {}, "bboxes": {}}
    for icon, *_ in OBJECTS:
        entry = dict(src["icons"][icon])
        entry.pop("hidden", None)
        subset["icons"][icon] = entry
        subset["bboxes"][icon] = alpha_bbox(rasterize(_svg(src, icon), BBOX_PX))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(subset, separators=(",", ":"), sort_keys=True) + "\n",
                   encoding="utf-8")
    return subset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="unpacked npm package folder")
    parser.add_argument("--out", type=Path, default=ASSET_PATH)
    args = parser.parse_args(argv)
    subset = build(args.package_dir, args.out)
    print(f"wrote {len(subset['icons'])} icons to {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
