"""Writes the PyTorch checkpoints of the SAE families that ship as pickles, with real torch.save,
for Tests/SaegeoTests/FamilyTests.swift. Each checkpoint has beside it NAME.expected.npz: every
tensor as float64, written by numpy, which the tests compare with what saegeo reads and from
which they compute their float64 reference. Run once in a venv with torch and numpy:

    python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy
    /tmp/torchvenv/bin/python Tests/Fixtures/families/make_family_fixtures.py

The layouts follow the families' public code (docs/checkpoint-families.md)."""
import json
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
D, F = 19, 53           # awkward sizes, as elsewhere in the tests
torch.manual_seed(7)


def randomize(module, thresholds=()):
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn_like(p) * (0.4 if p.dim() == 2 else 0.3))
        for name in thresholds:
            t = getattr(module, name)
            t.copy_(t.abs() * 0 + torch.rand_like(t) * 0.3 + 0.1)
    return module


def save(module_or_dict, relative, dtype=torch.float32, legacy=False):
    path = os.path.join(HERE, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    state = module_or_dict if isinstance(module_or_dict, dict) else module_or_dict.to(dtype).state_dict()
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    expected = {k: v.detach().to(torch.float64).numpy() for k, v in state.items() if torch.is_tensor(v)}
    np.savez(path + ".expected.npz", **expected)


# Goodfire: encoder_linear / decoder_linear, ReLU.
class Goodfire(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder_linear = nn.Linear(D, F)
        self.decoder_linear = nn.Linear(F, D)


save(randomize(Goodfire()), "goodfire/Test-SAE-l3-f32.pth")
save(randomize(Goodfire()), "goodfire/Test-SAE-l3-bf16.pth", torch.bfloat16)


# OpenAI sparse_autoencoder: pre_bias, encoder (no bias), latent_bias, decoder, stats, activation.
class OpenAI(nn.Module):
    def __init__(self):
        super().__init__()
        self.pre_bias = nn.Parameter(torch.zeros(D))
        self.encoder = nn.Linear(D, F, bias=False)
        self.latent_bias = nn.Parameter(torch.zeros(F))
        self.decoder = nn.Linear(F, D, bias=False)
        self.register_buffer("stats_last_nonzero", torch.zeros(F, dtype=torch.long))


for activation in ["ReLU", "TopK"]:
    model = randomize(OpenAI())
    state = dict(model.state_dict())
    state["activation"] = activation
    if activation == "TopK":
        state["activation_state_dict"] = {"k": 5, "postact_fn": "ReLU"}
    save(state, f"openai/{activation.lower()}/3.pt")


# Qwen-Scope: a plain dict, W_enc (d_sae, d_model), W_dec (d_model, d_sae), b_enc, b_dec; TopK
# with the K of the repository name.
state = {"W_enc": torch.randn(F, D) * 0.4, "W_dec": torch.randn(D, F), "b_enc": torch.randn(F) * 0.3 - 0.2,
         "b_dec": torch.randn(D) * 0.2}
save(state, "qwen-scope/SAE-Res-Test-W1K-L0_5/layer3.sae.pt")
save({k: v.to(torch.bfloat16) for k, v in state.items()}, "qwen-scope/SAE-Res-Test-bf16-W1K-L0_5/layer3.sae.pt")


# dictionary_learning: one trainer folder per dictionary class, config.json + ae.pt.
class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(D))
        self.encoder = nn.Linear(D, F)
        self.decoder = nn.Linear(F, D, bias=False)


class GatedAutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder_bias = nn.Parameter(torch.zeros(D))
        self.encoder = nn.Linear(D, F, bias=False)
        self.r_mag = nn.Parameter(torch.zeros(F))
        self.gate_bias = nn.Parameter(torch.zeros(F))
        self.mag_bias = nn.Parameter(torch.zeros(F))
        self.decoder = nn.Linear(F, D, bias=False)


class JumpReluAutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_enc = nn.Parameter(torch.zeros(D, F))
        self.b_enc = nn.Parameter(torch.zeros(F))
        self.W_dec = nn.Parameter(torch.zeros(F, D))
        self.b_dec = nn.Parameter(torch.zeros(D))
        self.threshold = nn.Parameter(torch.zeros(F))


class AutoEncoderTopK(nn.Module):
    def __init__(self, threshold):
        super().__init__()
        self.register_buffer("k", torch.tensor(5, dtype=torch.int))
        self.register_buffer("threshold", torch.tensor(threshold, dtype=torch.float32))
        self.encoder = nn.Linear(D, F)
        self.decoder = nn.Linear(F, D, bias=False)
        self.b_dec = nn.Parameter(torch.zeros(D))


class MatryoshkaBatchTopKSAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("k", torch.tensor(5, dtype=torch.int))
        self.register_buffer("threshold", torch.tensor(0.35, dtype=torch.float32))
        self.register_buffer("group_sizes", torch.tensor([13, 40]))
        self.W_enc = nn.Parameter(torch.zeros(D, F))
        self.b_enc = nn.Parameter(torch.zeros(F))
        self.W_dec = nn.Parameter(torch.zeros(F, D))
        self.b_dec = nn.Parameter(torch.zeros(D))


classes = {
    "AutoEncoder": (AutoEncoder(), ()),
    "GatedAutoEncoder": (GatedAutoEncoder(), ()),
    "JumpReluAutoEncoder": (JumpReluAutoEncoder(), ("threshold",)),
    "AutoEncoderTopK": (AutoEncoderTopK(-1.0), ()),
    "BatchTopKSAE": (AutoEncoderTopK(0.3), ()),
    "MatryoshkaBatchTopKSAE": (MatryoshkaBatchTopKSAE(), ()),
}
for n, (name, (module, thresholds)) in enumerate(classes.items()):
    folder = f"dictionary-learning/resid_post_layer_3/trainer_{n}"
    save(randomize(module, thresholds), f"{folder}/ae.pt", legacy=(name == "AutoEncoder"))
    config = {"trainer": {"dict_class": name, "trainer_class": name + "Trainer", "activation_dim": D, "dict_size": F,
                          "k": 5, "lm_name": "test", "layer": 3, "submodule_name": "resid_post_layer_3"},
              "buffer": {"d_submodule": D}}
    with open(os.path.join(HERE, folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
print("wrote", HERE)
