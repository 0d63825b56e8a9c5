"""Reader (and tiny writer, for tests) of Qt binary resource files (`.rcc`).

GCompris ships its photos inside `.rcc` files; reading them directly avoids needing Qt.
Format (Qt's rcc.cpp): magic `qres`, then big-endian u32 version, tree offset, data offset,
names offset (and u32 flags from version 3). Tree entries are 14 bytes (22 from version 2:
plus a u64 mtime): name offset u32, flags u16 (1 zlib, 2 directory, 4 zstd), then either
child count u32 + first child index u32 (directory) or country u16, language u16,
data offset u32 (file). Names: u16 length, u32 hash, UTF-16BE text. Data: u32 size then
bytes; zlib entries are qCompress blobs (u32 uncompressed size + zlib stream).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from core.errors import UserError

COMPRESSED, DIRECTORY, COMPRESSED_ZSTD = 1, 2, 4


def read_rcc(source: Path | bytes) -> Iterator[tuple[str, bytes]]:
    """Yield (path inside the resource, file bytes) for every file of an rcc file.

    zstd-compressed entries are skipped (Debian's GCompris uses zlib).
    """
    buf = source if isinstance(source, bytes) else Path(source).read_bytes()
    if buf[:4] != b"qres":
        raise UserError(f"not a Qt resource file (no 'qres' magic): {source!s:.80}")
    version, tree, data, names = struct.unpack_from(">IIII", buf, 4)
    entry = 14 if version < 2 else 22

    def name_at(off: int) -> str:
        (length,) = struct.unpack_from(">H", buf, names + off)
        start = names + off + 6
        return buf[start : start + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        pos = tree + index * entry
        name_off, flags = struct.unpack_from(">IH", buf, pos)
        name = name_at(name_off) if index else ""
        path = f"{prefix}/{name}" if prefix else name
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", buf, pos + 6)
            for child in range(first, first + count):
                yield from walk(child, path)
            return
        (data_off,) = struct.unpack_from(">I", buf, pos + 10)
        (size,) = struct.unpack_from(">I", buf, data + data_off)
        blob = buf[data + data_off + 4 : data + data_off + 4 + size]
        if flags & COMPRESSED_ZSTD:
            return
        if flags & COMPRESSED:
            blob = zlib.decompress(blob[4:])
        yield path, blob

    yield from walk(0, "")


def write_rcc(files: dict[str, bytes], compress: bool = True) -> bytes:
    """Build a version-2 rcc holding `files` ({"dir/name.ext": bytes}); used by the tests."""
    root: dict = {}
    for path, blob in files.items():
        node = root
        *dirs, leaf = path.strip("/").split("/")
        for part in dirs:
            node = node.setdefault(part, {})
        node[leaf] = blob

    names, name_offs, data = bytearray(), {}, bytearray()

    def name_off(name: str) -> int:
        if name not in name_offs:
            name_offs[name] = len(names)
            names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        return name_offs[name]

    # Breadth-first numbering, as Qt does: a directory's children are contiguous.
    order: list[tuple[str, object]] = [("", root)]
    entries: list[bytes] = []
    i = 0
    while i < len(order):
        name, node = order[i]
        noff = name_off(name) if i else 0
        if isinstance(node, dict):
            kids = sorted(node.items())
            entries.append(struct.pack(">IHII", noff, DIRECTORY, len(kids), len(order)))
            order.extend(kids)
        else:
            blob = struct.pack(">I", len(node)) + zlib.compress(node) if compress else node
            entries.append(struct.pack(">IHHHI", noff, int(compress), 0, 0, len(data)))
            data.extend(struct.pack(">I", len(blob)) + blob)
        entries[-1] += b"\0" * 8  # version 2: last-modified
        i += 1
    tree = b"".join(entries)
    header = 20
    return (
        b"qres"
        + struct.pack(">IIII", 2, header, header + len(tree), header + len(tree) + len(data))
        + tree
        + bytes(data)
        + bytes(names)
    )
