// enginemux-load without sockets: flags, target URLs, mix files (@file forms, ranges, .io and
// "request"-member files), id slots, HTTP request writing (checked with the HTTP and JSON-RPC
// parsers), answer classification, statistics merging and the reports.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "base/clock.h"
#include "exchange.h"
#include "http/jwt.h"
#include "http/parser.h"
#include "jsonrpc/json_text.h"
#include "jsonrpc/request.h"
#include "mix.h"
#include "options.h"
#include "report.h"
#include "stats.h"

namespace em::load {
namespace {

Result<Options> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "enginemux-load");
    return parse_options(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char*> args) {
    auto r = parse(std::move(args));
    EXPECT_FALSE(r.has_value());
    return r ? "" : std::string(r.error().message());
}

TEST(LoadOptions, DefaultsAndEveryFlag) {
    auto d = parse({"--target", "http://127.0.0.1:8545", "--method", "eth_blockNumber"});
    ASSERT_TRUE(d) << d.error().c_str();
    EXPECT_FALSE(d->open_loop());
    EXPECT_EQ(d->connections, OptionDefaults::connections);
    EXPECT_EQ(d->duration_ms, 10'000u);
    EXPECT_EQ(d->warmup_ms, 2'000u);
    EXPECT_EQ(d->params, "[]");

    auto o = parse({"--target=http://h:1/x",
                    "--rate",
                    "2500/s",
                    "--connections",
                    "8",
                    "--duration",
                    "1.5s",
                    "--warmup=250ms",
                    "--threads",
                    "2",
                    "--mix",
                    "m.txt",
                    "--batch",
                    "4",
                    "--timeout",
                    "300",
                    "--jwt-secret",
                    "s.hex",
                    "--jwt-cache",
                    "0",
                    "--seed",
                    "9",
                    "--json",
                    "--quiet",
                    "--no-pin",
                    "--latency-csv",
                    "l.csv"});
    ASSERT_TRUE(o) << o.error().c_str();
    EXPECT_EQ(o->target, "http://h:1/x");
    EXPECT_DOUBLE_EQ(o->rate_rps, 2500.0);
    EXPECT_TRUE(o->open_loop());
    EXPECT_EQ(o->connections, 8u);
    EXPECT_EQ(o->duration_ms, 1500u);
    EXPECT_EQ(o->warmup_ms, 250u);
    EXPECT_EQ(o->threads, 2u);
    EXPECT_EQ(o->mix_path, "m.txt");
    EXPECT_EQ(o->batch, 4u);
    EXPECT_EQ(o->timeout_ms, 300u);
    EXPECT_EQ(o->jwt_secret_path, "s.hex");
    EXPECT_EQ(o->jwt_cache_s, 0);
    EXPECT_EQ(o->seed, 9u);
    EXPECT_TRUE(o->json && o->quiet && !o->pin);
    EXPECT_EQ(o->latency_csv_path, "l.csv");
}

TEST(LoadOptions, ErrorsNameTheFlag) {
    const char* t = "--target";
    const char* u = "http://127.0.0.1:1";
    EXPECT_NE(error_of({t, u, "--method", "m", "--frobnicate"}).find("unknown flag --frobnicate"),
              std::string::npos);
    EXPECT_NE(error_of({t, u, "--method", "m", "--frob=1"}).find("unknown flag --frob"),
              std::string::npos);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--rate", "0"}).rfind("--rate:", 0), 0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--rate", "-5"}).rfind("--rate:", 0), 0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--connections", "0"}).rfind("--connections:", 0),
              0u);
    EXPECT_EQ(
        error_of({t, u, "--method", "m", "--connections", "10001"}).rfind("--connections:", 0), 0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--batch", "1025"}).rfind("--batch:", 0), 0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--timeout", "1e3"}).rfind("--timeout:", 0), 0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--duration", "0s"}).rfind("--duration:", 0), 0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--warmup"}).rfind("--warmup: needs a value", 0),
              0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--threads", "3", "--connections", "2"})
                  .rfind("--threads:", 0),
              0u);
    EXPECT_EQ(error_of({t, u, "--method", "m", "--mix", "f"}).rfind("--mix:", 0), 0u);
    EXPECT_EQ(error_of({t, u}).rfind("--method:", 0), 0u);
    EXPECT_EQ(error_of({"--method", "m"}).rfind("--target:", 0), 0u);
    EXPECT_NE(error_of({t, u, "--method", "m", "stray"}).find("stray"), std::string::npos);
}

