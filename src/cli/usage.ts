// The `papr` command's usage text, shown by `papr help` and after a usage error.
export const USAGE = `usage:
  papr classify <image...> [--weights DIR] [--proposer DIR] [--z 0.5] [--topk 5]
                [--convention official|patches] [--order significance|spatial]
                [--trace out.json] [--explain out.png] [--threads N [--force-threads]]
                [--backend js|wasm]
                [--tome R | --attention-keep F | --adaptive BUDGET] [--max-megapixels 40] [--max-aspect 16]
  papr classify-video <clip: frame folder | .png> --weights DIR [--proposer DIR] [--z 0.4] [--frames 16]
                [--proposer-clip TxHxW] [--topk 5] [--order significance|spatial]
                [--explain out.png] [--trace out.json] [--threads N] [--backend js|wasm]
  papr convert <checkpoint> --arch NAME --out DIR [--force] [--naming auto|timm|torchvision|hf] [--labels FILE] [--heads N]
               [--preprocess '{"cropPct":1,"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]}']
  papr eval-folder DIR --weights DIR [--classes FILE] [--limit N] [--proposer DIR [--z Z]] [--max-megapixels 40] [--max-aspect 16]
  papr gallery [--proposer DIR] [--images DIR...] [--z 0.5] [--out out/gallery] [--limit 24]
  papr quantize <model dir> --bits w4a8 --calibration DIR|scenes:train:N --out DIR [--method rapq|pow2-adjusted|pow2-mse|pow2-minmax|uniform]
                [--limit 100] [--search-images 32] [--fashion-mnist DIR] [--force]
  papr prune <model dir> --flops F --out DIR [--method dimap|global-magnitude|layer-magnitude] [--force]
  papr archs

classify --tome R merges R tokens per block with ToMe after PaPr (in the second half of the blocks when
z < 1, in every block at z = 1); --attention-keep F keeps the fraction F of the patch tokens by class-token
attention inside block 0 (after its attention); --adaptive BUDGET drops, in later blocks, the patch tokens whose
head-weighted class attention is below the thresholds fit for that budget (adaptive-thresholds.json beside
--weights). The explain picture then adds the merged / dropped tokens.
With a ConvNeXt or Swin folder as --weights, classify runs hierarchical PaPr (default z = 0.65): the MLPs of
every stage run on the top floor(z H W) positions only; it prints the foreground per stage and MACs per stage.

classify-video runs video PaPr (PAPR-SPEC.md section 6) on one clip (a folder of frames in natural order, or an
animated PNG): --frames frames sampled uniformly, each resized on its shorter side and centre-cropped as the
backbone's config says; the proposer (an X3D or R3D folder: papr convert --arch x3d_s|x3d_m|x3d_xs|r3d_18) sees the
clip resized trilinearly to --proposer-clip (default: X3D-S 8x160x160, X3D-M 8x224x224; X3D-XS 4x160x160 and
R3D-18 16x112x112 are this project's choice); floor(L z) of the L tubelet tokens enter the blocks. --explain writes
one panel per temporal token slice with the pruned tokens dimmed.

convert reads a ViT's width, depth, patch and image size from the checkpoint (--arch gives the family
and the preprocessing; --heads overrides the preset's head count). It writes into a temporary folder beside
--out and renames it into place when complete; an existing non-empty --out is replaced only with --force.
A Swin (swin_*) checkpoint's width, stage depths, heads and window are read from it too; timm (before and
after 0.9) and torchvision (swin_t / swin_s / swin_b) names are recognised; so are a ConvNeXt's (convnext_*,
timm or torchvision names), and a VideoMAE classifier's (videomae_small / videomae_base: original release or
Hugging Face names; a video model, which no command here runs yet). A TFLite file (.tflite, e.g. --arch
mobilenet_v2_1.0_224_quant) converts to float weights; given directly as --weights / --proposer, a .tflite runs
on TFLite's integer arithmetic.

prune removes the fraction F of a Swin, ConvNeXt or ViT folder's MACs by zeroing weights, without data:
dimap (He & Zhou, ICLR 2024) ranks the weights of each module (attention qkv, attention proj, MLP,
auxiliary) by their information distortion; the baselines rank by |w| over the whole model or per layer.
The folder it writes classifies like the original and records the dense and nonzero MACs (docs/dimap.md).

Images above 40 megapixels or more elongated than 16:1 are refused (--max-megapixels, --max-aspect raise
the limits); --threads may not exceed the available cores unless --force-threads.
--backend: wasm (WebAssembly SIMD kernels over one shared memory, split over --threads; the default where
WebAssembly SIMD validates) or js (the plain-JS reference kernels, split over --threads).`;
