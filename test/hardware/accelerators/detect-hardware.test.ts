// Accelerator detection on fixture trees of real boards, on this machine's own `/`, and on the
// bad inputs of its parsers.
import t from 'tap'
import { availableParallelism, totalmem } from 'node:os'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  detectHardware,
  executionProvidersFor,
  hardwareProfileSchema,
  parseCpuInfo,
  parseHardwareProfile,
  parseMemInfo,
  type HardwareProfile,
} from '../../../hardware/accelerators/index.js'
import { parseTegraRelease } from '../../../hardware/accelerators/board.js'
import { countCpuList } from '../../../hardware/accelerators/cpu.js'
import { parseNvidiaDriverVersion } from '../../../hardware/accelerators/devices.js'

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/accelerators/${name}`, import.meta.url))

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Record<string, unknown>
  }
  return { code: 'DID_NOT_REJECT' }
}

const ARM_V82 = ['neon', 'asimd', 'asimdhp', 'asimddp']

const expected: Record<string, { profile: HardwareProfile; executionProviders: string[] }> = {
  'raspberry-pi-4': {
    profile: {
      board: {
        kind: 'raspberry-pi',
        model: 'Raspberry Pi 4 Model B Rev 1.4',
        vendor: 'raspberrypi',
        compatible: ['raspberrypi,4-model-b', 'brcm,bcm2711'],
        l4tRelease: null,
      },
      cpu: { arch: 'arm64', cores: 4, model: 'Cortex-A72', simd: ['neon', 'asimd'] },
      memory: { totalBytes: 3884356 * 1024, availableBytes: 3392180 * 1024 },
      accelerators: [
        { kind: 'coral-edgetpu', bus: 'usb', device: null, model: 'Coral USB Accelerator', driverVersion: null, executionProvider: null },
      ],
    },
    executionProviders: ['xnnpack', 'cpu', 'wasm'],
  },
  'raspberry-pi-5': {
    profile: {
      board: {
        kind: 'raspberry-pi',
        model: 'Raspberry Pi 5 Model B Rev 1.0',
        vendor: 'raspberrypi',
        compatible: ['raspberrypi,5-model-b', 'brcm,bcm2712'],
        l4tRelease: null,
      },
      cpu: { arch: 'arm64', cores: 4, model: 'Cortex-A76', simd: ARM_V82 },
      memory: { totalBytes: 8245296 * 1024, availableBytes: 7582816 * 1024 },
      accelerators: [{ kind: 'hailo', bus: 'pcie', device: '/dev/hailo0', model: null, driverVersion: null, executionProvider: null }],
    },
    executionProviders: ['xnnpack', 'cpu', 'wasm'],
  },
  'jetson-orin-nano': {
    profile: {
      board: {
        kind: 'jetson',
        model: 'NVIDIA Jetson Orin Nano Developer Kit',
        vendor: 'nvidia',
        compatible: ['nvidia,p3768-0000+p3767-0005', 'nvidia,p3767-0005', 'nvidia,tegra234'],
        l4tRelease: '36.3.0',
      },
      cpu: { arch: 'arm64', cores: 6, model: 'Cortex-A78AE', simd: ARM_V82 },
      memory: { totalBytes: 7620684 * 1024, availableBytes: 6431720 * 1024 },
      accelerators: [
        {
          kind: 'jetson-gpu',
          bus: 'soc',
          device: '/dev/nvgpu/igpu0/ctrl',
          model: 'NVIDIA Jetson Orin Nano Developer Kit',
          driverVersion: '36.3.0',
          executionProvider: 'cuda',
        },
      ],
    },
    executionProviders: ['tensorrt', 'cuda', 'xnnpack', 'cpu', 'wasm'],
  },
  'x86-nvidia': {
    profile: {
      board: { kind: 'generic', model: 'Precision 3630 Tower', vendor: 'Dell Inc.', compatible: [], l4tRelease: null },
      cpu: {
        arch: 'x64',
        cores: 8,
        model: 'Intel(R) Core(TM) i7-9700 CPU @ 3.00GHz',
        simd: ['sse2', 'ssse3', 'sse4_1', 'sse4_2', 'avx', 'avx2', 'fma', 'f16c'],
      },
      memory: { totalBytes: 32718956 * 1024, availableBytes: 29870244 * 1024 },
      accelerators: [
        {
          kind: 'nvidia-gpu',
          bus: 'pcie',
          device: '/dev/nvidia0',
          model: 'NVIDIA GeForce RTX 3060',
          driverVersion: '550.54.14',
          executionProvider: 'cuda',
        },
      ],
    },
    executionProviders: ['tensorrt', 'cuda', 'cpu', 'wasm'],
  },
  'x86-bare': {
    profile: {
      board: { kind: 'generic', model: 'm5.large', vendor: 'Amazon EC2', compatible: [], l4tRelease: null },
      cpu: {
        arch: 'x64',
        cores: 2,
        model: 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz',
        simd: ['sse2', 'ssse3', 'sse4_1', 'sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni'],
      },
      memory: { totalBytes: 7950448 * 1024, availableBytes: 7416252 * 1024 },
      accelerators: [],
    },
    executionProviders: ['cpu', 'wasm'],
  },
  'rock-5b': {
    profile: {
      board: { kind: 'rockchip', model: 'Radxa ROCK 5B', vendor: 'radxa', compatible: ['radxa,rock-5b', 'rockchip,rk3588'], l4tRelease: null },
      cpu: { arch: 'arm64', cores: 8, model: 'Cortex-A55 + Cortex-A76', simd: ARM_V82 },
      memory: { totalBytes: 16118584 * 1024, availableBytes: 15402980 * 1024 },
      accelerators: [{ kind: 'rockchip-npu', bus: 'soc', device: '/dev/dri/card1', model: null, driverVersion: null, executionProvider: null }],
    },
    executionProviders: ['xnnpack', 'cpu', 'wasm'],
  },
}

for (const [name, want] of Object.entries(expected)) {
  t.test(`fixture ${name}`, async (t) => {
    const result = await detectHardware({ root: fixture(name) })
    t.same(result.profile, want.profile, 'profile')
    t.same(result.executionProviders, want.executionProviders, 'execution providers, best first')
    t.same(result.executionProviders.slice(-2), ['cpu', 'wasm'], 'cpu and wasm close the list')
    t.ok(hardwareProfileSchema.safeParse(result.profile).success, 'the profile validates')
  })
}

t.test('this machine’s own root: detection does not crash and agrees with Node', async (t) => {
  const { profile, executionProviders } = await detectHardware()
  t.ok(hardwareProfileSchema.safeParse(profile).success, 'the profile validates')
  t.same(executionProviders.slice(-2), ['cpu', 'wasm'])
  if (process.platform === 'linux') {
    t.equal(profile.cpu.arch, process.arch, 'the architecture read from /proc/cpuinfo is Node’s')
    t.equal(profile.memory.totalBytes, totalmem(), 'MemTotal is what the kernel tells Node')
    const processors = (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm) ?? []).length
    t.equal(profile.cpu.cores, processors || availableParallelism(), 'every processor is counted')
  }
  t.comment(JSON.stringify({ profile, executionProviders }))
})

t.test('bad roots are InvalidArgumentError naming root', async (t) => {
  for (const root of ['', fixture('x86-bare/proc/cpuinfo'), fixture('no-such-board')]) {
    const error = await rejection(detectHardware({ root }))
    t.match(error, { code: 'CW_INVALID_ARGUMENT', details: { field: 'root' } }, JSON.stringify(root))
  }
  const aborted = await rejection(detectHardware({ root: fixture('x86-bare'), signal: AbortSignal.abort() }))
  t.equal(aborted.name, 'AbortError', 'an aborted signal stops detection')
})

t.test('an empty root gives a minimal, valid profile', async (t) => {
  // The fixtures folder itself has no /proc: nothing is known, and nothing is made up.
  const { profile, executionProviders } = await detectHardware({ root: fixture('.') })
  t.same(profile, {
    board: { kind: 'generic', model: null, vendor: null, compatible: [], l4tRelease: null },
    cpu: { arch: 'unknown', cores: 1, model: null, simd: [] },
    memory: { totalBytes: 0, availableBytes: null },
    accelerators: [],
  })
  t.same(executionProviders, ['cpu', 'wasm'])
})

t.test('cpuinfo variants', async (t) => {
  const pi3Armv7 = [0, 1, 2, 3]
    .map((i) => `processor\t: ${i}\nmodel name\t: ARMv7 Processor rev 4 (v7l)\nBogoMIPS\t: 38.40\nFeatures\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32\nCPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xd03\nCPU revision\t: 4\n`)
    .join('\n')
  t.same(parseCpuInfo(`${pi3Armv7}\nHardware\t: BCM2835\nRevision\t: a02082\n`), {
    cores: 4,
    arch: 'arm',
    model: 'Cortex-A53',
    simd: ['neon'],
    boardModel: 'BCM2835',
  })
  const riscv = 'processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc_zicntr_zicsr\nmmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n\n'
  t.same(parseCpuInfo(riscv), { cores: 1, arch: 'riscv64', model: 'sifive,u74-mc', simd: [], boardModel: null })
  t.same(parseCpuInfo('processor : 0\nflags : fpu sse sse2\n'), { cores: 1, arch: 'ia32', model: null, simd: ['sse2'], boardModel: null })
  t.same(parseCpuInfo(''), { cores: 0, arch: 'unknown', model: null, simd: [], boardModel: null })
  t.same(parseCpuInfo('\u0000garbage\n:::\nno colon here\n'), { cores: 0, arch: 'unknown', model: null, simd: [], boardModel: null })
  const bigLittle = parseCpuInfo(
    'processor : 0\nFeatures : fp asimd asimddp\nCPU implementer : 0x41\nCPU architecture: 8\nCPU part : 0xd05\n\nprocessor : 1\nFeatures : fp asimd asimddp sve\nCPU implementer : 0x41\nCPU architecture: 8\nCPU part : 0xd0b\n',
  )
  t.same(bigLittle.simd, ['neon', 'asimd', 'asimddp'], 'only features every core has')
  t.same(countCpuList('0-3,6,8-11\n'), 9)
  t.same(countCpuList('3-1'), 0)
  t.same(countCpuList('zero'), 0)
  t.same(countCpuList(undefined), 0)
})

t.test('meminfo, tegra release and nvidia version parsers', async (t) => {
  t.same(parseMemInfo('MemTotal:  1024 kB\nMemFree: 10 kB\n'), { totalBytes: 1024 * 1024, availableBytes: null })
  t.equal(parseMemInfo('MemFree: 10 kB\n'), undefined)
  t.equal(parseMemInfo('MemTotal: lots\n'), undefined)
  t.equal(parseMemInfo(undefined), undefined)
  t.equal(parseTegraRelease('# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023\n'), '35.4.1')
  t.equal(parseTegraRelease('nonsense'), null)
  t.equal(parseNvidiaDriverVersion('NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  560.35.03  Release Build  (dvs-builder@U16-I3-B03-4-3)  Fri Aug 16 21:42:42 UTC 2024\n'), '560.35.03')
  t.equal(parseNvidiaDriverVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n'), '550.54.14')
  t.equal(parseNvidiaDriverVersion(undefined), null)
})

t.test('parseHardwareProfile refuses a bad profile naming the field', async (t) => {
  const good = expected['x86-nvidia']?.profile
  t.same(parseHardwareProfile(good), good)
  const cases: [unknown, string][] = [
    [null, 'profile'],
    [{ ...good, cpu: { ...good?.cpu, cores: 0 } }, 'profile.cpu.cores'],
    [{ ...good, cpu: { ...good?.cpu, arch: 'sparc' } }, 'profile.cpu.arch'],
    [{ ...good, board: { ...good?.board, model: 'x'.repeat(300) } }, 'profile.board.model'],
    [{ ...good, accelerators: [{ kind: 'tpu' }] }, 'profile.accelerators.0.kind'],
    [{ ...good, extra: 1 }, 'profile'],
  ]
  for (const [input, field] of cases) {
    t.throws(() => parseHardwareProfile(input), { code: 'CW_HARDWARE_PROFILE', details: { field } }, field)
  }
})

t.test('execution providers follow the accelerators, not the board name', async (t) => {
  const bare = expected['x86-bare']?.profile as HardwareProfile
  const withGpu: HardwareProfile = {
    ...bare,
    accelerators: [{ kind: 'nvidia-gpu', bus: 'pcie', device: '/dev/nvidia0', model: null, driverVersion: null, executionProvider: 'cuda' }],
  }
  t.same(executionProvidersFor(withGpu), ['tensorrt', 'cuda', 'cpu', 'wasm'])
  const armNoNeon: HardwareProfile = { ...bare, cpu: { ...bare.cpu, arch: 'arm', simd: [] } }
  t.same(executionProvidersFor(armNoNeon), ['cpu', 'wasm'], 'no XNNPACK without NEON')
})
