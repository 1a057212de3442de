#!/usr/bin/env python3
"""Writes the seed corpus of the hex codec fuzzer (fuzz/base/corpus/hex_codec/). Re-run after
changing it; the files are committed. Each seed: one byte (the DATA size to expect), then the
text: valid values in lower, upper and EIP-55 mixed case, and the shapes ELs reject."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, size, text):
    d = os.path.join(HERE, "corpus", "hex_codec")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([size]) + text.encode("latin-1"))


ADDR = "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
HASH = "4f1dd23188aab3a76b463e4af801b52b1248ef073c648cbdc4c9333d3da79756"
seeds = {
    # DATA
    "address_lower": (20, "0x" + ADDR),
    "address_eip55": (20, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    "address_upper": (20, "0x" + ADDR.upper()),
    "hash_lower": (32, "0x" + HASH),
    "hash_upper": (32, "0x" + HASH.upper()),
    "tx_mixed_100": (100, "0x" + ("02F8aB" * 34)[:200]),
    "empty_data": (0, "0x"),
    "data_odd": (20, "0x" + ADDR[:-1]),
    "data_short": (20, "0x" + ADDR[:-2]),
    "data_long": (20, "0x" + ADDR + "00"),
    "data_no_prefix": (20, ADDR),
    "data_capital_x": (20, "0X" + ADDR),
    "data_bad_digit": (20, "0x" + ADDR[:39] + "g"),
    "data_escape": (20, "0x\\u0041" + ADDR[6:]),
    "data_control": (20, "0x\x01" + ADDR[1:]),
    "data_high_byte": (20, "0x\xff" + ADDR[1:]),
    # QUANTITY
    "qty_zero": (0, "0x0"),
    "qty_upper": (0, "0x14B6E"),
    "qty_u64_max": (0, "0xFFFFFFFFFFFFFFFF"),
    "qty_u64_over": (0, "0x1ffffffffffffffff"),
    "qty_u256_max": (0, "0x" + "F" * 64),
    "qty_u256_over": (0, "0x1" + "0" * 64),
    "qty_empty": (0, "0x"),
    "qty_leading_zero": (0, "0x0A"),
    "qty_double_zero": (0, "0x00"),
    "qty_minus": (0, "0x-1"),
    "qty_space": (0, "0x1 "),
    "qty_capital_x": (0, "0X10"),
    # digit decoder: one AVX2 block plus a tail, an error in the tail
    "digits_block_tail": (17, "0x" + "aB" * 17),
    "digits_bad_tail": (17, "0x" + "aB" * 16 + "a:"),
    "digits_case_bit": (16, "0x" + "\x10\x11" + "0" * 30),
}
for name, (size, text) in seeds.items():
    write(name, size, text)