TEST(LoadOptions, Durations) {
    EXPECT_EQ(*parse_duration_ms("10s"), 10'000u);
    EXPECT_EQ(*parse_duration_ms("500ms"), 500u);
    EXPECT_EQ(*parse_duration_ms("2m"), 120'000u);
    EXPECT_EQ(*parse_duration_ms("1h"), 3'600'000u);
    EXPECT_EQ(*parse_duration_ms("1.5"), 1'500u);
    EXPECT_EQ(*parse_duration_ms("0"), 0u);
    EXPECT_FALSE(parse_duration_ms("soon"));
    EXPECT_FALSE(parse_duration_ms(""));
    EXPECT_FALSE(parse_duration_ms("s"));
    EXPECT_FALSE(parse_duration_ms("25h"));
    EXPECT_FALSE(parse_duration_ms("-1s"));
}

TEST(LoadOptions, TargetUrls) {
    auto a = parse_target_url("http://127.0.0.1:8545");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8545);
    EXPECT_EQ(a->path, "/");
    EXPECT_EQ(a->host_header, "127.0.0.1:8545");
    auto b = parse_target_url("http://[::1]:8551/engine/v1?x=1");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    EXPECT_EQ(b->port, 8551);
    EXPECT_EQ(b->path, "/engine/v1?x=1");
    EXPECT_EQ(b->host_header, "[::1]:8551");
    auto c = parse_target_url("http://node.local");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->port, 80);
    for (const char* bad :
         {"https://127.0.0.1:1", "127.0.0.1:8545", "http://", "http://:80", "http://h:0",
          "http://h:70000", "http://h:x", "http://[::1", "http://u@h:1", "http://h:"}) {
        auto r = parse_target_url(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().message().rfind("--target:", 0), 0u) << r.error().c_str();
        }
    }
}

TEST(LoadMix, PatchIdWritesRightAlignedDigits) {
    char slot[id_slot_bytes + 1] = {};
    patch_id(slot, 123);
    EXPECT_EQ(std::string(slot), std::string(id_slot_bytes - 3, ' ') + "123");
    patch_id(slot, 0);
    EXPECT_EQ(std::string(slot), std::string(id_slot_bytes - 1, ' ') + "0");
    patch_id(slot, (uint64_t{1} << 53));
    EXPECT_EQ(std::string(slot), "9007199254740992");
}

TEST(LoadMix, MinifyKeepsStrings) {
    EXPECT_EQ(minify_json(" { \"a b\" : [ 1 , \"x\\\" y\" ] ,\n\t\"c\":null } "),
              "{\"a b\":[1,\"x\\\" y\"],\"c\":null}");
}

/// The kind's body with `id` in its slot, parsed as a request.
struct Parsed {
    std::string method, id, params;
    bool ok = false;
};
Parsed parse_kind(const Kind& k, uint64_t id) {
    std::string body = k.body + std::string(64, ' ');
    patch_id(body.data() + k.id_offset, id);
    jsonrpc::RequestParser parser(1, 64u << 20);
    auto e = parser.parse(body.data(), k.body.size(), body.size());
    Parsed p;
    if (!e || e->batch || !e->entries[0].ok) return p;
    const jsonrpc::Request& r = e->entries[0].request;
    p.ok = true;
    p.method = std::string(r.method);
    p.id = std::string(jsonrpc::trim_json_space(r.id));
    p.params = std::string(r.params);
    return p;
}

TEST(LoadMix, MakeKindReplacesOrInsertsTheId) {
    auto k = make_kind(
        "{ \"jsonrpc\": \"2.0\", \"id\": \"np0\", \"method\": \"engine_x\", \"params\": [ {\"a\": "
        "1} ] }",
        2, "t");
    ASSERT_TRUE(k) << k.error().c_str();
    EXPECT_EQ(k->name, "engine_x");
    EXPECT_EQ(k->weight, 2);
    EXPECT_EQ(k->body.find("np0"), std::string::npos);
    EXPECT_EQ(k->body.find('\n'), std::string::npos);
    Parsed p = parse_kind(*k, 77);
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.id, "77");
    EXPECT_EQ(p.params, "[{\"a\":1}]");
    auto n = make_kind(R"({"jsonrpc":"2.0","method":"note","params":[]})", 1, "t");  // notification
    ASSERT_TRUE(n);
    EXPECT_EQ(parse_kind(*n, 5).id, "5");
    auto bad = make_kind(R"({"jsonrpc":"2.0","id":1})", 1, "mix.txt:4");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message().rfind("mix.txt:4: not a JSON-RPC request", 0), 0u)
        << bad.error().c_str();
    EXPECT_FALSE(make_kind(R"([{"jsonrpc":"2.0","id":1,"method":"a"}])", 1, "t"));
    EXPECT_FALSE(make_kind("{", 1, "t"));
}

class TempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/em_load_unit_XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        for (const std::string& f : files_) unlink(f.c_str());
        rmdir(dir_.c_str());
    }
    std::string write(const std::string& name, const std::string& content) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path, std::ios::binary) << content;
        files_.push_back(path);
        return path;
    }
    std::string dir_;
    std::vector<std::string> files_;
};

using LoadMixFile = TempDir;

TEST_F(LoadMixFile, MethodLinesWeightsAndComments) {
    auto mix = Mix::from_text(
        "# comment\n\n 3 eth_blockNumber\n1 eth_getBalance [\"0x01\", \"latest\"]\n", dir_, "m");
    ASSERT_TRUE(mix) << mix.error().c_str();
    ASSERT_EQ(mix->kinds().size(), 2u);
    EXPECT_EQ(mix->kinds()[0].name, "eth_blockNumber");
    EXPECT_EQ(parse_kind(mix->kinds()[1], 1).params, "[\"0x01\",\"latest\"]");
    EXPECT_EQ(mix->pick(0.0), 0u);
    EXPECT_EQ(mix->pick(0.74), 0u);
    EXPECT_EQ(mix->pick(0.76), 1u);
    EXPECT_EQ(mix->pick(0.999999), 1u);
}

TEST_F(LoadMixFile, KindsShareTheirMethodsSlot) {
    auto mix = Mix::from_text(
        "3 eth_blockNumber\n1 engine_newPayloadV4 [{}]\n2 eth_blockNumber\n"
        "1 engine_forkchoiceUpdatedV3 [{}, null]\n",
        dir_, "m");
    ASSERT_TRUE(mix) << mix.error().c_str();
    ASSERT_EQ(mix->methods(), (std::vector<std::string>{"eth_blockNumber", "engine_newPayloadV4",
                                                        "engine_forkchoiceUpdatedV3"}));
    EXPECT_EQ(mix->kinds()[0].method, 0u);
    EXPECT_EQ(mix->kinds()[1].method, 1u);
    EXPECT_EQ(mix->kinds()[2].method, 0u);
    EXPECT_EQ(mix->kinds()[3].method, 2u);
    EXPECT_FALSE(mix->kinds()[0].payload_status);
    EXPECT_TRUE(mix->kinds()[1].payload_status);
    EXPECT_TRUE(mix->kinds()[3].payload_status);
    // Past MixLimits::methods_max, further methods share the last slot.
    std::string many;
    for (size_t i = 0; i < MixLimits::methods_max + 5; i++)
        many += "1 m" + std::to_string(i) + "\n";
    auto big = Mix::from_text(many, dir_, "m");
    ASSERT_TRUE(big) << big.error().c_str();
    ASSERT_EQ(big->methods().size(), MixLimits::methods_max);
    EXPECT_EQ(big->methods().back(), "(other methods)");
    EXPECT_EQ(big->kinds()[MixLimits::methods_max - 2].method, MixLimits::methods_max - 2);
    EXPECT_EQ(big->kinds()[MixLimits::methods_max - 1].method, MixLimits::methods_max - 1);
    EXPECT_EQ(big->kinds().back().method, MixLimits::methods_max - 1);
}

TEST_F(LoadMixFile, ErrorsNameFileAndLine) {
    struct Case {
        const char* text;
        const char* starts;
    };
    for (Case c : {Case{"1 a\nx eth_x\n", "m:2: 'x' is not a positive weight"},
                   Case{"0 eth_x\n", "m:1: '0' is not a positive weight"},
                   Case{"1\n", "m:1: a method or @file must follow"},
                   Case{"1 eth_x 7\n", "m:1: --params: must be a JSON array"},
                   Case{"1 eth_x [1,\n", "m:1: --method/--params: not a JSON-RPC request"},
                   Case{"1 @missing.json\n", "m:1: "},
                   Case{"1 @x.json#a\n", "m:1: '#a' is not an element index"},
                   Case{"# nothing\n", "m: no request kinds"}}) {
        auto mix = Mix::from_text(c.text, dir_, "m");
        ASSERT_FALSE(mix) << c.text;
        EXPECT_EQ(mix.error().message().rfind(c.starts, 0), 0u) << mix.error().c_str();
    }
}

