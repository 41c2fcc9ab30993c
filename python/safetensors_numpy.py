"""safetensors_numpy: read a mind.cpp checkpoint (`checkpoint.safetensors`) with numpy only.

The format (docs/design.md section 6): an 8-byte little-endian header length n, then n bytes of JSON
mapping each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the
data that follows the header), plus an optional "__metadata__" object of string pairs (our
hyper-parameters), then the raw little-endian data.

    from safetensors_numpy import load_safetensors
    tensors, metadata = load_safetensors("run/checkpoint.safetensors")
    tensors["item_embedding.weight"].shape   # (N, d)
    metadata["model"], metadata["d"]          # "mind", "64"

Every malformed file is refused with a ValueError naming the file and the problem.
"""
import json
import os
import struct

import numpy as np

# safetensors dtype names -> little-endian numpy dtypes.
DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
    "BOOL": "?",
}


def load_safetensors(path):
    """Returns (tensors, metadata): a dict name -> numpy array (a copy, C order) and a dict of strings."""
    def fail(problem):
        raise ValueError(f"{path}: {problem}")

    try:
        with open(path, "rb") as file:
            content = file.read()
    except OSError as error:
        raise ValueError(f"{path}: cannot read the checkpoint ({error.strerror})") from None
    if len(content) < 8:
        fail(f"{len(content)} bytes: too short for the 8-byte header length")
    (header_length,) = struct.unpack("<Q", content[:8])
    if header_length > len(content) - 8:
        fail(f"the header length {header_length} runs past the end of the file ({len(content)} bytes)")
    try:
        header = json.loads(content[8:8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"the header is not valid JSON ({error})")
    if not isinstance(header, dict):
        fail("the header is not a JSON object")
    data = memoryview(content)[8 + header_length:]

    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        fail("__metadata__ is not an object of strings")
    tensors = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
            fail(f"tensor '{name}': expected dtype, shape and data_offsets")
        if entry["dtype"] not in DTYPES:
            fail(f"tensor '{name}': unsupported dtype {entry['dtype']}")
        dtype = np.dtype(DTYPES[entry["dtype"]])
        shape = entry["shape"]
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            fail(f"tensor '{name}': shape {shape} is not a list of non-negative integers")
        offsets = entry["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            fail(f"tensor '{name}': data_offsets {offsets} is not [begin, end]")
        begin, end = offsets
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if not 0 <= begin <= end <= len(data):
            fail(f"tensor '{name}': data_offsets [{begin}, {end}] outside the {len(data)} data bytes")
        if end - begin != expected:
            fail(f"tensor '{name}': {end - begin} bytes for shape {shape} {entry['dtype']} ({expected} expected)")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return tensors, metadata


def main():
    import argparse
    parser = argparse.ArgumentParser(description="List a safetensors file's tensors and metadata.")
    parser.add_argument("checkpoint")
    path = parser.parse_args().checkpoint
    tensors, metadata = load_safetensors(path)
    for key, value in metadata.items():
        print(f"{key} = {value}")
    for name, array in tensors.items():
        print(f"{name} {list(array.shape)} {array.dtype}")
    print(f"{os.path.basename(path)}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
