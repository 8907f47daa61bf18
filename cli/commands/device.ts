// `cw device …`: enrolment requests on the device, enrolment, revocation and key rotation on the
// owner's side, and the device listing. Passwords and PINs are never arguments: the key-store
// configuration files name the file or environment variable that holds them.
import type { Command } from 'commander'
import type * as Actions from '../actions/device.js'

// The implementation, and all it imports, loads when one of these commands runs.
const actions = (): Promise<typeof Actions> => import('../actions/device.js')

const ownerCommand = (command: Command): Command =>
  command
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .requiredOption('--owner-key <file>', 'key-store configuration (JSON) of the owner key; its password or PIN comes from the file or variable it names')
    .option('--owner-label <label>', 'label of the owner key in its store', 'owner')
    .option('--state <dir>', "the owner's state directory (journal of enrolled devices); `provisioning/` beside the fleet file by default")
    .option('--no-progress', 'no progress lines on stderr')
    .option('--json', 'print the result as JSON')

export function registerDevice(program: Command): void {
  const device = program.command('device').description('enrolment requests (device side); enrolment, revocation, key rotation and listing (owner side)')

  device
    .command('request')
    .description('device side: generate the device key (if absent) and transport key, and write a signed enrolment request')
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .requiredOption('--key-store <file>', 'key-store configuration (JSON) of the device key (file or pkcs11)')
    .option('--label <label>', 'label of the device key in its store', 'device')
    .requiredOption('--transport-dir <dir>', 'directory of the libp2p transport key (created when absent)')
    .requiredOption('--serial <serial>', "the device's serial number")
    .option('--hardware <file>', 'a hardware profile (JSON) instead of detecting it')
    .option('--hardware-root <dir>', 'detect the hardware under this root', '/')
    .option('--out <file>', 'write the request here (one line); standard output when absent')
    .option('--json', 'print the result as JSON')
    .action(async (...args: Parameters<typeof Actions.deviceRequestCommand>) => (await actions()).deviceRequestCommand(...args))

  ownerCommand(
    device
      .command('enroll')
      .description('owner side: check requests, issue certificates, register the devices on chain in batches, write device bundles; re-running resumes')
      .argument('[requests...]', 'enrolment request files')
      .option('--csv <file>', 'bulk: a CSV with columns request[,bundle][,sensors] (paths relative to the CSV)')
      .option('--out <file>', 'with one request: where to write its bundle')
      .option('--bundle-dir <dir>', 'where bundles go, named <device address>.json (default: bundles/ beside the CSV, or in the current directory)')
      .option('--bootstrap <multiaddr...>', "bootstrap multiaddrs for the bundles (default: the fleet's gateways')")
      .option('--sensors <file>', 'a JSON file with the sensors array for every bundle (CSV rows may name their own)')
      .option('--valid-days <n>', 'certificate validity in days', '365')
      .option('--max-samples <n>', 'the most samples each device may claim in an update, written into its certificate (max-samples:<n>); gateways refuse larger claims')
      .option('--max-request-age-days <n>', 'refuse requests older than this', '30')
      .option('--batch <n>', 'devices per registration transaction', '100'),
  ).action(async (...args: Parameters<typeof Actions.deviceEnrollCommand>) => (await actions()).deviceEnrollCommand(...args))

  ownerCommand(
    device
      .command('revoke')
      .description('owner side: revoke devices on chain (final); gateways refuse them from their next submission')
      .argument('<addresses...>', 'device addresses')
      .option('--batch <n>', 'devices per revocation transaction', '100'),
  ).action(async (...args: Parameters<typeof Actions.deviceRevokeCommand>) => (await actions()).deviceRevokeCommand(...args))

  device
    .command('rotate-key')
    .description(
      'key rotation. Device side (--bundle): generate a new key and write a request signed by it and endorsed by the old key. ' +
        'Owner side (<request>): certify the new key, register it and revoke the old one in the same run, and write the new bundle',
    )
    .argument('[request]', 'owner side: the rotation request file')
    .option('--bundle <file>', "device side: the device's bundle (device.json); its key is the old key")
    .option('--new-label <label>', 'device side: label of the new key')
    .option('--key-store <file>', "device side: key-store configuration of the new key (the bundle's store when absent)")
    .option('--out <file>', 'device side: where to write the request (standard output when absent); owner side: where to write the new bundle (over the old one when absent)')
    .option('--fleet <file>', 'owner side: the fleet file', 'fleet.json')
    .option('--owner-key <file>', 'owner side: key-store configuration (JSON) of the owner key')
    .option('--owner-label <label>', 'owner side: label of the owner key', 'owner')
    .option('--state <dir>', "owner side: the owner's state directory")
    .option('--no-progress', 'no progress lines on stderr')
    .option('--json', 'print the result as JSON')
    .action(async (...args: Parameters<typeof Actions.deviceRotateKeyCommand>) => (await actions()).deviceRotateKeyCommand(...args))

  device
    .command('ls')
    .description("list the fleet's devices from the chain and the owner's journal, with their status")
    .option('--fleet <file>', 'the fleet file', 'fleet.json')
    .option('--state <dir>', "the owner's state directory; `provisioning/` beside the fleet file by default")
    .option('--json', 'print as JSON')
    .action(async (...args: Parameters<typeof Actions.deviceLsCommand>) => (await actions()).deviceLsCommand(...args))
}