TEST_F(LoadMixFile, AtFileForms) {
    write("arr.json", R"([{"jsonrpc":"2.0","id":"a","method":"m0","params":[0]},
                         {"jsonrpc":"2.0","id":"b","method":"m1","params":[1]},
                         {"jsonrpc":"2.0","id":"c","method":"m2","params":[2]}])");
    write("besu.json", R"({"request":{"jsonrpc":"2.0","method":"engine_fcu","params":[],"id":67},
                           "response":{"jsonrpc":"2.0","id":67,"result":null},"statusCode":200})");
    write("one.json", R"( {"jsonrpc":"2.0","id":3,"method":"single","params":{}} )");
    write("case.io",
          "// a test\n>> {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_io\",\"params\":[]}\n"
          "<< {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x4\"}\n");
    auto mix = Mix::from_text(
        "2 @arr.json#1\n3 @arr.json#0-2\n1 @besu.json\n1 @one.json\n1 @case.io\n", dir_, "m");
    ASSERT_TRUE(mix) << mix.error().c_str();
    const auto& k = mix->kinds();
    ASSERT_EQ(k.size(), 7u);
    EXPECT_EQ(k[0].name, "m1");
    EXPECT_EQ(k[0].weight, 2);
    EXPECT_EQ(k[1].name, "m0");
    EXPECT_EQ(k[3].name, "m2");
    EXPECT_DOUBLE_EQ(k[1].weight, 1.0);  // a range shares its line's weight
    EXPECT_EQ(parse_kind(k[3], 9).params, "[2]");
    EXPECT_EQ(k[4].name, "engine_fcu");
    EXPECT_EQ(k[5].name, "single");
    EXPECT_EQ(k[6].name, "eth_io");
    auto out_of_range = Mix::from_text("1 @arr.json#3\n", dir_, "m");
    ASSERT_FALSE(out_of_range);
    EXPECT_NE(out_of_range.error().message().find("has 3 requests, no element 3"),
              std::string::npos)
        << out_of_range.error().c_str();
    write("bad.json", R"([{"jsonrpc":"2.0","id":1,"method":"ok"}, 5])");
    auto bad = Mix::from_text("1 @bad.json\n", dir_, "m");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("element 1 is not a JSON object"), std::string::npos)
        << bad.error().c_str();
}

TEST(LoadMixTestdata, NewPayloadElementKeepsItsParams) {
    const char* dir = std::getenv("EM_TESTDATA");
    std::string file = std::string(dir ? dir : "") + "/engine/geth-ethtest/newpayload.json";
    if (!dir || access(file.c_str(), R_OK) != 0) GTEST_SKIP() << "no test data at " << file;
    auto mix = Mix::from_text("1 @" + file + "#12\n", "/", "m");
    ASSERT_TRUE(mix) << mix.error().c_str();
    ASSERT_EQ(mix->kinds().size(), 1u);
    // Oracle: simdjson's DOM minifier over element 12 of the original file.
    simdjson::dom::parser dom;
    simdjson::dom::element root;
    ASSERT_FALSE(dom.load(file).get(root));
    simdjson::dom::element element = root.at(12).value_unsafe();
    std::string params = simdjson::minify(element["params"].value_unsafe());
    std::string_view method = element["method"].get_string().value_unsafe();
    Parsed p = parse_kind(mix->kinds()[0], 4242);
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.method, method);
    EXPECT_EQ(p.id, "4242");
    EXPECT_EQ(p.params, params);
}

http::JwtSecret test_secret() {
    http::JwtSecret s;
    for (size_t i = 0; i < s.key.size(); i++) s.key[i] = static_cast<uint8_t>(i + 1);
    return s;
}

struct WrittenRequest {
    std::string head_host, target, authorization, body;
    bool complete = false;
};
WrittenRequest parse_http(ByteBuffer& out) {
    std::string wire(out.view());
    http::RequestParser parser{http::Limits{}};
    WrittenRequest w;
    w.complete = parser.parse(wire.data(), wire.size()) == http::ParseStatus::complete &&
                 parser.consumed() == wire.size();
    if (!w.complete) return w;
    const http::Request& r = parser.request();
    EXPECT_EQ(r.method, http::Method::post);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_TRUE(r.keep_alive);
    w.head_host = std::string(r.host);
    w.target = std::string(r.target);
    w.authorization = std::string(r.authorization);
    w.body = std::string(r.body);
    return w;
}

