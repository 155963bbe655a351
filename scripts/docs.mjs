#!/usr/bin/env node
// `npm run docs`: regenerate the generated parts of docs/ from the sources
// (after `npm run build`): the settings table of docs/reference.md, from the
// config schema. A test fails while the committed file differs.
import { readFile, writeFile } from 'node:fs/promises'
import { REFERENCE_FILE, withSettingsTable } from '../dist/config/reference.js'

const before = await readFile(REFERENCE_FILE, 'utf8')
const after = withSettingsTable(before)
if (after === before) {
  console.log(`${REFERENCE_FILE} is up to date`)
} else {
  await writeFile(REFERENCE_FILE, after)
  console.log(`${REFERENCE_FILE} updated`)
}
