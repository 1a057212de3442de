// The systemd service notification protocol (sd_notify(3)), written out: one datagram per
// message to the AF_UNIX socket named by $NOTIFY_SOCKET ("READY=1", "STOPPING=1",
// "WATCHDOG=1", "STATUS=..."). Without $NOTIFY_SOCKET (not under systemd, or Type= other than
// notify) every call does nothing and says false. Debian's libsystemd would do the same; these
// forty lines do not need it.
//
// Threads: any (each call opens, sends and closes its own socket; never blocks).
#pragma once

#include <cstdint>
#include <string_view>

namespace em::io {

/// Sends `state` (newline-separated assignments) to the service manager; false when there is
/// no $NOTIFY_SOCKET or the send failed.
bool notify_service_manager(std::string_view state);

/// The watchdog period systemd expects pings within ($WATCHDOG_USEC, when $WATCHDOG_PID is
/// unset or ours); 0 when no watchdog is set.
uint64_t watchdog_period_us();

}  // namespace em::io