TEST(LoadExchange, WritesSingleAndBatchRequests) {
    auto mix = Mix::from_method("eth_blockNumber", "[]");
    ASSERT_TRUE(mix);
    RequestWriter single(*mix, "127.0.0.1:8545", "/rpc", nullptr, 5, 1, 1);
    ByteBuffer out;
    ASSERT_TRUE(single.write(out, 41, 0, true));
    WrittenRequest w = parse_http(out);
    ASSERT_TRUE(w.complete) << out.view();
    EXPECT_EQ(w.head_host, "127.0.0.1:8545");
    EXPECT_EQ(w.target, "/rpc");
    EXPECT_EQ(w.authorization, "");
    std::string padded = w.body + std::string(64, ' ');
    jsonrpc::RequestParser rp(16, 1 << 20);
    auto e = rp.parse(padded.data(), w.body.size(), padded.size());
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->batch);
    EXPECT_EQ(jsonrpc::trim_json_space(e->entries[0].request.id), "41");
    EXPECT_EQ(single.kind_calls()[0], 1u);

    RequestWriter batch(*mix, "h:1", "/", nullptr, 5, 3, 1);
    out.clear();
    ASSERT_TRUE(batch.write(out, 100, 0, false));
    w = parse_http(out);
    ASSERT_TRUE(w.complete);
    padded = w.body + std::string(64, ' ');
    e = rp.parse(padded.data(), w.body.size(), padded.size());
    ASSERT_TRUE(e);
    ASSERT_TRUE(e->batch);
    ASSERT_EQ(e->entries.size(), 3u);
    for (size_t i = 0; i < 3; i++)
        EXPECT_EQ(jsonrpc::trim_json_space(e->entries[i].request.id), std::to_string(100 + i));
    EXPECT_EQ(batch.kind_calls()[0], 0u);  // not counted
    EXPECT_LE(out.size(), batch.request_bytes_max());
}

TEST(LoadExchange, SignsWithAValidJwt) {
    auto mix = Mix::from_method("engine_exchangeCapabilities", "[[]]");
    ASSERT_TRUE(mix);
    http::JwtSecret secret = test_secret();
    RequestWriter writer(*mix, "h:1", "/", &secret, 0, 1, 1);
    ByteBuffer out;
    int64_t now = wall_s();
    ASSERT_TRUE(writer.write(out, 1, now, true));
    WrittenRequest w = parse_http(out);
    ASSERT_TRUE(w.complete);
    http::JwtVerifier verifier(secret, false);
    EXPECT_TRUE(verifier.verify_authorization(w.authorization, now)) << w.authorization;
    http::JwtSecret other = test_secret();
    other.key[0] ^= 1;
    http::JwtVerifier wrong(other, false);
    EXPECT_FALSE(wrong.verify_authorization(w.authorization, now));
}

TEST(LoadExchange, MixPicksFollowWeights) {
    auto mix = Mix::from_text("3 a\n1 b\n", ".", "m");
    ASSERT_TRUE(mix);
    RequestWriter writer(*mix, "h:1", "/", nullptr, 5, 1, 7);
    ByteBuffer out;
    for (int i = 0; i < 4000; i++) {
        out.clear();
        ASSERT_TRUE(writer.write(out, static_cast<uint64_t>(i), 0, true));
    }
    EXPECT_NEAR(static_cast<double>(writer.kind_calls()[0]) / 4000.0, 0.75, 0.04);
    EXPECT_EQ(writer.kind_calls()[0] + writer.kind_calls()[1], 4000u);
}

/// Classifies an HTTP answer whose body sits in a ByteBuffer (with its padding), as ClientConn's
/// does.
Outcome classify_body(Classifier& c, int status, std::string_view body, uint64_t first_id,
                      RunStats& s) {
    ByteBuffer buf;
    buf.append(body);
    http::Response r;
    r.status = status;
    r.body = buf.view();
    return c.classify(&r, nullptr, first_id, s);
}

TEST(LoadExchange, ClassifiesSingleAnswers) {
    Classifier c(1, 1 << 20);
    RunStats s;
    EXPECT_EQ(classify_body(c, 200, R"({"jsonrpc":"2.0","id":7,"result":"0x1"})", 7, s),
              Outcome::ok);
    EXPECT_EQ(classify_body(c, 200, R"({"jsonrpc":"2.0","id":8,"result":"0x1"})", 7, s),
              Outcome::malformed);
    EXPECT_EQ(classify_body(c, 200, R"({"jsonrpc":"2.0","id":"7","result":"0x1"})", 7, s),
              Outcome::malformed);
    EXPECT_EQ(classify_body(c, 200, "not json", 7, s), Outcome::malformed);
    EXPECT_EQ(classify_body(c, 200, R"([{"jsonrpc":"2.0","id":7,"result":1}])", 7, s),
              Outcome::malformed);
    EXPECT_EQ(
        classify_body(c, 200, R"({"jsonrpc":"2.0","id":7,"error":{"code":-38001,"message":"x"}})",
                      7, s),
        Outcome::jsonrpc_error);
    EXPECT_EQ(classify_body(c, 503, "busy", 7, s), Outcome::http_error);
    ASSERT_EQ(s.code_count(), 1u);
    EXPECT_EQ(s.code(0).code, -38001);
    EXPECT_EQ(s.http_status(503), 1u);
    Error timeout(Errc::timeout, "late"), closed(Errc::closed, "gone"), io_err(Errc::io, "refused"),
        bad_http(Errc::invalid_input, "bad HTTP");
    EXPECT_EQ(c.classify(nullptr, &timeout, 7, s), Outcome::timeout);
    EXPECT_EQ(c.classify(nullptr, &closed, 7, s), Outcome::connection_error);
    EXPECT_EQ(c.classify(nullptr, &io_err, 7, s), Outcome::connection_error);
    EXPECT_EQ(c.classify(nullptr, &bad_http, 7, s), Outcome::malformed);
}

