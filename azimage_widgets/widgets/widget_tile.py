"""The layout of a preview tile, shared by the finished images' tiles and live preview tiles."""
from __future__ import annotations

from typing import Any

# A tile is one small grid: the thumbnail on the first row, "Full size" and "Save" side by
# side on the second, the caption on the third (no HBox per tile: one model fewer per image).
TILE: dict[str, Any] = {"grid_template_columns": "max-content max-content 1fr",
                        "align_content": "flex-start"}  # a taller neighbour moves nothing
# Thumbnail, placeholder and caption take the whole row. As grid_area, not grid_column:
# ipywidgets 8's front end sets grid-area after grid-column, and its unset default then
# erases grid-column (seen in Chromium: the buttons ended up hidden beside the thumbnail).
SPAN = "auto / 1 / auto / -1"


__all__ = ["SPAN", "TILE"]
