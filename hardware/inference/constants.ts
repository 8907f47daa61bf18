/** Largest model file an engine loads; checked before the bytes reach the runtime. */
export const MAX_MODEL_BYTES = 256 * 1024 * 1024
/** Time-out of one `run` when the caller gives no signal. */
export const RUN_TIMEOUT_MS = 30_000
/** Time-out of `load` (session creation and warm-up) when the caller gives no signal. */
export const LOAD_TIMEOUT_MS = 120_000
/** Threads of the WebAssembly engine when not configured: one, so a board keeps a core for sensing. */
export const DEFAULT_WASM_THREADS = 1
/** Most samples `runBatch` joins into one run. */
export const MAX_BATCH = 1024
/** The engine names, as configured and as reported in `supports.engine`. */
export const ENGINE_WEB = 'onnxruntime-web'
export const ENGINE_NODE = 'onnxruntime-node'
