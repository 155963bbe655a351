export { freePort } from '../../src/bench/ports.js'
