// A fake CometBFT node for the guard's integration tests. It serves /status and /net_info in the
// shapes of rpc/core/types (as in ../shared/testdata/cometbft) for a chain whose height follows
// the wall clock (height = (now - genesis) / block time, the same on every host), and with
// --sign it behaves like a validator using FilePV: it loads priv_validator_state.json at start
// (exits if it is missing), never signs at or below that height/round/step, saves the new state
// (temp file + fsync + rename, as CometBFT does) before "signing", and appends every signature
// to a shared sign log: "<name> <height> <round> <step> <pid> <wall ms>".
//
// Faults, read from <home>/fault each tick: "stall" (height stops, no signing), "catching_up",
// "no_peers", "hang" (RPC requests are never answered). Writes <home>/<role>.pid: "<pid> <wall ms
// at start>".
//
// usage: fake_cometbft --rpc HOST:PORT --home DIR --name NAME --genesis-ms MS --block-ms MS
//                      --pub-key B64 [--sign --sign-log FILE] [--role validator|follower]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "base/clock.h"
#include "io/loop.h"
#include "io/socket.h"
#include "net/server.h"
#include "validator/json.h"
#include "validator/sign_state.h"

namespace {

using namespace em;
using namespace em::validator;

struct Options {
    std::string rpc, home, name, pub_key, sign_log, role = "validator";
    int64_t genesis_ms = 0;
    int64_t block_ms = 200;
    bool sign = false;
};

std::string read_small(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string rfc3339(int64_t ms) {
    time_t s = static_cast<time_t>(ms / 1000);
    tm t;
    gmtime_r(&s, &t);
    char out[64];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03lld000000Z", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                  static_cast<long long>(ms % 1000));
    return out;
}

class Fake : public http::Handler {
  public:
    explicit Fake(const Options& o) : o_(o) {}

    bool load_state() {
        std::string text = read_small(o_.home + "/priv_validator_state.json");
        JsonParser parser(65536);
        auto state = parse_sign_state(text, parser);
        if (!state) {
            std::fprintf(stderr, "fake_cometbft %s: cannot load priv_validator_state.json: %s\n",
                         o_.name.c_str(), text.empty() ? "missing" : state.error().c_str());
            return false;
        }
        last_ = state->hrs;
        return true;
    }

    void tick() {
        std::string fault = read_small(o_.home + "/fault");
        stalled_ = fault.find("stall") != std::string::npos;
        catching_up_ = fault.find("catching_up") != std::string::npos;
        no_peers_ = fault.find("no_peers") != std::string::npos;
        hang_ = fault.find("hang") != std::string::npos;
        int64_t h = (static_cast<int64_t>(wall_ns() / 1'000'000) - o_.genesis_ms) / o_.block_ms;
        if (!stalled_) height_ = h;
        if (!o_.sign || stalled_ || catching_up_) return;
        sign(Hrs{height_ + 1, 0, 2});
        sign(Hrs{height_ + 1, 0, 3});
    }

    void on_request(http::ServerConn& conn, const http::Request& r) override {
        if (hang_) return;  // never answered: the guard's deadline must fire
        std::string target(r.target);
        if (target == "/status") {
            conn.respond(200, "application/json", status_json());
        } else if (target == "/net_info") {
            std::string body =
                "{\"jsonrpc\":\"2.0\",\"id\":-1,\"result\":{\"listening\":true,"
                "\"listeners\":[\"Listener(@)\"],\"n_peers\":\"" +
                std::string(no_peers_ ? "0" : "3") + "\",\"peers\":[]}}";
            conn.respond(200, "application/json", body);
        } else {
            conn.respond(404, "application/json", "{\"error\":\"not found\"}");
        }
    }

  private:
    std::string status_json() const {
        int64_t time_ms = o_.genesis_ms + height_ * o_.block_ms;
        return "{\"jsonrpc\":\"2.0\",\"id\":-1,\"result\":{\"node_info\":{\"protocol_version\":"
               "{\"p2p\":\"8\",\"block\":\"11\",\"app\":\"0\"},\"id\":\"fake\",\"listen_addr\":"
               "\"tcp://0.0.0.0:26656\",\"network\":\"test-chain\",\"version\":\"v0.38.25\","
               "\"channels\":\"40202122233038606100\",\"moniker\":\"" +
               o_.name +
               "\",\"other\":{\"tx_index\":\"on\",\"rpc_address\":\"tcp://0.0.0.0:26657\"}},"
               "\"sync_info\":{\"latest_block_hash\":\"AB\",\"latest_app_hash\":\"CD\","
               "\"latest_block_height\":\"" +
               std::to_string(height_) + "\",\"latest_block_time\":\"" + rfc3339(time_ms) +
               "\",\"earliest_block_height\":\"1\",\"catching_up\":" +
               (catching_up_ ? "true" : "false") +
               "},\"validator_info\":{\"address\":\"38FB765D0092470989360ECA1C89CD06C2C1583C\","
               "\"pub_key\":{\"type\":\"tendermint/PubKeyEd25519\",\"value\":\"" +
               o_.pub_key + "\"},\"voting_power\":\"" + (o_.sign ? "10" : "0") + "\"}}}";
    }

    void sign(Hrs hrs) {
        if (hrs <= last_) return;  // FilePV refuses
        SignState s(hrs);
        char sig[89];
        std::snprintf(sig, sizeof sig, "%-86.86s==", o_.name.c_str());
        for (char* p = sig; p < sig + 86; p++) {
            if (*p == ' ' || *p == '-') *p = 'A';
        }
        (void)s.set_signature(std::string_view(sig, 88));
        char bytes[64];
        int n = std::snprintf(bytes, sizeof bytes, "%016llX%08X%02X",
                              static_cast<unsigned long long>(hrs.height), hrs.round, hrs.step);
        (void)s.set_signbytes(std::string_view(bytes, static_cast<size_t>(n)));
        ByteBuffer out(65536, 1024);
        write_sign_state(s, out);
        std::string tmp = o_.home + "/write-file-atomic-" + std::to_string(getpid());
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size()) ||
            ::fsync(fd) != 0 || ::close(fd) != 0 ||
            ::rename(tmp.c_str(), (o_.home + "/priv_validator_state.json").c_str()) != 0) {
            std::fprintf(stderr, "fake_cometbft %s: cannot save state, exiting\n", o_.name.c_str());
            std::exit(4);  // CometBFT panics
        }
        last_ = hrs;
        char line[160];
        int len = std::snprintf(line, sizeof line, "%s %lld %d %d %d %llu\n", o_.name.c_str(),
                                static_cast<long long>(hrs.height), hrs.round, hrs.step, getpid(),
                                static_cast<unsigned long long>(wall_ns() / 1'000'000));
        int log = ::open(o_.sign_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log >= 0) {
            ssize_t ignored = ::write(log, line, static_cast<size_t>(len));
            (void)ignored;
            ::close(log);
        }
    }

