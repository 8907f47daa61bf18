// The committed wire codec is what protons makes of messages.proto today.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { GENERATED_FILE, render } from '../../scripts/gen-proto.js'

t.equal(readFileSync(GENERATED_FILE, 'utf8'), render(), 'protocols/wire/proto/messages.ts is fresh (run `npm run proto`)')
