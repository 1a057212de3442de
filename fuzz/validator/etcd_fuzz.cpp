// Fuzzes EtcdLease's handling of etcd answers: the input is split into an HTTP status byte and a
// body and fed as the answer to each request the back-end makes in turn (status keys, polls,
// lease grants, transactions). No crash, and the lease is never held without an epoch.
#include <cstdint>
#include <string_view>

#include "../fuzz_check.h"
#include "validator/etcd_lease.h"

namespace {

using namespace em::validator;

struct Stub final : GuardClock, LeaseHost, EtcdLink {
    uint64_t mono = 1'000'000'000;
    bool posted = false;
    uint64_t mono_ns() override { return mono; }
    int64_t wall_ns() override { return 1'700'000'000'000'000'000; }
    uint64_t random_u64() override { return 1; }
    void on_lease_acquired() override {}
    void on_lease_refused(const em::Error&) override {}
    void on_holder_state(const SignState&) override {}
    void on_conflict(const em::Error&) override {}
    PeerStatus local_status() const override {
        PeerStatus s;
        s.role = Role::passive;
        s.fenced = s.healthy = s.eligible = true;
        return s;
    }
    void post(std::string_view, std::string_view, uint64_t) override { posted = true; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Stub stub;
    EtcdLeaseConfig config;
    config.self_name = "host-a";
    config.prefix = "/fuzz";
    config.acquire_defer_ms = 0;
    EtcdLease lease(config, stub, stub, stub);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // Answers are separated by 0xff; the first byte of each picks 200 or an error status.
    for (int round = 0; round < 12 && !input.empty(); round++) {
        size_t cut = input.find('\xff');
        std::string_view answer = input.substr(0, cut);
        input = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
        stub.posted = false;
        stub.mono += 3'000'000'000ull;
        lease.tick();
        if (!stub.posted && lease.may_acquire()) lease.acquire();
        if (!stub.posted) continue;
        int status = !answer.empty() && (answer[0] & 1) ? 404 : 200;
        lease.on_response(status, answer.empty() ? answer : answer.substr(1), nullptr);
        FUZZ_CHECK(!lease.held() || lease.epoch() > 0);
    }
    return 0;
}
