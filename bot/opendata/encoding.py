"""Which encoding a municipal CSV file is in, decided from its bytes (no guessing library: the four that
occur are told apart by rules).

Order: a byte-order mark (UTF-8, UTF-16LE, UTF-16BE) says it outright; UTF-16LE without a mark shows as NUL
in most odd bytes (the CSV's commas, digits and line breaks are ASCII); then strict UTF-8; else CP932 (the
Windows Shift_JIS that Excel writes, with its extra characters such as ①, ㈱ and NEC/IBM kanji, but not
its user-defined 外字, which only a private-use code point could hold). Bytes that are none of these are
refused: decoding is never lossy.
"""
from __future__ import annotations

import codecs
import re

UTF8_SIG, UTF16LE, UTF16BE, UTF8, CP932 = "utf-8-sig", "utf-16-le", "utf-16-be", "utf-8", "cp932"
# How the encoding is named to the person who sent the file.
LABELS = {UTF8_SIG: "UTF-8（BOM付き）", UTF16LE: "UTF-16LE", UTF16BE: "UTF-16BE", UTF8: "UTF-8",
          CP932: "Shift_JIS（CP932）"}
# UTF-16 without a mark: at least this share of the odd bytes are NUL (ASCII: commas, digits, line breaks in
# UTF-16LE), and few of the even ones. Text in UTF-8 or CP932 holds no NUL at all.
NUL_SHARE = 0.05
SAMPLE = 4096
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


class UnreadableFile(ValueError):
    """The file is in none of the encodings we read, or empty. The message is Japanese, for the person."""


def label(encoding: str) -> str:
    return LABELS.get(encoding, encoding)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16LE or -BE when NULs sit in one parity of the first bytes and hardly in the other."""
    sample = data[:SAMPLE]
    if len(sample) < 4 or len(data) % 2:
        return None
    odd = sample[1::2].count(0) / (len(sample) // 2)
    even = sample[0::2].count(0) / (len(sample) // 2)
    if odd >= NUL_SHARE and even < odd / 4:
        return UTF16LE
    if even >= NUL_SHARE and odd < even / 4:
        return UTF16BE
    return None


def detect(data: bytes) -> str:
    """The encoding name (one of LABELS) that decodes `data`; raises UnreadableFile."""
    if data.startswith(codecs.BOM_UTF8):
        return UTF8_SIG
    if data.startswith(codecs.BOM_UTF16_LE):
        return UTF16LE
    if data.startswith(codecs.BOM_UTF16_BE):
        return UTF16BE
    if (utf16 := _utf16_without_bom(data)) is not None:
        return utf16
    for name in (UTF8, CP932):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if name == CP932 and _PRIVATE_USE.search(text):
            # Bytes CP932 only "reads" as 外字 (private use): a broken UTF-8 file, or characters no one else
            # can display. Either way not text we can keep.
            raise UnreadableFile("Shift_JIS（CP932）としても読めない文字（外字など）があります。UTF-8 で保存し直してください。")
        return name
    raise UnreadableFile("文字コードを判別できません。UTF-8 か Shift_JIS（CP932）で保存し直してください。")


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a file's bytes, the byte-order mark removed; raises UnreadableFile."""
    if not data.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise UnreadableFile("ファイルが空です。")
    name = detect(data)
    body = data
    if name in (UTF16LE, UTF16BE):
        bom = codecs.BOM_UTF16_LE if name == UTF16LE else codecs.BOM_UTF16_BE
        body = data[len(bom):] if data.startswith(bom) else data
    try:
        text = body.decode(name)
    except UnicodeDecodeError:
        raise UnreadableFile(f"{label(name)} として読めない部分があります。保存し直してください。") from None
    return text, name
