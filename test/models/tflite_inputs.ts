// The inputs of the TFLite goldens (tools/golden/gen_tflite_int.py): the center 224x224 pixels of a
// BMP photo in ../shared/data/coral-photos, no resizing (BMP decodes to the same bytes in PIL and src/image).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeImage } from "../../src/image/index.ts";
import { sharedDir } from "../golden.ts";

/** The center 224x224 pixels of coral-photos/<name>.bmp, [224, 224, 3] (as gen_tflite_int.py's center_224). */
export function centerCrop224(name: string): Int32Array {
  const file = join(sharedDir()!, "data", "coral-photos", `${name}.bmp`);
  const image = decodeImage(new Uint8Array(readFileSync(file)), file);
  const [top, left] = [Math.floor((image.height - 224) / 2), Math.floor((image.width - 224) / 2)];
  const out = new Int32Array(224 * 224 * 3);
  for (let y = 0; y < 224; y++)
    for (let x = 0; x < 224 * 3; x++) out[y * 224 * 3 + x] = image.data[((top + y) * image.width + left) * 3 + x];
  return out;
}
