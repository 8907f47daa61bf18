// Caps and versions of the model format (ONNX ModelProto, https://github.com/onnx/onnx/blob/main/docs/IR.md).

const MiB = 1024 * 1024

/** Largest encoded model accepted; refused before a byte is decoded. */
export const MAX_MODEL_BYTES = 64 * MiB
/** Caps on the graph of a decoded model, checked before anything walks it. */
export const MAX_GRAPH_NODES = 10_000
export const MAX_INITIALIZERS = 4096
export const MAX_GRAPH_IO = 256

/**
 * IR version written by this code: 8 (ONNX 1.10, the onnx.proto that `onnx-proto` 8.0.1 is built
 * from). onnxruntime 1.30 reads IR versions up to 11.
 */
export const IR_VERSION = 8
/**
 * Default-domain opset of the models built here: 17 (ONNX 1.12). 16 is the least that has
 * ScatterElements' `reduction` attribute, which the MaxPool gradient uses; 13 the least with
 * ReduceSum's `axes` as an input and single-axis Softmax.
 */
export const OPSET_VERSION = 17
/** Oldest default-domain opset a model may have to be trained (single-axis Softmax/LogSoftmax). */
export const MIN_TRAINABLE_OPSET = 13
/** Newest default-domain opset this code knows the semantics of. */
export const MAX_OPSET_VERSION = 21

export const PRODUCER_NAME = 'counterweight'
/** Name of the batch dimension in the inputs and outputs of the models built here. */
export const BATCH_DIM = 'N'
/** Names of the input and output of the reference models. */
export const MODEL_INPUT = 'input'
export const MODEL_OUTPUT = 'output'

/** Caps on the sizes of the reference models' builders. */
export const MAX_LAYER_WIDTH = 4096
export const MAX_LAYERS = 16
export const MAX_KERNEL = 64
export const MAX_WINDOW = 65_536
