// `enginemux validator ...`: the validator guard as a subcommand.
//   enginemux validator --config FILE [--log-level L]     run the guard (its own io_uring loop)
//   enginemux validator status  [--config FILE | --control HOST:PORT]
//   enginemux validator promote [--force] [--config FILE | --control HOST:PORT]
//   enginemux validator demote  [--config FILE | --control HOST:PORT]
// status/promote/demote talk to the running guard's loopback control endpoint.
//
// Called from main() on the main thread; argv[0] is "validator". Exit codes: 0 ok, 1 failure
// (guard error, endpoint unreachable or refused), 2 usage or configuration error.
#pragma once

namespace em::validator {

int validator_main(int argc, char** argv);

}  // namespace em::validator
