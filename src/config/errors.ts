/** A config problem: names the field and says how to fix it. Exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor (readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`)
  }
}
