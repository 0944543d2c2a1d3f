"""Tiny PNG encoder, so the simulator can serve real images without assets or Pillow."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid 8-bit RGB PNG filled with one colour."""
    return _png(width, height, [bytes(rgb) * width] * height)


def portrait_png(size: int = 64) -> bytes:
    """A profile photo that reads as one at a glance: a head and shoulders on a light ground
    (a solid square would look like an empty avatar)."""
    ground, skin, hair, shirt = (216, 230, 242), (232, 190, 160), (92, 64, 51), (40, 110, 120)
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            fx, fy = (x + 0.5) / size - 0.5, (y + 0.5) / size
            colour = ground
            if (fx / 0.36) ** 2 + ((fy - 1.02) / 0.34) ** 2 <= 1:
                colour = shirt
            elif fx**2 + (fy - 0.4) ** 2 <= 0.175**2:
                colour = hair if fy < 0.33 else skin
            row += bytes(colour)
        rows.append(bytes(row))
    return _png(size, size, rows)


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter byte 0 (None) then pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


AGENT_PHOTO = portrait_png()
AGENT_IMAGE = solid_png(64, 48, (240, 160, 40))
