"""A tiny random-weight ChunkFormer checkpoint written with the package's own classes.

No package ships ChunkFormer weights and the hub is out of reach, so this exercises the real load and
decode path; its text output is meaningless.
"""

from __future__ import annotations

from pathlib import Path

VOCAB = ["<blank>", "<unk>", *"abcdeghiklmnopqrstuvxy", "▁", "<sos/eos>"]


def write_tiny_chunkformer(folder: Path) -> Path:
    import torch
    import yaml
    from chunkformer import ChunkFormerModel
    from chunkformer.chunkformer_model import ChunkFormerConfig

    config = {
        "model": "asr_model",
        "input_dim": 80,
        "output_dim": len(VOCAB),
        "encoder": "chunkformer",
        "encoder_conf": {
            "output_size": 32,
            "attention_heads": 2,
            "linear_units": 64,
            "num_blocks": 2,
            "cnn_module_kernel": 15,
            "input_layer": "dw_striding",
            "pos_enc_layer_type": "chunk_rel_pos",
            "selfattention_layer_type": "chunk_rel_seflattn",
            "dynamic_conv": True,
        },
        "decoder": "transformer",
        "decoder_conf": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1},
        "ctc_conf": {"ctc_blank_id": 0},
        "model_conf": {"ctc_weight": 0.3},
        "fbank_conf": {"num_mel_bins": 80, "frame_length": 25, "frame_shift": 10},
    }
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = ChunkFormerModel(ChunkFormerConfig.from_dict(dict(config)))
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    torch.save(model.model.state_dict(), folder / "pytorch_model.bin")
    (folder / "vocab.txt").write_text("".join(f"{tok} {i}\n" for i, tok in enumerate(VOCAB)))
    return folder
