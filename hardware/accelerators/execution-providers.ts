// The ONNX Runtime execution providers to try, best first, for a hardware profile. The inference
// runtime tries each in turn and keeps the first that loads, so naming one the installed runtime
// lacks costs a failed attempt, not a failure. `cpu` (onnxruntime-node) and `wasm`
// (onnxruntime-web, which runs everywhere) always close the list.
import type { ExecutionProvider, HardwareProfile } from './hardware-profile.js'

export function executionProvidersFor(profile: HardwareProfile): ExecutionProvider[] {
  const providers: ExecutionProvider[] = []
  const nvidia = profile.accelerators.some((a) => a.kind === 'nvidia-gpu' || a.kind === 'jetson-gpu')
  // TensorRT compiles the graph for the GPU and beats plain CUDA where it has the operators;
  // CUDA takes what TensorRT does not (ONNX Runtime docs, "TensorRT Execution Provider").
  if (nvidia) providers.push('tensorrt', 'cuda')
  // XNNPACK's kernels are written for ARM NEON; on x86 ONNX Runtime's own CPU kernels are faster.
  if ((profile.cpu.arch === 'arm64' || profile.cpu.arch === 'arm') && profile.cpu.simd.includes('neon')) providers.push('xnnpack')
  providers.push('cpu', 'wasm')
  return providers
}
