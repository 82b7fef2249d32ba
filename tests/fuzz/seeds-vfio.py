#!/usr/bin/env python3
# Write the seed inputs of fuzz-vfio into corpus/vfio/: devices like mdpy
# (region planes, an EDID region) and mbochs (dma-buf planes, a cursor),
# in the input layout fuzz-vfio.c describes.
import os
import struct

XRGB8888 = 0x34325258  # 'XR24'
ARGB8888 = 0x34325241  # 'AR24'
READ, WRITE, MMAP = 1, 2, 4
PRIMARY, CURSOR = 1, 2


def plane(fourcc, width, height, stride, size, index, x=0, y=0, hot=(0xFFFFFFFF, 0xFFFFFFFF), kind=PRIMARY):
    return struct.pack('<IIIIQIIIIIIIII4x', 64, 0, kind, fourcc, 0, width, height, stride, size,
                       x, y, hot[0], hot[1], index)


def edid_region(offset, size, cap_offset=32, edid_offset=256, max_size=512, xres=1920, yres=1200):
    return bytes([2]) + struct.pack('<QQB', offset, size, cap_offset) + struct.pack(
        '<6I', edid_offset, max_size, 0, xres, yres, 0)


def plain_region(flags, offset, size):
    return bytes([1]) + struct.pack('<IQQ', flags, offset, size)


def device(flags, num_regions, regions):
    regions = regions + [bytes([0])] * (8 - len(regions))
    return bytes([flags]) + struct.pack('<H', num_regions) + b''.join(regions)


def op_primary(p):
    return bytes([0]) + p


def op_cursor(p):
    return bytes([1]) + p


POLL = bytes([4])


def op_edid(n):
    return bytes([5]) + struct.pack('<H', n)


def op_errors(primary, cursor):
    return bytes([2, primary, cursor])


seeds = {
    'mdpy': device(2, 2, [edid_region(0x10000, 4096), plain_region(READ | MMAP, 0x20000, 0x10000)])
    + op_primary(plane(XRGB8888, 64, 32, 256, 8192, 1)) + POLL + op_edid(128) + POLL
    + op_primary(plane(XRGB8888, 64, 32, 128, 8192, 1)) + POLL
    + op_primary(plane(XRGB8888, 64, 300, 256, 256 * 300, 1)) + POLL,
    'mbochs': device(1, 10, [plain_region(READ | WRITE | MMAP, 0, 0x100000)])
    + op_primary(plane(XRGB8888, 1024, 768, 4096, 4096 * 768, 1)) + POLL
    + op_cursor(plane(ARGB8888, 64, 64, 256, 256 * 64, 2, 100, 50, (3, 4), CURSOR)) + POLL
    + bytes([3, 0]) + POLL + op_errors(1, 2) + POLL + op_errors(4, 0) + POLL,
    'edid-broken': device(3, 3, [edid_region(0xFFFFFFFFFFFFF000, 4096),
                                  edid_region(0x10000, 4096, cap_offset=34),
                                  edid_region(0x10000, 4096, edid_offset=0xFFFFFF00)])
    + op_edid(128),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'vfio')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
