export {
  AbstractKeyStore,
  assertKeyLabel,
  type BackendKey,
  type GeneratedKey,
  type KeyCurve,
  type KeyInfo,
  type KeySigner,
  type KeyStore,
  type KeyStoreOperationOptions,
  type KeyStoreSupports,
} from './key-store.js'
export {
  fileKeyStoreConfigSchema,
  keyStoreConfigSchema,
  mapKeyStorePaths,
  pkcs11KeyStoreConfigSchema,
  type FileKeyStoreConfig,
  type KeyStoreConfig,
  type OpenKeyStoreOptions,
  type Pkcs11KeyStoreConfig,
} from './key-store-config.js'
export { readSecret, secretSourceSchema, type ReadSecretParameters, type SecretSource } from './secret-source.js'
export { openKeyStore, type OpenKeyStoreReturnType } from './open-key-store.js'
export { FileKeyStore, openFileKeyStore } from './file/file-key-store.js'
export {
  decryptKeystoreV3,
  encryptKeystoreV3,
  type DecryptKeystoreV3ReturnType,
  type EncryptKeystoreV3Parameters,
  type KeystoreV3Json,
  type ScryptParameters,
} from './file/keystore-v3.js'
export { Pkcs11KeyStore, openPkcs11KeyStore } from './pkcs11/pkcs11-key-store.js'
export { loadTransportKey, readTransportKey, type LoadTransportKeyParameters } from './transport-key.js'
