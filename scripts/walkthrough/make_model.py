"""A tiny Gemma-2 and its tokenizer, built from a config and saved where from_pretrained finds them.

Usage: make_model.py MODEL_FOLDER TRAIN_JSONL

The README's step 1 loads "google/gemma-2-2b"; the walkthrough test points it at this folder
instead, so nothing is downloaded and the script runs as written. The model keeps Gemma-2 2B's
26 blocks (so the README's layer 20 exists and no number in the script changes) and its
architecture, at width 64. Weights are random from a fixed seed: the test checks where the
activations come from, not what they mean.

It also writes the fine-tuning set the script reads: plain "text" lines and "messages" lines
(chat data, which the script sends through the chat template), so both branches run.
"""
import json
import sys

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import Gemma2Config, Gemma2ForCausalLM, PreTrainedTokenizerFast

folder, train_path = sys.argv[1], sys.argv[2]

WORDS = ("the model answered a question about cooking gardening travel money health history "
         "code music sport weather and then it gave advice that was careful or reckless").split()


def sentence(i):
    # Deterministic, of varying length (5 to 17 words), so samples have different token counts.
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(5 + i % 13))


samples = [{"id": i, "text": sentence(i)} for i in range(36)]
samples.insert(7, {"id": 100, "messages": [{"role": "user", "content": sentence(40)},
                                            {"role": "assistant", "content": sentence(41)}]})
samples.insert(20, {"id": 101, "messages": [{"role": "user", "content": sentence(42)}]})
with open(train_path, "w") as out:
    for sample in samples:
        out.write(json.dumps(sample) + "\n")

# A word-level tokenizer trained on the texts. Gemma's special tokens, and its chat template
# (which begins with the BOS token, as Gemma's does, so the script's BOS branch runs for chat
# data too). Plain text gets BOS from the post-processor, as Gemma's tokenizer adds it.
special = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
core = Tokenizer(models.WordLevel(unk_token="<unk>"))
core.pre_tokenizer = pre_tokenizers.Whitespace()
core.train_from_iterator([sentence(i) for i in range(60)] + ["user model"],
                         trainers.WordLevelTrainer(special_tokens=special))
core.post_processor = processors.TemplateProcessing(
    single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", core.token_to_id("<bos>"))])
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<bos>", eos_token="<eos>",
                                    pad_token="<pad>", unk_token="<unk>")
tokenizer.chat_template = CHAT_TEMPLATE
tokenizer.save_pretrained(folder)

# Gemma-2's defaults but the sizes. Its blocks each add a normed update, so the residual stream
# at block 20 has a norm near 50, where generate's activations have about 3: most of the
# generated SAE's features fire on every token. That is fine here (the test is about where the
# activations come from and that every step runs), and the test requires some score above 0.
config = Gemma2Config(
    vocab_size=core.get_vocab_size(), hidden_size=64, intermediate_size=128, num_hidden_layers=26,
    num_attention_heads=2, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=32,
    max_position_embeddings=512, sliding_window=16,
    pad_token_id=core.token_to_id("<pad>"), bos_token_id=core.token_to_id("<bos>"),
    eos_token_id=core.token_to_id("<eos>"))
torch.manual_seed(0)
model = Gemma2ForCausalLM(config).eval()
model.save_pretrained(folder)
print(f"make_model: {config.num_hidden_layers} blocks of width {config.hidden_size}, "
      f"{sum(p.numel() for p in model.parameters())} parameters, vocabulary {config.vocab_size}; "
      f"{len(samples)} samples in {train_path}")