TEST(LoadExchange, ClassifiesBatchAnswers) {
    Classifier c(3, 1 << 20);
    RunStats s;
    auto r = [](int id, const char* tail = R"("result":1)") {
        return "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + "," + tail + "}";
    };
    EXPECT_EQ(classify_body(c, 200, "[" + r(12) + "," + r(10) + "," + r(11) + "]", 10, s),
              Outcome::ok);
    EXPECT_EQ(classify_body(c, 200, "[" + r(10) + "," + r(11) + "]", 10, s), Outcome::malformed);
    EXPECT_EQ(classify_body(c, 200, "[" + r(10) + "," + r(10) + "," + r(11) + "]", 10, s),
              Outcome::malformed);
    EXPECT_EQ(classify_body(c, 200, "[" + r(10) + "," + r(11) + "," + r(13) + "]", 10, s),
              Outcome::malformed);
    EXPECT_EQ(classify_body(c, 200, r(10), 10, s), Outcome::malformed);
    const char* err = R"("error":{"code":-32601,"message":"no"})";
    EXPECT_EQ(classify_body(c, 200, "[" + r(10) + "," + r(11, err) + "," + r(12, err) + "]", 10, s),
              Outcome::jsonrpc_error);
    EXPECT_EQ(
        classify_body(c, 200,
                      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch"}})",
                      10, s),
        Outcome::jsonrpc_error);
    ASSERT_EQ(s.code_count(), 2u);
    EXPECT_EQ(s.code(0).code, -32601);
    EXPECT_EQ(s.code(0).count, 2u);
    EXPECT_EQ(s.code(1).code, -32600);
}

TEST(LoadExchange, FindsThePayloadStatusOfEngineAnswers) {
    EXPECT_EQ(find_payload_status(R"({"status":"VALID","latestValidHash":"0x01"})"),
              PayloadStatus::valid);
    EXPECT_EQ(find_payload_status(R"({ "latestValidHash":null, "status" : "INVALID" })"),
              PayloadStatus::invalid);
    EXPECT_EQ(
        find_payload_status(
            R"({"payloadStatus":{"status":"SYNCING","latestValidHash":null},"payloadId":null})"),
        PayloadStatus::syncing);
    // forkchoiceUpdated: the status inside payloadStatus, whatever comes first.
    EXPECT_EQ(
        find_payload_status(
            R"({"payloadId":"0x01","x":{"status":"VALID"},"payloadStatus":{"status":"ACCEPTED"}})"),
        PayloadStatus::accepted);
    EXPECT_EQ(find_payload_status(R"({"status":"INVALID_BLOCK_HASH"})"),
              PayloadStatus::invalid_block_hash);
    EXPECT_EQ(find_payload_status(R"({"status":"valid"})"), PayloadStatus::other);
    EXPECT_EQ(find_payload_status(R"({"status":1})"), PayloadStatus::none);
    EXPECT_EQ(find_payload_status(R"("0x1")"), PayloadStatus::none);
    EXPECT_EQ(find_payload_status(R"({"number":"0x1"})"), PayloadStatus::none);
    EXPECT_EQ(find_payload_status(""), PayloadStatus::none);
}

TEST(LoadExchange, ReportsEachCallsResultAndStatus) {
    auto mix = Mix::from_text("1 eth_blockNumber\n1 engine_newPayloadV4 [{}]\n", ".", "m");
    ASSERT_TRUE(mix) << mix.error().c_str();
    Classifier c(3, 1 << 20, &*mix);
    RunStats s;
    const uint32_t kinds[] = {1, 0, 1};  // newPayload, blockNumber, newPayload
    ByteBuffer buf;
    buf.append(R"([{"jsonrpc":"2.0","id":12,"result":{"status":"SYNCING"}},)"
               R"({"jsonrpc":"2.0","id":10,"result":{"status":"VALID"}},)"
               R"({"jsonrpc":"2.0","id":11,"error":{"code":-32000,"message":"x"}}])");
    http::Response r;
    r.status = 200;
    r.body = buf.view();
    ASSERT_EQ(c.classify(&r, nullptr, 10, s, kinds), Outcome::jsonrpc_error);
    ASSERT_EQ(c.calls().size(), 3u);
    EXPECT_FALSE(c.calls()[0].error);
    EXPECT_EQ(c.calls()[0].status, PayloadStatus::valid);
    EXPECT_TRUE(c.calls()[1].error);
    EXPECT_EQ(c.calls()[1].status, PayloadStatus::none);
    EXPECT_FALSE(c.calls()[2].error);
    EXPECT_EQ(c.calls()[2].status, PayloadStatus::syncing);
    // Without kinds (or for a method without payload statuses) no status is looked for.
    ASSERT_EQ(c.classify(&r, nullptr, 10, s), Outcome::jsonrpc_error);
    EXPECT_EQ(c.calls()[0].status, PayloadStatus::none);
}

