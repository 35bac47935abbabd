// The reference kernels: each operation as its definition, in plain loops over ndarray views, for
// people learning what a kernel computes and for the tests that prove the fast kernels equal them
// (test/tensor/kernels_fast.test.ts). Exported as `papr-ts/reference`; the fast code never calls them.
export { gemmReference, linearReference } from "./gemm.ts";
export { conv2dReference } from "./conv.ts";
export { conv3dReference } from "./conv3d.ts";
export { attentionHeadsReference } from "./attention.ts";
