"""Rate limits of the emulator: requests per minute over the API, images per minute per deployment.

Both are sliding 60-second windows, like the quota Azure keeps per deployment
(CONTRACT.md section 4: GPT image deployments default to 5 images per
minute). A refusal says how many whole seconds until the request would fit,
for the ``Retry-After`` header. A request asking more images than the whole
quota is admitted once the window is empty (the emulator's choice: refusing
it forever would only teach a client to give up).
"""
from __future__ import annotations

import math
from collections import deque

WINDOW = 60.0


def admit_request(window: deque[float], limit: int, now: float) -> int | None:
    """None and ``now`` noted when one more request fits under ``limit``, else seconds to wait."""
    while window and window[0] <= now - WINDOW:
        window.popleft()
    if len(window) >= limit:
        # limit 0 admits nothing: the whole minute is the wait
        return max(1, math.ceil(window[0] + WINDOW - now)) if window else int(WINDOW)
    window.append(now)
    return None


class ImageQuota:
    """Images made per deployment in the last minute."""

    def __init__(self) -> None:
        self._made: dict[str, deque[tuple[float, int]]] = {}

    def used(self, deployment: str, now: float) -> int:
        made = self._made.setdefault(deployment, deque())
        while made and made[0][0] <= now - WINDOW:
            made.popleft()
        return sum(count for _, count in made)

    def admit(self, deployment: str, images: int, limit: int, now: float) -> int | None:
        """None and the images counted when they fit under ``limit``, else seconds to wait."""
        used = self.used(deployment, now)
        made = self._made[deployment]
        if used and used + images > limit or limit <= 0:
            if limit <= 0 or not made:
                return int(WINDOW)
            # wait until enough of the oldest images leave the window
            freed, wait_until = 0, made[-1][0]
            for when, count in made:
                freed += count
                if used - freed + images <= limit:
                    wait_until = when
                    break
            return max(1, math.ceil(wait_until + WINDOW - now))
        made.append((now, images))
        return None


__all__ = ["WINDOW", "ImageQuota", "admit_request"]
