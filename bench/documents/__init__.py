"""The document side: a corpus encoded at a precision (`precision.py`: torch fp32 or bf16, or the onnxruntime
backend's graphs), through daft's embeddings cache (`embeddings.py`), sharded under torchrun (`sharded.py`)."""
