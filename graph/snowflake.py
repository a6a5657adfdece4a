"""64-bit, time-ordered ids generated in-process (Snowflake layout), so newer is bigger everywhere.

Layout: 41 bits of milliseconds since EPOCH_MS, 10 bits of worker id, 12 bits of sequence.
"""

import threading
import time

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class SnowflakeGenerator:
    """One per process; processes must use distinct worker ids."""

    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER:
            raise ValueError(f"worker id must be within 0..{MAX_WORKER}")
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = max(int(time.time() * 1000) - EPOCH_MS, self._last_ms)
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    now = self._wait_next_ms(now)
            else:
                self._sequence = 0
            self._last_ms = now
            return (now << (WORKER_BITS + SEQUENCE_BITS)) | (self.worker_id << SEQUENCE_BITS) | self._sequence

    @staticmethod
    def _wait_next_ms(current: int) -> int:
        """The sequence ran out within one millisecond (or the clock went back): wait for the next one."""
        while (now := int(time.time() * 1000) - EPOCH_MS) <= current:
            time.sleep(0.0001)
        return now


# Cypher has no bit shift: an id divided by this is its milliseconds since EPOCH_MS.
MS_DIVISOR = 1 << (WORKER_BITS + SEQUENCE_BITS)


def timestamp_ms(snowflake: int) -> int:
    """The Unix time in milliseconds at which an id was generated."""
    return (snowflake >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS


def first_id_at(unix_ms: int) -> int:
    """The smallest id generated at or after this Unix time in milliseconds."""
    return max(unix_ms - EPOCH_MS, 0) << (WORKER_BITS + SEQUENCE_BITS)
