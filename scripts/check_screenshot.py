#!/usr/bin/env python3
"""Checks that a PNG screenshot is not blank: decodes it with the standard library only (zlib) and counts the
pixels that are not (near) white.

    python3 scripts/check_screenshot.py shot.png [--min-fraction 0.01]

Prints {"width", "height", "non_white", "fraction", "colors"} as JSON; exits 1 when the share of non-white pixels
is below --min-fraction or the image has fewer than 3 distinct colours (a blank or single-colour page).
Reads 8-bit greyscale, RGB, grey+alpha and RGBA, non-interlaced PNGs (what headless Chromium writes).
"""
import argparse
import json
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    offset, idat, header = 8, [], None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        offset += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in CHANNELS or interlace != 0:
        raise ValueError(f"{path}: unsupported PNG (bit depth {depth}, colour type {color}, interlace {interlace})")
    channels = CHANNELS[color]
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, previous, position = [], bytearray(stride), 0
    for _ in range(height):
        kind = raw[position]
        line = bytearray(raw[position + 1:position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("png")
    parser.add_argument("--min-fraction", type=float, default=0.01, help="least share of non-white pixels")
    args = parser.parse_args()
    width, height, channels, rows = decode(args.png)
    non_white, colors = 0, set()
    for row in rows:
        for x in range(width):
            pixel = row[x * channels:(x + 1) * channels]
            rgb = tuple(pixel[:3]) if channels >= 3 else (pixel[0],) * 3
            if len(colors) < 64:
                colors.add(rgb)
            if min(rgb) < 240:
                non_white += 1
    fraction = non_white / max(1, width * height)
    print(json.dumps({"width": width, "height": height, "non_white": non_white, "fraction": round(fraction, 4),
                      "colors": len(colors)}))
    sys.exit(0 if fraction >= args.min_fraction and len(colors) >= 3 else 1)


if __name__ == "__main__":
    main()
