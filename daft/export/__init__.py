"""A trained pair or encoder written for other libraries: ONNX, and a sentence-transformers Router model."""
