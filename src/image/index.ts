export * from "./image.ts";
export * from "./decode.ts";
export * from "./resize.ts";
export * from "./preprocess.ts";
export * from "./encode.ts";
export * from "./clip.ts";
export * from "./apng.ts";
