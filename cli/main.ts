// The `cw` command: argument parsing and output only; the work is done in the other folders.
import { main } from './program.js'

process.exitCode = await main(process.argv.slice(2))
