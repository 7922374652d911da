"""Projecting CLIP embeddings to 2-D/3-D: PCA (instant, the default) and UMAP (cosine), with a stable layout.

A `Layout` is fitted once on the collection; points added later are *transformed* into it (PCA: the same
mean and projection matrix; UMAP: `reducer.transform`), so the map does not jump when you add a point.
Refitting happens only when asked (or when the method, dimension or gap setting changes).

UMAP start-up: the first fit in a process JIT-compiles numba code (tens of seconds on 2 cores). Three things
make that invisible: numba's on-disk cache lives in a writable folder (`NUMBA_CACHE_DIR`, default
~/.cache/unclip-studio/numba, set before numba is first imported); umap-learn's own kernels, which it does
not mark `cache=True`, are compiled with caching on (`numba.njit` defaults to `cache=True` only while
`umap` is imported, see `_import_umap`); and `start_umap_warmup()` fits a tiny UMAP in a daemon thread at
start-up, so with a warm cache the first real fit costs what any later one does.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from unclip.settings import InvalidInput, as_choice, as_int

METHODS = ("pca", "umap")
DIMS = (2, 3)
UMAP_MIN_POINTS = 10  # below this UMAP's neighbour graph is meaningless: the layout falls back to PCA
UMAP_NEIGHBOURS = 15


# -- PCA ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PCA:
    """x -> (x - mean) @ components.T, components (k, D) orthonormal, sign fixed (see `fit_pca`)."""

    mean: Tensor  # (D,) float64
    components: Tensor  # (k, D) float64
    explained: tuple[float, ...]  # fraction of the variance along each component

    def transform(self, x: Tensor) -> np.ndarray:
        """(N, D) -> (N, k) float32."""
        return ((x.double() - self.mean) @ self.components.T).float().numpy()


def fit_pca(x: Tensor, k: int) -> PCA:
    """PCA by SVD of the centred data (float64). Sign convention: each component's largest-magnitude
    loading is positive, so the same data always gives the same picture (SVD's signs are arbitrary)."""
    x = x.double()
    mean = x.mean(0)  # (D,)
    _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)  # vh (min(N, D), D)
    comps = vh[:k]
    if comps.shape[0] < k:  # fewer points than dimensions asked: pad with zero axes
        comps = torch.cat([comps, torch.zeros(k - comps.shape[0], x.shape[1], dtype=x.dtype)])
    big = comps.abs().argmax(dim=1)  # (k,)
    signs = torch.sign(comps[torch.arange(k), big])
    comps = comps * torch.where(signs == 0, torch.ones_like(signs), signs)[:, None]
    var = s**2
    explained = tuple(float(v) for v in (var[:k] / var.sum().clamp_min(1e-12)).tolist())
    return PCA(mean, comps, explained + (0.0,) * (k - len(explained)))


# -- UMAP (imported lazily: about 13 s cold) ------------------------------------------------------------------
def numba_cache_dir() -> Path:
    """~/.cache/unclip-studio/numba (XDG_CACHE_HOME respected), or a temp folder if that is not writable."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "unclip-studio" / "numba"
    for folder in (base, Path(tempfile.gettempdir()) / "unclip-studio-numba"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    return base


_UMAP_LOCK = threading.Lock()  # held while importing umap
_WARMUP_LOCK = threading.Lock()
_WARM = threading.Event()
_WARMUP_STARTED = False


def _import_umap() -> Any:
    """`import umap` with numba's disk cache in a writable folder and on for umap's own kernels."""
    with _UMAP_LOCK:
        if "umap" in sys.modules:
            return sys.modules["umap"]
        os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
        import numba

        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]  # in case numba was imported before
        njit = numba.njit

        def cached_njit(*args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and callable(args[0]) and not kwargs:  # bare @numba.njit
                return njit(cache=True)(args[0])
            kwargs.setdefault("cache", True)
            return njit(*args, **kwargs)

        numba.njit = cached_njit
        try:
            import umap
        finally:
            numba.njit = njit
        return umap


def fit_umap(x: np.ndarray, dims: int, seed: int = 0) -> tuple[Any, np.ndarray]:
    """UMAP (cosine metric) of x (N, D) -> (reducer, (N, dims) float32). `random_state` makes it
    deterministic, and single-threaded, which also leaves the other core alone."""
    umap = _import_umap()
    reducer = umap.UMAP(n_components=dims, metric="cosine", n_neighbors=min(UMAP_NEIGHBOURS, len(x) - 1),
                        min_dist=0.1, random_state=seed, n_jobs=1)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state", spectral-init fallbacks
        coords = reducer.fit_transform(x)
    return reducer, np.asarray(coords, dtype=np.float32)


def umap_transform(reducer: Any, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(reducer.transform(x), dtype=np.float32)


def _warmup() -> None:
    try:
        x = np.random.default_rng(0).standard_normal((48, 16)).astype(np.float32)
        for dims in DIMS:  # numba specialises per dimension: compile (or load) both
            reducer, _ = fit_umap(x, dims)
            umap_transform(reducer, x[:2])
    except Exception as e:  # never take the app down: UMAP then compiles on first use instead
        print(f"UMAP warm-up failed ({e}); the first UMAP will be slow", file=sys.stderr)
    finally:
        _WARM.set()


def start_umap_warmup() -> threading.Thread | None:
    """Fit a tiny UMAP in a daemon thread (once per process); PCA is served meanwhile."""
    global _WARMUP_STARTED
    with _WARMUP_LOCK:
        if _WARMUP_STARTED:
            return None
        _WARMUP_STARTED = True
    thread = threading.Thread(target=_warmup, name="umap-warmup", daemon=True)
    thread.start()
    return thread


def umap_ready() -> bool:
    """True once the warm-up finished (or if UMAP was used without one)."""
    return _WARM.is_set() or (not _WARMUP_STARTED and "umap" in sys.modules)


def wait_for_umap(timeout: float | None = None) -> bool:
    return _WARM.wait(timeout) if _WARMUP_STARTED else True


# -- layouts ---------------------------------------------------------------------------------------------
def prepare(embeds: Tensor, modalities: list[str], means: dict[str, Tensor] | None) -> Tensor:
    """Unit-normalise (cosine geometry); with `means`, subtract each point's modality mean (gap removed)."""
    x = F.normalize(embeds.double(), dim=-1)  # (N, D)
    if means:
        zero = torch.zeros(x.shape[1], dtype=x.dtype)
        x = x - torch.stack([means.get(m, zero) for m in modalities])
    return x


