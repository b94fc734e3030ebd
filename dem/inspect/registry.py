"""What the ``inspect_ai`` entry point loads: dem's tasks, scorers and model provider."""

from dem.inspect.provider import dem_provider
from dem.inspect.tasks import deceptionbench, mask

__all__ = ["deceptionbench", "dem_provider", "mask"]
