// Scenario "rpc": the passthrough scenario (passthrough.mjs: every request sent through
// enginemux and straight to anvil, the bodies byte-identical; writes replayed on a snapshot)
// through the rpc role's listener (`--role rpc`): no JWT from the client, every method allowed
// (`[rpc] allow_methods = ["*"]`), the answer cache on, routing by the node's probed head.
process.env.EM_PASSTHROUGH_LISTENER = 'rpc';
await import('./passthrough.mjs');