TEST(LoadStats, MergeAddsEverything) {
    RunStats a, b;
    a.count(Outcome::ok, 2);
    a.add_code(-1, 3);
    a.record_latency_ns(1000);
    b.count(Outcome::timeout, 2);
    b.count(Outcome::ok, 2);
    b.add_code(-1, 1);
    b.add_code(-2, 1);
    b.add_http_status(404);
    b.add_http_status(42);  // out of range: slot 0
    b.add_late();
    b.record_latency_ns(5000);
    a.merge(b);
    EXPECT_EQ(a.requests(), 3u);
    EXPECT_EQ(a.calls(), 6u);
    EXPECT_EQ(a.errors(), 1u);
    EXPECT_EQ(a.answered(), 2u);
    ASSERT_EQ(a.code_count(), 2u);
    EXPECT_EQ(a.code(0).count, 4u);
    EXPECT_EQ(a.http_status(404), 1u);
    EXPECT_EQ(a.http_status(0), 1u);
    EXPECT_EQ(a.late(), 1u);
    EXPECT_EQ(a.latency().count(), 2u);
    EXPECT_EQ(a.latency().max(), 5000u);
    RunStats m1(2), m2(2);
    m1.count_call(0, Outcome::ok, PayloadStatus::valid, 1000);
    m2.count_call(0, Outcome::ok, PayloadStatus::syncing, 3000);
    m2.count_call(1, Outcome::timeout, PayloadStatus::none, UINT64_MAX);
    m2.count_call(7, Outcome::ok, PayloadStatus::none, 1);  // no such slot: ignored
    m1.merge(m2);
    ASSERT_EQ(m1.methods().size(), 2u);
    EXPECT_EQ(m1.methods()[0].calls(), 2u);
    EXPECT_EQ(m1.methods()[0].statuses[static_cast<size_t>(PayloadStatus::valid)], 1u);
    EXPECT_EQ(m1.methods()[0].statuses[static_cast<size_t>(PayloadStatus::syncing)], 1u);
    EXPECT_EQ(m1.methods()[0].latency.max(), 3000u);
    EXPECT_EQ(m1.methods()[1].outcomes[static_cast<size_t>(Outcome::timeout)], 1u);
    EXPECT_EQ(m1.methods()[1].latency.count(), 0u);  // unanswered: no latency
    RunStats many;
    for (int i = 0; i < static_cast<int>(RunStats::jsonrpc_codes_max) + 3; i++)
        many.add_code(-i, 1);
    EXPECT_EQ(many.code_count(), RunStats::jsonrpc_codes_max);
    EXPECT_EQ(many.codes_other(), 3u);
}

