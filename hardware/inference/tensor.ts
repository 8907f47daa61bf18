// Tensors as the engines take and give them: issue 2's named-tensor layout without the name.
import { DTYPES, type DType, type TensorData } from '../../protocols/index.js'

export interface Tensor<D extends DType = DType> {
  readonly dtype: D
  readonly shape: readonly number[]
  readonly data: TensorData<D>
}

export type Inputs = Readonly<Record<string, Tensor>>
export type Outputs = Record<string, Tensor>

/** What a model says of one of its inputs or outputs. String dims are symbolic (e.g. a batch `N`). */
export interface ValueInfo {
  readonly name: string
  readonly dtype: string
  readonly shape: readonly (number | string)[]
}

export const isDType = (value: string): value is DType => Object.hasOwn(DTYPES, value)

export function tensor<D extends DType>(dtype: D, shape: readonly number[], data: TensorData<D>): Tensor<D> {
  return { dtype, shape: [...shape], data }
}
