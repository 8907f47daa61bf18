// npm running on a Node older than 22 skips optional packages whose `engines` ask for 22, such as
// the native binary of EDR (the embedded EVM). The project pins Node 22 through the npm package
// `node`, so after an install by an older Node this runs the install once more under Node 22,
// which adds what was skipped. Nothing happens when npm already runs on Node 22.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const REQUIRED_MAJOR = 22
// This script itself runs on the pinned Node (npm puts node_modules/.bin first on PATH); the Node
// that npm ran on, and resolved `engines` against, is in its user agent: `npm/11.x node/v20.x …`.
const npmNode = /\bnode\/v(\d+)\./.exec(process.env.npm_config_user_agent ?? '')?.[1]
const major = Number(npmNode ?? process.versions.node.split('.')[0])
const pinned = 'node_modules/node/bin/node'
const npmCli = process.env.npm_execpath

if (major < REQUIRED_MAJOR && process.env.CW_INSTALL_UNDER_NODE22 !== '1') {
  if (!existsSync(pinned) || npmCli === undefined) {
    console.warn(`postinstall: Node ${major} skipped packages that need Node ${REQUIRED_MAJOR}, and the pinned Node is missing`)
  } else {
    console.log(`postinstall: npm ran on Node ${major}; installing again on the pinned Node ${REQUIRED_MAJOR} for packages that need it`)
    // In a global install (`npm install -g counterweight-*.tgz`) the outer npm's global settings
    // would make this one install the package again inside itself: this one completes the package's
    // own folder, the current directory, as a project.
    const env = { ...process.env, CW_INSTALL_UNDER_NODE22: '1' }
    for (const key of ['npm_config_global', 'npm_config_location', 'npm_config_prefix']) delete env[key]
    const result = spawnSync(pinned, [npmCli, 'install', '--no-audit', '--no-fund', '--ignore-scripts', '--location=project', '--no-save'], {
      stdio: 'inherit',
      env,
    })
    process.exitCode = result.status ?? 1
  }
}
