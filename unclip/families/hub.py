"""Finding a hub checkpoint on disk, fast, and saying clearly when it is not there.

Order (never the ~20-second retry loop `from_pretrained(hub_id)` runs with no network):
  1. a local directory the user named (`--model /path/to/karlo-v1-alpha`);
  2. the Hugging Face cache (HF_HOME / HF_HUB_CACHE are respected), read with `local_files_only=True`;
  3. a download, only when HF_HUB_OFFLINE is unset and the hub accepts a connection within a second.
Otherwise `ModelUnavailable`, naming the model and how to get it, in well under a second.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

OFFLINE_VALUES = ("1", "true", "yes", "on")
WEIGHT_PATTERNS = ["*.json", "*.txt", "*.safetensors"]  # configs, tokenizer files, weights (no pickles)


class ModelUnavailable(ValueError):
    """A named model is not on this machine and cannot be fetched now; the message says how to get it."""


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in OFFLINE_VALUES


def cache_dir() -> str:
    """The hub cache, read from the environment at call time: HF_HUB_CACHE, else HF_HOME/hub, else the default."""
    if os.environ.get("HF_HUB_CACHE"):
        return str(Path(os.environ["HF_HUB_CACHE"]).expanduser())
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]).expanduser() / "hub")
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def hub_reachable(timeout: float = 1.0) -> bool:
    """Can we open a TCP connection to the hub endpoint within `timeout` seconds? (DNS included: it runs in a
    daemon thread, because getaddrinfo has no timeout of its own.)"""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    proxy = next((os.environ[k] for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
                  if os.environ.get(k)), None) if url.scheme == "https" else None
    if proxy:  # behind a proxy, the proxy is what must answer
        url = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    ok: list[bool] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(ok)


def how_to_get(label: str, repos: dict[str, list[str] | None], why: str) -> str:
    """The message for repositories (id -> the file patterns loaded; None: WEIGHT_PATTERNS) that are missing:
    the download commands fetch only those files (not the repositories' pickled .bin copies, nor the parts of
    Karlo's image-variations repository other than its CLIP image encoder)."""
    ids = " and ".join(repos) + (" is" if len(repos) == 1 else " are")
    gets = "; ".join(f"`hf download {r} --include {' '.join(repr(p) for p in patterns or WEIGHT_PATTERNS)}`"
                     for r, patterns in repos.items())  # fmt: skip
    return (f"{label} is not available: {ids} {why}. Get it on a machine with internet ({gets}, into the "
            f"cache at {cache_dir()}, or set HF_HOME to a copied cache), or pass --model with a local directory "
            f"in the hub's layout.")


def _cached(repo_id: str, patterns: list[str]) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns, cache_dir=cache_dir()))
    except Exception:  # not cached (LocalEntryNotFoundError and friends)
        return None


def locate(repo_id: str, label: str, allow_patterns: list[str] | None = None) -> Path:
    """The snapshot directory of `repo_id`: from the cache, else downloaded when that can work quickly."""
    return locate_all({repo_id: allow_patterns}, label)[repo_id]


def locate_all(repos: dict[str, list[str] | None], label: str, optional: tuple[str, ...] = ()
               ) -> dict[str, Path | None]:  # fmt: skip
    """Every repository a family needs (repo id -> file patterns, None: configs + safetensors), from the cache or
    downloaded; if any required one is missing and cannot be fetched now, one error naming all that are missing.
    Optional repositories that are missing come back as None (never downloaded)."""
    from huggingface_hub import snapshot_download

    found = {repo: _cached(repo, patterns or WEIGHT_PATTERNS) for repo, patterns in repos.items()}
    missing = {repo: repos[repo] for repo, path in found.items() if path is None and repo not in optional}
    if not missing:
        return found
    if offline():
        raise ModelUnavailable(how_to_get(label, missing, "not in the Hugging Face cache and HF_HUB_OFFLINE is set"))
    if not hub_reachable():
        raise ModelUnavailable(how_to_get(label, missing, "not in the Hugging Face cache and the hub cannot be "
                                          "reached"))
    for repo in missing:
        try:
            found[repo] = Path(snapshot_download(repo, allow_patterns=repos[repo] or WEIGHT_PATTERNS,
                                                 cache_dir=cache_dir()))
        except Exception as e:  # gated repo, HTTP error, a network that accepts connections but not requests
            why = f"could not be downloaded ({type(e).__name__}: {e})"
            raise ModelUnavailable(how_to_get(label, {repo: missing[repo]}, why)) from None
    return found


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A model's JSON file, or ValueError naming it: not JSON (a damaged download, a hand edit), or not an object
    (`what` it should hold). A missing file raises the OSError that names it."""
    try:
        saved = json.loads(path.read_text())
    except ValueError as e:  # JSON or UTF-8
        raise ValueError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{path} must be a JSON object ({what}), got {type(saved).__name__}")
    return saved


def pipeline_class(directory: Path) -> str:
    """The `_class_name` of a hub layout's model_index.json ("" when there is none): which family it is."""
    index = directory / "model_index.json"
    return str(read_json(index, "a pipeline's index").get("_class_name", "")) if index.is_file() else ""


def scheduler_config(directory: Path) -> dict[str, Any]:
    """A saved scheduler's config without diffusers' bookkeeping keys, its noise schedule always spelt out.

    Karlo's UnCLIPScheduler configs (and Kandinsky 2.2's prior's) have no `beta_schedule`: diffusers 0.12 saved none,
    as that class only knows the cosine schedule. DDIM, DPM-Solver++ and DDPM default to the linear one, so read
    without it they would step these models through another model's noise levels (abar at t = 500: 0.08, not 0.49).
    """
    saved = read_json(directory / "scheduler_config.json", "a scheduler's config")
    config = {k: v for k, v in saved.items() if not k.startswith("_")}
    if saved.get("_class_name") == "UnCLIPScheduler":
        config.setdefault("beta_schedule", "squaredcos_cap_v2")
    return config


def require(directory: Path, parts: list[str], label: str) -> Path:
    """Refuse a directory that lacks one of the component folders a family needs, naming them."""
    missing = [p for p in parts if not (directory / p).is_dir()]
    if missing:
        raise ModelUnavailable(f"{label}: {directory} is not in the expected hub layout: missing "
                               f"{', '.join(p + '/' for p in missing)}")
    return directory
