// Strict decimal numbers for device and file input. `Number()` accepts '', ' ', '0x1f', '1e999'
// and 'Infinity'; a sensor value is none of those.

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * The number `text` spells in plain decimal notation, or `undefined` when it is not one or does
 * not fit a float32 (readings are Float32Arrays).
 */
export function parseNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined
  const value = Number(text)
  return Number.isFinite(Math.fround(value)) ? value : undefined
}
