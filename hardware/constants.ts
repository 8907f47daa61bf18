// Size caps, time-outs and defaults of the hardware layer. Sections are per sub-folder; append
// yours below the last one.

const KiB = 1024
const MiB = 1024 * KiB

// --- key stores (hardware/keys) --------------------------------------------------------------

/**
 * Key labels: 1 to 40 characters of [A-Za-z0-9._-], starting with a letter or digit. 40 is the
 * YubiHSM 2 object label limit (YubiHSM 2 Command Reference, "Label"), the tightest of the
 * tokens we target; the character set keeps a label usable as a file name as well.
 */
export const KEY_LABEL_MAX_LENGTH = 40
export const KEY_LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** Curves the key stores can hold; the device identity is a secp256k1 key (ARCHITECTURE.md). */
export const KEY_CURVES = ['secp256k1'] as const

/** Time-outs applied when the caller passes no AbortSignal. */
export const KEY_GENERATE_TIMEOUT_MS = 60_000
export const KEY_OPEN_TIMEOUT_MS = 60_000
export const KEY_SIGN_TIMEOUT_MS = 10_000
export const KEY_LIST_TIMEOUT_MS = 10_000

/** A password or PIN file larger than this is refused before it is read. */
export const SECRET_FILE_MAX_BYTES = 4 * KiB

/** A key file larger than this is refused before it is parsed (a v3 file is about 500 bytes). */
export const KEY_FILE_MAX_BYTES = 64 * KiB

/** File name suffix of key files: `<label>.json`. */
export const KEY_FILE_SUFFIX = '.json'

/** Modes of what the file key store creates: only the owner may read a key file. */
export const KEY_FILE_MODE = 0o600
export const KEY_DIRECTORY_MODE = 0o700

/**
 * scrypt parameters the file key store writes by default: N = 2^17, r = 8, p = 1, which is
 * ethers v6's default (128 MiB; bench/hardware.ts measures the open time). geth's "standard" N = 2^18
 * needs 256 MiB, half of a 512 MiB board while ONNX Runtime is loading, and geth's "light"
 * N = 2^12, p = 6 is far weaker. The key is decrypted once per process start, so the cost is paid
 * rarely. RFC 7914 §2 for the parameters.
 */
export const SCRYPT_DEFAULTS = { n: 2 ** 17, r: 8, p: 1 } as const

/**
 * Bounds on the KDF parameters read from a key file, checked before any work: a hostile file must
 * not make the device allocate gigabytes or spin for minutes.
 */
export const SCRYPT_MAX_N = 2 ** 20
export const SCRYPT_MAX_R = 32
export const SCRYPT_MAX_P = 16
/** scrypt needs 128 · N · r bytes (RFC 7914 §2, ROMix); at most this much. */
export const SCRYPT_MAX_MEMORY_BYTES = 1024 * MiB
export const PBKDF2_MAX_ITERATIONS = 2 ** 22
export const KDF_MAX_SALT_BYTES = 64
/** Web3 Secret Storage v3: a 32-byte derived key, half for AES-128, half for the MAC. */
export const KEYSTORE_DKLEN = 32
export const KEYSTORE_VERSION = 3
export const KEYSTORE_CIPHER = 'aes-128-ctr'
export const KEYSTORE_IV_BYTES = 16
export const KEYSTORE_SALT_BYTES = 32

/** DER encoding of the secp256k1 OID 1.3.132.0.10 (SEC 2 v2 §A.2.1), the value of CKA_EC_PARAMS. */
export const SECP256K1_EC_PARAMS_HEX = '06052b8104000a'

/** Largest ECDSA signature a token may hand back for a 256-bit curve: r || s (PKCS#11 v2.40 §2.3.1). */
export const PKCS11_ECDSA_SIGNATURE_BYTES = 64

// --- accelerators (hardware/accelerators) ----------------------------------------------------

/**
 * Files read during detection are small text files; anything bigger is truncated at this cap.
 * /proc/cpuinfo is the largest, at about 1.5 KiB per logical CPU on x86 (a 256-thread server
 * writes about 400 KiB).
 */
export const DETECT_FILE_MAX_BYTES = 4 * MiB
/** Time-out of `detectHardware` when the caller passes no AbortSignal. */
export const DETECT_TIMEOUT_MS = 10_000
/** At most this many entries are read from one /sys or /dev directory during detection. */
export const DETECT_MAX_DIRECTORY_ENTRIES = 1024

/** The libp2p transport key's file in a node's data directory (protobuf, as libp2p marshals keys). */
export const TRANSPORT_KEY_FILE = 'transport.key'
