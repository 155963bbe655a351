/** Cut text to `max` characters, marking the cut so nobody mistakes it for the whole. */
export function clip (text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
