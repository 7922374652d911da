"""unCLIP Studio's model side: DALL·E 2's stages (CLIP -> prior -> decoder -> upsampler) in plain PyTorch.

    from unclip import load_backend
    images = load_backend("tiny-emoji").generate("a cat above a pizza", n=4, seed=0)
"""

from unclip.backend import Generation, UnCLIP, load_backend
from unclip.settings import InvalidInput

__all__ = ["Generation", "InvalidInput", "UnCLIP", "load_backend"]
