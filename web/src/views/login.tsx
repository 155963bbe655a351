/** Shown instead of everything else when the node asks for its API token. */
import { useState } from 'preact/hooks'

export function Login ({ refused, onToken }: { refused: boolean, onToken: (token: string) => void }) {
  const [token, setToken] = useState('')
  return (
    <form id="login" onSubmit={e => { e.preventDefault(); if (token.trim() !== '') onToken(token.trim()) }}>
      <h1>meshmon</h1>
      <p>This node asks for its API token (<code>api.token</code> in its config).</p>
      {refused ? <p class="warn" role="alert">That token was refused.</p> : null}
      <label for="token">API token</label>
      <input id="token" type="password" autoComplete="off" autoFocus value={token} onInput={e => { setToken(e.currentTarget.value) }} />
      <button type="submit">Open</button>
      <p><small>Kept in this tab only (session storage) and sent as <code>Authorization: Bearer</code>.</small></p>
    </form>
  )
}
