"""Goldens for MobileNetV3 small/large and MobileNetV2 (src/models/mobilenetv3.ts, mobilenetv2.ts).

torchvision's own classes (weights=None), eval mode, every parameter and buffer filled by
load_synthetic under the TORCHVISION names. The TS test rebuilds the same weights from the
torchvision spec, maps them to timm's canonical names and compares. The 224x224 input is
rebuilt on both sides from the shared seeded generator (rand("input", ...), values in [-1, 1)),
so the fixtures hold outputs only, plus the input's first values as a sanity check:
  logits        [1, 1000]
  features_mean [h, w]       channel mean of model.features(x) (the PaPr proposal map)
  features_sub  [K/4, h, w]  every 4th channel of model.features(x)
and for MobileNetV3 small a second, non-square input (rand("input_160x192", ...)), whose
keys end in _160x192. Metadata "spec": the torchvision state dict's names -> shapes (JSON, in
state-dict order, num_batches_tracked left out).

Optional, only when timm can be imported (it is not a Debian package; PYTHONPATH may point at
an unpacked wheel): mobilenet_timm.safetensors, timm models at width multipliers != 1 filled
by load_synthetic under timm's (canonical) names (logits and features mean for a 96x96 input),
plus the name->shape spec of those and of the width-1.0 models as JSON metadata. Without timm that fixture is left as committed.

Why INPUT_SCALE = 100: the synthetic weights (LeCun-scaled convs, BN gains ~1, biases ~0.05)
shrink the input-dependent signal several times per block (relu/hardswish near 0, SE gates
~0.5) while the biases keep the constant part, so at unit input scale MobileNetV3's outputs
hardly depend on the input (zero input changes its logits by 5e-4 relative, a transposed stem
kernel by 1.4e-4: a golden that could barely fail). At scale 100 a zero input changes the
features by ~90% and a transposed depthwise kernel anywhere by 5-60%.
"""
import json

import torch
import torchvision

from common import load_synthetic, rand, save_fixture, skip_fixture

INPUT_224 = [1, 3, 224, 224]
INPUT_ODD = [1, 3, 160, 192]
INPUT_SCALE = 100.0


def outputs(model, x, suffix=""):
    with torch.no_grad():
        features = model.features(x)  # [1, K, h, w], after the last stage's activation
        logits = model(x)
    return {
        "logits" + suffix: logits,
        "features_mean" + suffix: features[0].mean(dim=0),
        "features_sub" + suffix: features[0, ::4],
    }


def torchvision_golden(name, builder, extra_inputs=()):
    torch.manual_seed(0)  # only affects init values that load_synthetic overwrites anyway
    model = builder(weights=None).eval()
    spec = load_synthetic(model)
    x = rand("input", INPUT_224, INPUT_SCALE)
    tensors = {"input_head": x.flatten()[:16]}
    tensors.update(outputs(model, x))
    for shape in extra_inputs:
        suffix = f"_{shape[2]}x{shape[3]}"
        tensors.update(outputs(model, rand("input" + suffix, shape, INPUT_SCALE), suffix))
    metadata = {"model": f"torchvision.models.{builder.__name__}", "spec": json.dumps(spec, separators=(",", ":"))}
    return save_fixture(name, tensors, metadata)


def timm_golden():
    try:
        import timm
    except ImportError:
        print("(timm not importable: mobilenet_timm.safetensors left as committed) ", end="")
        skip_fixture("mobilenet_timm.safetensors", "timm not importable (optional; see README)")
        return []
    tensors, specs = {}, {}
    for name in ["mobilenetv3_small_100", "mobilenetv3_large_100", "mobilenetv2_100"]:  # names only
        specs[name] = load_synthetic(timm.create_model(name, pretrained=False))
    for name in ["mobilenetv3_small_075", "mobilenetv3_large_075", "mobilenetv2_050", "mobilenetv2_140"]:
        model = timm.create_model(name, pretrained=False).eval()
        specs[name] = load_synthetic(model)
        x = rand("input_96", [1, 3, 96, 96], INPUT_SCALE)
        with torch.no_grad():
            tensors[name + ".logits"] = model(x)
            tensors[name + ".features_mean"] = model.forward_features(x)[0].mean(dim=0)
    metadata = {"timm": timm.__version__, "specs": json.dumps(specs, separators=(",", ":"))}
    return [save_fixture("mobilenet_timm", tensors, metadata)]


def main():
    models = torchvision.models
    return [
        torchvision_golden("mobilenet_v3_small", models.mobilenet_v3_small, extra_inputs=[INPUT_ODD]),
        torchvision_golden("mobilenet_v3_large", models.mobilenet_v3_large),
        torchvision_golden("mobilenet_v2", models.mobilenet_v2),
    ] + timm_golden()
