// Defaults, caps and value names of on-device training.

/** Defaults of train()'s options (PyTorch's defaults for SGD momentum and Adam). */
export const DEFAULT_MOMENTUM = 0.9
export const DEFAULT_BETA1 = 0.9
export const DEFAULT_BETA2 = 0.999
export const DEFAULT_EPSILON = 1e-8

/** Caps on train()'s options, checked before any work. */
export const MAX_EPOCHS = 10_000
export const MAX_BATCH_SIZE = 65_536
export const MAX_SAMPLES = 10_000_000

/** Prefix of every value the training graph adds to the model's graph. */
export const PREFIX = 'cw.'
/** Inputs of the training graph besides the model's input and weights. */
export const TARGET_INPUT = 'cw.target'
export const LOSS_OUTPUT = 'cw.loss'
export const LR_INPUT = 'cw.lr'
export const MOMENTUM_INPUT = 'cw.momentum'
export const BETA1_INPUT = 'cw.beta1'
export const BETA2_INPUT = 'cw.beta2'
export const EPSILON_INPUT = 'cw.epsilon'
/** Adam's bias corrections 1/(1-β1^t) and 1/(1-β2^t), computed per step by the caller. */
export const BIAS1_INPUT = 'cw.bias1'
export const BIAS2_INPUT = 'cw.bias2'
export const MU_INPUT = 'cw.mu'
/** Per-weight names: gradient output, FedProx base input, state input/output, new weight output. */
export const gradName = (w: string): string => `cw.grad.${w}`
export const baseName = (w: string): string => `cw.base.${w}`
export const stateName = (slot: string, w: string): string => `cw.state.${slot}.${w}`
export const newStateName = (slot: string, w: string): string => `cw.new.state.${slot}.${w}`
export const newWeightName = (w: string): string => `cw.new.${w}`
