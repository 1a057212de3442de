// Fuzzes the mock EL's Responder (JSON-RPC envelope, params reading, rules, block-hash
// verification) without sockets. Input: rules text, a blank line, then the HTTP body. The first
// byte's low bit picks the Responder with --verify-block-hash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "base/buffer.h"
#include "mockel/payloads.h"
#include "mockel/responder.h"

namespace {

using namespace em::mockel;

struct Mock {
    explicit Mock(bool verify) {
        MockConfig config;
        config.verify_block_hash = verify;
        config.log_entries_max = 64;
        config.body_bytes_max = 1 << 20;
        config.response_bytes_max = 80u << 20;
        if (!load_payloads("", config.head, config.payloads)) std::abort();
        shared = std::make_unique<Shared>(std::move(config), RuleSet(), 1);
        responder = std::make_unique<Responder>(*shared, 0);
    }
    std::unique_ptr<Shared> shared;
    std::unique_ptr<Responder> responder;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Mock plain(false), verifying(true);
    static em::ByteBuffer in(2 << 20, 1 << 16), out(96u << 20, 1 << 16);
    static RuleSet rules;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (text.size() > (1 << 20)) return 0;
    Mock& mock = (size && (data[0] & 1)) ? verifying : plain;
    size_t split = text.find("\n\n");
    std::string_view rules_text = split == text.npos ? std::string_view() : text.substr(0, split);
    std::string_view body = split == text.npos ? text : text.substr(split + 2);
    rules.clear();
    if (parse_rules_text(rules_text, &rules))
        mock.shared->replace_rules(rules);
    else
        mock.shared->reset();
    in.clear();
    in.append(body);
    em::http::Request req;
    req.method = em::http::Method::post;
    req.target = "/";
    req.body = in.view();
    Plan plan = mock.responder->handle(req, in.capacity() + em::ByteBuffer::padding_bytes, 0, out);
    bool silent = plan.transport == Transport::hang || plan.transport == Transport::close ||
                  plan.transport == Transport::reset;
    if (silent != out.empty()) std::abort();  // a response exactly when one is sent
    if (!silent && !out.view().starts_with("HTTP/1.1 ")) std::abort();
    return 0;
}
