"""The fixed sequence of stages: preprocess -> asr -> llm."""