    Options o_;
    Hrs last_;
    int64_t height_ = 0;
    bool stalled_ = false, catching_up_ = false, no_peers_ = false, hang_ = false;
};

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--rpc")
            o.rpc = next();
        else if (a == "--home")
            o.home = next();
        else if (a == "--name")
            o.name = next();
        else if (a == "--pub-key")
            o.pub_key = next();
        else if (a == "--sign-log")
            o.sign_log = next();
        else if (a == "--role")
            o.role = next();
        else if (a == "--genesis-ms")
            o.genesis_ms = std::atoll(next().c_str());
        else if (a == "--block-ms")
            o.block_ms = std::atoll(next().c_str());
        else if (a == "--sign")
            o.sign = true;
        else
            return false;
    }
    return !o.rpc.empty() && !o.home.empty() && !o.name.empty() && o.block_ms > 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: fake_cometbft --rpc HOST:PORT --home DIR --name NAME ...\n");
        return 2;
    }
    Fake fake(o);
    if (o.sign && !fake.load_state()) return 3;
    std::string pid = std::to_string(getpid()) + " " + std::to_string(wall_ns() / 1'000'000) + "\n";
    std::string pid_path = o.home + "/" + o.role + ".pid";
    int fd = ::open(pid_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t ignored = ::write(fd, pid.data(), pid.size());
        (void)ignored;
        ::close(fd);
    }
    io::LoopConfig lc;
    lc.name = "fake";
    lc.buffer_count = 64;
    auto loop = io::Loop::create(lc);
    auto address = io::resolve(o.rpc);
    if (!loop || !address) return 1;
    http::Server server;
    http::ServerConfig sc;
    sc.connections_max = 16;
    // The previous process on this port may still be closing: retry the bind briefly.
    for (int attempt = 0;; attempt++) {
        auto listening = server.listen(**loop, *address, fake, sc);
        if (listening) break;
        if (attempt == 100) {
            std::fprintf(stderr, "fake_cometbft: %s\n", listening.error().c_str());
            return 1;
        }
        usleep(20'000);
    }
    fake.tick();
    io::Timer timer;
    struct Ctx {
        io::Loop* loop;
        Fake* fake;
    } ctx{loop->get(), &fake};
    timer.owner = &ctx;
    timer.fn = [](io::Timer* t) {
        auto* c = static_cast<Ctx*>(t->owner);
        c->fake->tick();
        c->loop->timer_start(t, c->loop->now_ns() + 20'000'000);
    };
    (*loop)->timer_start(&timer, (*loop)->now_ns() + 20'000'000);
    (*loop)->run();
    return 0;
}
