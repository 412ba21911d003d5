"""gansim: an exact, small GAN engine for teaching; `from gansim import Config, Trainer`."""
from .config import Config

__all__ = ["Config", "Trainer", "Diverged"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Trainer pulls in torch; keep `import gansim.config` light for the CLI's validation.
    if name in ("Trainer", "Diverged"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'gansim' has no attribute {name!r}")
