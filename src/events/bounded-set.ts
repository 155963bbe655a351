/**
 * A Set that forgets its oldest keys beyond `max`: what this process knows it
 * has already stored, so a repeated write of the same thing can be skipped
 * (forgetting only costs the write it would have saved).
 */
export class BoundedSet {
  readonly #keys = new Set<string>()
  readonly #max: number

  constructor (max = 10_000) { this.#max = max }

  has (key: string): boolean { return this.#keys.has(key) }

  add (key: string): void {
    if (this.#keys.has(key)) return
    if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.values().next().value as string)
    this.#keys.add(key)
  }

  delete (key: string): void { this.#keys.delete(key) }

  clear (): void { this.#keys.clear() }

  get size (): number { return this.#keys.size }
}