def modality_means(x: Tensor, modalities: list[str]) -> dict[str, Tensor]:
    """Mean unit embedding of each modality present: {'image': (D,), 'text': (D,)}."""
    unit = F.normalize(x.double(), dim=-1)
    return {m: unit[[i for i, mm in enumerate(modalities) if mm == m]].mean(0) for m in sorted(set(modalities))}


@dataclass(frozen=True)
class Layout:
    """A fitted projection plus the coordinates of every point placed so far (point id -> (dims,))."""

    method: str  # "pca" | "umap" (what was asked)
    used: str  # what was fitted ("pca" when UMAP had too few points)
    dims: int
    remove_gap: bool
    model: Any  # PCA, or a fitted umap.UMAP
    means: dict[str, Tensor] | None  # modality means subtracted before projecting (gap removed)
    coords: dict[int, np.ndarray] = field(default_factory=dict)
    fitted: int = 0  # how many points the fit saw

    def matches(self, method: str, dims: int, remove_gap: bool) -> bool:
        return (self.method, self.dims, self.remove_gap) == (method, dims, remove_gap)

    def place(self, ids: list[int], embeds: Tensor, modalities: list[str]) -> Layout:
        """Transform the points not placed yet into this layout; placed points keep their coordinates."""
        new = [i for i, pid in enumerate(ids) if pid not in self.coords]
        if not new:
            return self
        x = prepare(embeds[new], [modalities[i] for i in new], self.means)
        xy = self.model.transform(x) if self.used == "pca" else umap_transform(self.model, x.float().numpy())
        coords = dict(self.coords)
        coords.update({ids[i]: xy[j] for j, i in enumerate(new)})
        return replace(self, coords=coords)

    def array(self, ids: list[int]) -> np.ndarray:
        """(N, dims) coordinates of `ids`, in order."""
        return np.stack([self.coords[i] for i in ids]) if ids else np.zeros((0, self.dims), np.float32)


def check_projection(method: Any, dims: Any) -> tuple[str, int]:
    method = as_choice("method", str(method).lower() if isinstance(method, str) else method, METHODS)
    return method, as_int("dims", dims, *DIMS)


def fit_layout(ids: list[int], embeds: Tensor, modalities: list[str], method: str = "pca", dims: int = 2,
               remove_gap: bool = False, seed: int = 0) -> Layout:  # fmt: skip
    """Fit a projection on the points (ids, embeds (N, D), modality per point) and place them all."""
    method, dims = check_projection(method, dims)
    if len(ids) == 0:
        raise InvalidInput("the collection is empty: add a text or an image first")
    means = modality_means(embeds, modalities) if remove_gap else None
    x = prepare(embeds, modalities, means)  # (N, D) float64
    if method == "umap" and len(ids) >= UMAP_MIN_POINTS:
        model, xy = fit_umap(x.float().numpy(), dims, seed)
        used = "umap"
    else:
        model = fit_pca(x, dims)
        xy, used = model.transform(x), "pca"
    return Layout(method, used, dims, bool(remove_gap), model, means, dict(zip(ids, xy, strict=True)), len(ids))
