// ResNet parameter names: torchvision <-> timm (the canonical names, see src/models/resnet.ts).
//
// For ResNet-18/34/50/101/152 the two libraries use the same module tree, so the names are
// identical: conv1, bn1, layer{1-4}.{j}.conv{1,2,3}, .bn{1,2,3}, .downsample.0 (1x1 conv),
// .downsample.1 (BatchNorm), fc. Only wrappers differ:
//   - "module." prefixes (checkpoints saved from DataParallel / DistributedDataParallel),
//   - "model." prefixes (checkpoints saved from a wrapping LightningModule or similar),
//   - "*.num_batches_tracked" buffers (torchvision and timm state dicts both carry them; the
//     canonical names drop them: they do not affect inference).
// Mapping back to torchvision/timm is the identity (num_batches_tracked can be re-created as 0).

const WRAPPER_PREFIXES = ["module.", "model."];

/** The canonical name of a torchvision or timm ResNet parameter, or null for a dropped buffer. */
export function resnetCanonicalName(name: string): string | null {
  let out = name;
  for (let stripped = true; stripped;) {
    stripped = false;
    for (const prefix of WRAPPER_PREFIXES) {
      if (out.startsWith(prefix)) {
        out = out.slice(prefix.length);
        stripped = true;
      }
    }
  }
  return out.endsWith(".num_batches_tracked") ? null : out;
}

/** torchvision -> canonical (timm) name; identical apart from wrappers. */
export const resnetNameFromTorchvision = resnetCanonicalName;
/** timm -> canonical name; identical apart from wrappers. */
export const resnetNameFromTimm = resnetCanonicalName;

/** canonical -> torchvision (and timm) name: the identity. */
export function resnetNameToTorchvision(name: string): string {
  return name;
}

/** Renames a whole torchvision or timm ResNet state dict to canonical names (dropping num_batches_tracked). */
export function canonicalResnetWeights<T>(weights: Map<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [name, value] of weights) {
    const canonical = resnetCanonicalName(name);
    if (canonical === null) continue;
    if (out.has(canonical)) throw new Error(`resnet names: '${name}' and another entry both map to '${canonical}'`);
    out.set(canonical, value);
  }
  return out;
}
