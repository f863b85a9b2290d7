"""The README's workflow, taken from README.md itself, for the walkthrough test to run.

Usage: readme.py README.md MODEL_FOLDER OUT_FOLDER

Writes OUT_FOLDER/step1.py (step 1's Python, with the model name replaced by MODEL_FOLDER),
OUT_FOLDER/step1-layer (the layer the README's script hooks), OUT_FOLDER/sae-path (the SAE file
every step names) and OUT_FOLDER/steps.sh (the saegeo commands of steps 2 to 6, verbatim,
continuations and all).

It fails, naming what it expected, when the README no longer looks as this test knows it: the
section or its sh block is missing, the model line is not there exactly once, the block holds a
line that is neither a comment, step 1's heredoc nor a saegeo command, or the saegeo steps are
not inspect, contrast, score, filter, neighbors, report in that order. So a README edit makes
the test fail loudly instead of silently running less than the README says.
"""
import os
import re
import sys

readme_path, model_folder, out = sys.argv[1], sys.argv[2], sys.argv[3]
SECTION = "## Workflow on a real checkpoint"
MODEL_LINE = re.compile(r'^name, layer = "google/gemma-2-2b", (\d+)$', re.M)
STEPS = ["inspect", "contrast", "score", "filter", "neighbors", "report"]


def fail(message):
    sys.exit(f"walkthrough: FAIL: README.md: {message}")


text = open(readme_path).read()
start = text.find(SECTION + "\n")
if start < 0:
    fail(f"no section '{SECTION}'")
block = re.match(r"```sh\n(.*?)\n```\n", text[start + len(SECTION) + 1:], re.S)
if not block:
    fail(f"'{SECTION}' does not start with a ```sh block")
lines = block.group(1).split("\n")

# Step 1: the text between `python3 - <<'PY'` and the line `PY`.
try:
    opening = lines.index("python3 - <<'PY'")
    closing = lines.index("PY", opening + 1)
except ValueError:
    fail("the sh block has no `python3 - <<'PY'` ... `PY` heredoc (step 1)")
script = "\n".join(lines[opening + 1:closing]) + "\n"
found = MODEL_LINE.findall(script)
if len(found) != 1:
    fail(f"step 1 should hold the line `name, layer = \"google/gemma-2-2b\", L` once; found it {len(found)} times")
layer = int(found[0])
script = MODEL_LINE.sub(lambda m: f"name, layer = {model_folder!r}, {layer}", script)

# Steps 2 to 6: every other line is a comment or part of a saegeo command.
commands, current = [], None
for number, line in enumerate(lines[closing + 1:], start=closing + 2):
    if current is not None:
        current.append(line)
    elif line.startswith("saegeo "):
        current = [line]
    elif line.strip() and not line.startswith("#"):
        fail(f"line {number} of the workflow block is not a comment or a saegeo command: {line!r}")
    if current is not None and not line.endswith("\\"):
        commands.append("\n".join(current))
        current = None
if current is not None:
    fail("the last saegeo command ends in a continuation")
names = [command.split()[1] for command in commands]
if names != STEPS:
    fail(f"the saegeo steps are {names}; this test runs {STEPS}: update scripts/walkthrough-test.sh and STEPS in scripts/walkthrough/readme.py")

# Every step names one SAE; the test lays out generate's SAE at that path.
saes = {m for command in commands for m in re.findall(r"--sae (\S+)", command)} | {commands[0].split()[2]}
if len(saes) != 1:
    fail(f"the steps name more than one SAE: {sorted(saes)}")

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "sae-path"), "w") as f:
    f.write(f"{saes.pop()}\n")
with open(os.path.join(out, "step1.py"), "w") as f:
    f.write(script)
with open(os.path.join(out, "step1-layer"), "w") as f:
    f.write(f"{layer}\n")
with open(os.path.join(out, "steps.sh"), "w") as f:
    # Run with bash: SAEGEO names the binary that the word saegeo stands for.
    f.write('set -euo pipefail\nsaegeo() { "$SAEGEO" "$@"; }\n')
    for name, command in zip(names, commands):
        f.write(f'echo "walkthrough: saegeo {name}"\n{command}\n')
print(f"walkthrough: README step 1 hooks layer {layer}; steps 2-6: {' '.join(names)}")
