#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The demo's pictures of the monitors, made small for the README.

usage: demo-images.py SRC DST NAME[@DEGREES]...

Reads SRC/NAME.png for each NAME (8-bit grey, RGB or RGBA, or a palette,
not interlaced, as pnmtopng and vscanoutctl screenshot write them) and writes DST/demo-NAME.png:
RGB, each row filtered the way that compresses best, zlib at level 9.
With @DEGREES (90, 180, 270) the picture is first turned that far
clockwise, as the monitor stands, so that a monitor in portrait shows
upright. Needs nothing but python3.
"""
import os
import struct
import sys
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(Exception):
    pass


def chunks(data):
    if not data.startswith(SIGNATURE):
        raise ImageError("not a PNG file")
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(kind, line, prev, bpp):
    if kind == 0:
        return line
    out = bytearray(line)
    n = len(out)
    if kind == 1:
        for i in range(bpp, n):
            out[i] = (out[i] + out[i - bpp]) & 255
    elif kind == 2:
        for i in range(n):
            out[i] = (out[i] + prev[i]) & 255
    elif kind == 3:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(n):
            left = out[i - bpp] if i >= bpp else 0
            upleft = prev[i - bpp] if i >= bpp else 0
            out[i] = (out[i] + paeth(left, prev[i], upleft)) & 255
    else:
        raise ImageError(f"unknown row filter {kind}")
    return bytes(out)


def read_png(path):
    """(width, height, rows of RGB bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    header, idat, palette = None, [], b""
    for kind, body in chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise ImageError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if (channels is None or interlace != 0 or
            (depth != 8 and not (colour == 3 and depth in (1, 2, 4)))):
        raise ImageError(f"depth {depth}, colour type {colour}, interlace {interlace}: "
                         "only 8-bit grey, RGB, RGBA or a palette, not interlaced")
    bpp = channels
    raw = zlib.decompress(b"".join(idat))
    stride = (width * channels * depth + 7) // 8
    if len(raw) != height * (stride + 1):
        raise ImageError("the image data has the wrong size")
    if colour == 3:
        colours = [palette[i:i + 3] for i in range(0, len(palette), 3)]
        colours += [b"\0\0\0"] * (256 - len(colours))
    rows, prev = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        prev = unfilter(raw[start], raw[start + 1:start + 1 + stride], prev, max(1, bpp))
        if colour == 3:
            per_byte = 8 // depth
            mask = (1 << depth) - 1
            index = [(prev[x // per_byte] >> (8 - depth * (x % per_byte + 1))) & mask
                     for x in range(width)]
            rows.append(b"".join(colours[i] for i in index))
        elif colour in (0, 4):
            rows.append(bytes(v for g in prev[::channels] for v in (g, g, g)))
        elif colour == 6:
            rows.append(b"".join(prev[i:i + 3] for i in range(0, stride, 4)))
        else:
            rows.append(prev)
    return width, height, rows


def turn(width, height, rows, degrees):
    """The picture turned clockwise by degrees (0, 90, 180 or 270)."""
    if degrees == 0:
        return width, height, rows
    pixels = [[row[x:x + 3] for x in range(0, 3 * width, 3)] for row in rows]
    if degrees == 180:
        return width, height, [b"".join(reversed(p)) for p in reversed(pixels)]
    if degrees == 90:
        # Turned clockwise: the new row y is the old column y, bottom to top.
        out = [b"".join(pixels[height - 1 - x][y] for x in range(height)) for y in range(width)]
    elif degrees == 270:
        out = [b"".join(pixels[x][width - 1 - y] for x in range(height)) for y in range(width)]
    else:
        raise ImageError(f"cannot turn by {degrees} degrees")
    return height, width, out


def chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))


def write_png(path, width, height, rows):
    # Each row unfiltered or as the difference to the row above, whichever
    # leaves the fewer distinct bytes: runs of one colour, bars and text.
    raw = bytearray()
    prev = bytes(3 * width)
    for row in rows:
        up = bytes((a - b) & 255 for a, b in zip(row, prev))
        if sum(1 for v in up if v) < sum(1 for a, b in zip(row, row[3:]) if a != b):
            raw += b"\x02" + up
        else:
            raw += b"\x00" + row
        prev = row
    data = (SIGNATURE
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + chunk(b"IEND", b""))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def main(argv):
    if len(argv) < 4:
        print("usage: demo-images.py SRC DST NAME[@DEGREES]...", file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    os.makedirs(dst, exist_ok=True)
    status = 0
    for arg in argv[3:]:
        name, _, degrees = arg.partition("@")
        path = os.path.join(src, name + ".png")
        out = os.path.join(dst, f"demo-{name}.png")
        try:
            width, height, rows = turn(*read_png(path), int(degrees or 0))
            size = write_png(out, width, height, rows)
        except (OSError, ValueError, zlib.error, ImageError) as e:
            print(f"demo-images: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        print(f"demo-images: {out}: {width}x{height}, {size // 1024} KiB")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
