import { readFileSync } from 'node:fs'

/** src/ and dist/ both sit one level below the package root. */
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version
export const AGENT = `meshmon/${VERSION}`