TEST(LoadReport, JsonAndTextCarryTheNumbers) {
    auto options =
        parse({"--target", "http://127.0.0.1:1/\"q", "--method", "eth_x", "--rate", "100"});
    ASSERT_TRUE(options);
    auto mix = Mix::from_method("eth_x", "[]");
    ASSERT_TRUE(mix);
    RunStats s;
    for (int i = 0; i < 90; i++) s.count(Outcome::ok, 1), s.record_latency_ns(1'000'000);
    for (int i = 0; i < 10; i++)
        s.count(Outcome::jsonrpc_error, 1), s.add_code(-32000, 1), s.record_latency_ns(9'000'000);
    s.count(Outcome::http_error, 1);
    s.add_http_status(502);
    RunStats per_method(1);
    per_method.count_call(0, Outcome::ok, PayloadStatus::valid, 2'000'000);
    per_method.count_call(0, Outcome::ok, PayloadStatus::syncing, 2'000'000);
    per_method.count_call(0, Outcome::http_error, PayloadStatus::none, 2'000'000);
    s.merge(per_method);
    ReportInput in{&*options, &*mix, &s, {101}, 2.0};
    std::string json = json_report(in);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    ASSERT_FALSE(parser.parse(json).get(root)) << json;
    EXPECT_EQ(root["target"].get_string().value_unsafe(), "http://127.0.0.1:1/\"q");
    EXPECT_EQ(root["mode"].get_string().value_unsafe(), "open");
    EXPECT_EQ(root["requests"].get_uint64().value_unsafe(), 101u);
    EXPECT_EQ(root["errors"]["total"].get_uint64().value_unsafe(), 11u);
    EXPECT_EQ(root["jsonrpc_error_codes"]["-32000"].get_uint64().value_unsafe(), 10u);
    EXPECT_EQ(root["http_status_codes"]["502"].get_uint64().value_unsafe(), 1u);
    EXPECT_DOUBLE_EQ(root["throughput_rps"].get_double().value_unsafe(), 50.5);
    double p50 = root["latency_us"]["p50"].get_double().value_unsafe();
    double p99 = root["latency_us"]["p99"].get_double().value_unsafe();
    EXPECT_NEAR(p50, 1000.0, 10.0);  // histogram resolution <= 1%
    EXPECT_NEAR(p99, 9000.0, 90.0);
    EXPECT_EQ(root["calls_by_method"]["eth_x"].get_uint64().value_unsafe(), 101u);
    simdjson::dom::element x = root["by_method"]["eth_x"];
    EXPECT_EQ(x["calls"].get_uint64().value_unsafe(), 3u);
    EXPECT_EQ(x["ok"].get_uint64().value_unsafe(), 2u);
    EXPECT_EQ(x["errors"]["http"].get_uint64().value_unsafe(), 1u);
    EXPECT_EQ(x["latency_us"]["count"].get_uint64().value_unsafe(), 3u);
    EXPECT_NEAR(x["latency_us"]["p99"].get_double().value_unsafe(), 2000.0, 20.0);
    EXPECT_EQ(x["statuses"]["VALID"].get_uint64().value_unsafe(), 1u);
    EXPECT_EQ(x["statuses"]["SYNCING"].get_uint64().value_unsafe(), 1u);
    EXPECT_TRUE(x["statuses"]["INVALID"].error());  // statuses not seen are left out
    std::string text = text_report(in);
    EXPECT_NE(text.find("3 calls, errors 1"), std::string::npos) << text;
    EXPECT_NE(text.find("VALID 1, SYNCING 1"), std::string::npos) << text;
    EXPECT_NE(text.find("requests      101"), std::string::npos) << text;
    EXPECT_NE(text.find("-32000: 10"), std::string::npos) << text;
    EXPECT_NE(text.find("502: 1"), std::string::npos) << text;
    EXPECT_NE(text.find("open loop at 100.0 req/s"), std::string::npos) << text;
}

TEST(LoadReport, LatencyCsvIsAPercentileSpectrum) {
    EXPECT_EQ(latency_csv(LatencyHistogram()), "percentile,latency_us\n");
    LatencyHistogram h;
    for (uint64_t us = 1; us <= 1000; us++) h.record(us * 1000);
    std::string csv = latency_csv(h);
    ASSERT_EQ(csv.rfind("percentile,latency_us\n", 0), 0u);
    std::vector<std::pair<double, double>> rows;
    size_t at = csv.find('\n') + 1;
    while (at < csv.size()) {
        double q = 0, v = 0;
        ASSERT_EQ(std::sscanf(csv.c_str() + at, "%lf,%lf", &q, &v), 2) << csv.substr(at, 40);
        rows.emplace_back(q, v);
        at = csv.find('\n', at) + 1;
    }
    ASSERT_GT(rows.size(), 40u);  // 5 per halving down to 1/1000, then max
    EXPECT_DOUBLE_EQ(rows.front().first, 0.0);
    EXPECT_NEAR(rows.front().second, 1.0, 0.01);  // min
    EXPECT_DOUBLE_EQ(rows.back().first, 100.0);
    EXPECT_DOUBLE_EQ(rows.back().second, 1000.0);  // max
    for (size_t i = 1; i < rows.size(); i++) {
        EXPECT_GT(rows[i].first, rows[i - 1].first);
        EXPECT_GE(rows[i].second, rows[i - 1].second);
    }
    bool saw_median = false;
    for (auto [q, v] : rows) {
        if (q == 50.0) {
            saw_median = true;
            EXPECT_NEAR(v, 500.0, 5.0);
        }
        EXPECT_NEAR(v, std::max(1.0, q * 10.0), std::max(1.0, q * 10.0) * 0.01 + 1.0) << q;
    }
    EXPECT_TRUE(saw_median);
}

}  // namespace
}  // namespace em::load
