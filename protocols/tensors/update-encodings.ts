// The wire encodings of a model update, apart from the codec so that configuration schemas can name
// them without loading it.
export const UPDATE_ENCODINGS = ['float32', 'float16', 'int8', 'topk'] as const
export type UpdateEncoding = (typeof UPDATE_ENCODINGS)[number]
