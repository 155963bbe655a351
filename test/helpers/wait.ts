export { waitFor } from '../../src/bench/wait.js'
